"""`python manage.py export_project NAME [--with-base] > maps.json`: a project's maps as a file to keep in git."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integration.models import Project
from integration.services.project_files import document_text, project_document


class Command(BaseCommand):
    help = ("Print a project's entity maps, field maps, value maps and organization mappings as JSON: stable "
            "ordering, no database ids, no secrets (import_project reads it back; diff_projects compares).")

    def add_arguments(self, parser):
        parser.add_argument("project")
        parser.add_argument("--with-base", action="store_true",
                            help="include the template the project was loaded from, so a project imported from the "
                                 "file can still be upgraded keeping its edits")

    def handle(self, *args, project, with_base, **options):
        try:
            project_obj = Project.objects.get(name=project)
        except Project.DoesNotExist:
            raise CommandError(f"no project named {project!r}", returncode=2) from None
        self.stdout.write(document_text(project_document(project=project_obj, with_base=with_base)), ending="")
