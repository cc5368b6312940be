"""`python manage.py check_project NAME`: hold the project's entity maps against both environments as they are now.

Prints every problem, each with its entity map, field and fix, and exits 0 (clean), 1 (warnings) or 2 (errors).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integration.models import Project, ProjectCheck
from integration.services.preflight import project_check

EXIT_CODES = {ProjectCheck.Status.CLEAN: 0, ProjectCheck.Status.WARNINGS: 1, ProjectCheck.Status.ERRORS: 2}


class Command(BaseCommand):
    help = "Check a project's entity maps against the live metadata and reference data of both environments."

    def add_arguments(self, parser):
        parser.add_argument("project")

    def handle(self, *args, project, **options):
        try:
            project_obj = Project.objects.select_related("sales_connection", "finops_connection").get(name=project)
        except Project.DoesNotExist:
            raise CommandError(f"no project named {project!r}", returncode=2) from None
        check = project_check(project=project_obj, trigger="command")
        for problem in check.problems:
            where = " / ".join(part for part in (problem["entity_map"], problem["field"]) if part)
            self.stdout.write(f"{problem['severity'].upper():7} {where}: {problem['message']}")
            self.stdout.write(f"        fix: {problem['fix']}")
        errors = sum(problem["severity"] == "error" for problem in check.problems)
        self.stdout.write(f"check #{check.pk} of {project_obj.name}: {check.status} ({errors} errors, "
                          f"{len(check.problems) - errors} warnings) in {check.seconds:.1f} s")
        if EXIT_CODES[check.status]:
            raise SystemExit(EXIT_CODES[check.status])
