"""`python manage.py import_project maps.json [--project NAME] [--sales-connection NAME --finops-connection NAME]
[--dry-run]`: make a project's maps those of a file (export_project's), in place, or create the project."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integration.models import Connection, Project
from integration.services import project_files
from integration.services.templates import TemplateError


class Command(BaseCommand):
    help = ("Apply a project file (from export_project) to a project: its entity maps, field maps, value maps and "
            "organization mappings become the file's, in place (links, cursors and history stay; maps the file "
            "lacks are disabled). Prints what changes; --dry-run only prints it.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--project", help="the project to apply it to (default: the name in the file)")
        parser.add_argument("--sales-connection", metavar="NAME", help="for a new project, or to change it")
        parser.add_argument("--finops-connection", metavar="NAME", help="for a new project, or to change it")
        parser.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")

    def handle(self, *args, file, project, sales_connection, finops_connection, dry_run, **options):
        try:
            document = project_files.document_read(text=file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc}", returncode=2) from None
        except project_files.DocumentInvalid as exc:
            raise CommandError(f"{file}: {exc}", returncode=2) from None
        name = project or document.get("project")
        if not name:
            raise CommandError("the file names no project: give --project", returncode=2)
        existing = Project.objects.filter(name=name).first()
        before = project_files.project_document(project=existing) if existing else {"entity_maps": []}
        changes = project_files.documents_diff(before, document)
        for change in changes:
            self.stdout.write(str(change))
        if dry_run:
            self.stdout.write(f"{len(changes)} change(s) would be made to {name}; nothing written")
            return
        try:
            project_obj = project_files.project_import(
                document=document, name=name, sales_connection=self.connection(sales_connection),
                finops_connection=self.connection(finops_connection))
        except (project_files.DocumentInvalid, TemplateError) as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(f"{'updated' if existing else 'created'} project {project_obj.name}: {len(changes)} "
                          "change(s)")

    @staticmethod
    def connection(name: str | None) -> Connection | None:
        if name is None:
            return None
        try:
            return Connection.objects.get(name=name)
        except Connection.DoesNotExist:
            raise CommandError(f"no connection named {name!r}", returncode=2) from None
