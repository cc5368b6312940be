"""`python manage.py readiness [--only beat,workers]`: the checks of /readyz, from a shell; exit 0 when all are ok.

For health checks of processes that serve no HTTP (compose's beat, a systemd timer), and for a person.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from integration.services.health import CHECKS, readiness


class Command(BaseCommand):
    help = "Check the database, the broker, beat and the workers as /readyz does; exit 1 when one is down."

    def add_arguments(self, parser):
        parser.add_argument("--only", default="", help=f"comma-separated, of: {', '.join(CHECKS)}")

    def handle(self, *args, only: str, **options):
        names = [name.strip() for name in only.split(",") if name.strip()]
        unknown = sorted(set(names) - set(CHECKS))
        if unknown:
            raise CommandError(f"unknown checks: {', '.join(unknown)}; known: {', '.join(CHECKS)}")
        ready, checks = readiness(only=names or None)
        self.stdout.write(json.dumps({name: check.as_dict() for name, check in checks.items()}, indent=2))
        if not ready:
            raise CommandError("not ready: " + ", ".join(name for name, c in checks.items() if c.status != "ok"))
