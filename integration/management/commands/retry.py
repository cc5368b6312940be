"""`python manage.py retry RUN [--wait]`: retry a run's failed records (after their cause was fixed)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integration.management.commands.sync import Command as SyncCommand
from integration.models import SyncRun
from integration.services import retries


class Command(BaseCommand):
    help = "Retry the failed records of a run, each read again from its source first."

    def add_arguments(self, parser):
        parser.add_argument("run", type=int)
        parser.add_argument("--wait", action="store_true", help="show progress and wait for the retry to end")
        parser.add_argument("--timeout", type=float, default=None)

    def handle(self, *args, run, wait, timeout, **options):
        original = SyncRun.objects.filter(pk=run).first()
        if original is None:
            raise CommandError(f"no run #{run}", returncode=2)
        try:
            retry = retries.run_retry_failed(run=original, requested_by="command line")
        except retries.NothingToRetry as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(f"run #{retry.pk} retries {retry.records.count()} failed records of run #{run}")
        if wait:
            code = SyncCommand(stdout=self.stdout, stderr=self.stderr).wait_for(retry, timeout)
            if code:
                raise SystemExit(code)
