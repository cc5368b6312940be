"""`python manage.py sync PROJECT [--full] [--entity-map NAME ...] [--wait | --dry-run]`: start a run through the
queue, or dry-run it here.

With --wait it shows progress until the run ends and exits 0 (succeeded), 1 (warning) or 2 (failed): the exit
code of services.run_results, which also decides the run's status. With --dry-run it plans, maps and compares every
eligible record in this process, writes nothing to either environment, moves no cursor, and prints what a run
would do (it needs no worker).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from integration.mapping import error_text
from integration.models import ACTIVE_RUN_STATUSES, Project, SyncRun
from integration.services import dry_runs, runs
from integration.services.run_results import run_exit_code

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
        parser.add_argument("--dry-run", action="store_true",
                            help="plan, map and compare with the destination, here and now; write nothing")

    def handle(self, *args, project, full, entity_maps, wait, timeout, skip_check, dry_run, **options):
        try:
            project_obj = Project.objects.get(name=project)
        except Project.DoesNotExist:
            raise CommandError(f"no project named {project!r}", returncode=2) from None
        if dry_run:
            code = self.dry_run(project_obj, full=full, entity_maps=entity_maps)
            if code:
                raise SystemExit(code)
            return
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

    def dry_run(self, project: Project, *, full: bool, entity_maps: list[str] | None) -> int:
        """0 when done (whatever it found), 2 when it could not read or compare."""
        try:
            dry = dry_runs.dry_run_start(project=project, full=full, entity_maps=entity_maps,
                                         trigger="command", queue=False)
        except runs.RunRefused as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(f"dry run #{dry.pk} of {project.name} ({'everything' if full else 'what changed'}): "
                          "reading and comparing, writing nothing")
        dry = dry_runs.dry_run_execute(dry_run_id=dry.pk)
        if dry.status != dry.Status.SUCCEEDED:
            self.stderr.write(f"dry run #{dry.pk} failed: {dry.message}")
            return 2
        report = dry_runs.dry_run_report(dry_run=dry)
        for row in dry.summary:
            self.stdout.write(f"{row['entity_map']}: read {row['read']}, create {row['create']}, update "
                              f"{row['update']}, unchanged {row['unchanged']}, would fail {row['would_fail']}"
                              + (f", skip {row['skip']}" if row["skip"] else "")
                              + (f", deleted at the source {row['delete']}" if row["delete"] else ""))
            for record in report.get(row["entity_map"], []):
                self.stdout.write(f"  {record.outcome} {record.source_key}"
                                  + (f": {error_text(record.error_field, record.error_message)}"
                                     if record.error_message else ""))
                for difference in record.differences:
                    self.stdout.write(f"      {difference['field']}: {difference['holds']!r} -> "
                                      f"{difference['sends']!r}")
        return 0

    @staticmethod
    def progress_line(run: SyncRun) -> str:
        parts = []
        for stage in runs.run_progress(run=run):
            failed = f", {stage['failed']} failed" if stage["failed"] else ""
            parts.append(f"{stage['entity_map']}: {stage['status']} {stage['done']}/{stage['records']}{failed}")
        return f"[{run.status}] " + " | ".join(parts)
