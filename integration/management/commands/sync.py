"""`python manage.py sync PROJECT [--full] [--entity-map NAME ...] [--wait]`: start a run through the queue.

With --wait it shows progress until the run ends and exits 0 (succeeded), 1 (warning) or 2 (failed).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from integration.models import ACTIVE_RUN_STATUSES, Project, SyncRun
from integration.services import runs
from integration.services.outcomes import run_exit_code

COUNT_ORDER = ("total", "created", "updated", "unchanged", "deleted", "skipped", "failed", "open")


class Command(BaseCommand):
    help = "Start a run of a project through the queue (a worker must be running)."

    def add_arguments(self, parser):
        parser.add_argument("project")
        parser.add_argument("--full", action="store_true", help="read everything, not only what changed")
        parser.add_argument("--entity-map", action="append", dest="entity_maps", metavar="NAME",
                            help="only this entity map (repeatable)")
        parser.add_argument("--skip-check", action="store_true",
                            help="full runs: do not start with the pre-flight check (check_project)")
        parser.add_argument("--wait", action="store_true", help="show progress and wait for the run to end")
        parser.add_argument("--timeout", type=float, default=None, help="with --wait: give up after N seconds")

    def handle(self, *args, project, full, entity_maps, wait, timeout, skip_check, **options):
        try:
            project_obj = Project.objects.get(name=project)
        except Project.DoesNotExist:
            raise CommandError(f"no project named {project!r}", returncode=2) from None
        try:
            run = runs.run_start(project=project_obj, mode=SyncRun.Mode.FULL if full else SyncRun.Mode.INCREMENTAL,
                                 entity_maps=entity_maps, trigger=SyncRun.Trigger.COMMAND,
                                 check=False if skip_check else None)
        except runs.RunRefused as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(f"run #{run.pk} of {project_obj.name} queued ({run.mode})")
        if not wait:
            return
        code = self.wait_for(run, timeout)
        if code:
            raise SystemExit(code)

    def wait_for(self, run: SyncRun, timeout: float | None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        shown = ""
        while True:
            run.refresh_from_db()
            line = self.progress_line(run)
            if line != shown:
                self.stdout.write(line)
                shown = line
            if run.status not in ACTIVE_RUN_STATUSES:
                break
            if deadline is not None and time.monotonic() > deadline:
                self.stderr.write(f"run #{run.pk} still {run.status} after {timeout}s")
                return 2
            time.sleep(0.5)
        counts = " ".join(f"{key}={run.counts[key]}" for key in COUNT_ORDER if run.counts.get(key))
        self.stdout.write(f"run #{run.pk} {run.status}: {counts or 'nothing to do'}")
        if run.message:
            self.stdout.write(f"run #{run.pk}: {run.message}")
        return run_exit_code(run=run)

    @staticmethod
    def progress_line(run: SyncRun) -> str:
        parts = []
        for stage in runs.run_progress(run=run):
            failed = f", {stage['failed']} failed" if stage["failed"] else ""
            parts.append(f"{stage['entity_map']}: {stage['status']} {stage['done']}/{stage['records']}{failed}")
        return f"[{run.status}] " + " | ".join(parts)
