"""`python manage.py diff_projects A B`: what differs between two projects or project files (export_project's);
each of A and B is a project name or a file. Exits 0 when they have the same maps, 1 when they differ."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integration.models import Project
from integration.services import project_files


class Command(BaseCommand):
    help = "Compare the maps of two projects, files, or a project and a file: one line per difference."

    def add_arguments(self, parser):
        parser.add_argument("before", help="a project name, or a file from export_project")
        parser.add_argument("after", help="a project name, or a file from export_project")

    def handle(self, *args, before, after, **options):
        changes = project_files.documents_diff(self.document(before), self.document(after))
        for change in changes:
            self.stdout.write(str(change))
        self.stdout.write(f"{len(changes)} difference(s) between {before} and {after}")
        if changes:
            raise SystemExit(1)

    @staticmethod
    def document(name: str) -> dict:
        project = Project.objects.filter(name=name).first()
        if project is not None:
            return project_files.project_document(project=project)
        path = Path(name)
        if not path.is_file():
            raise CommandError(f"{name!r} is neither a project nor a file", returncode=2)
        try:
            return project_files.document_read(text=path.read_text(encoding="utf-8"))
        except (OSError, project_files.DocumentInvalid) as exc:
            raise CommandError(f"{name}: {exc}", returncode=2) from None
