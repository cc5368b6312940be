"""Selectors for the project overview page: recent runs, what runs now, failing records per entity map, workers.

Reads only, in a handful of grouped queries whatever the number of records, so the page stays quick on a busy
database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from integration.models import ACTIVE_RUN_STATUSES, Project, RecordStatus, RecordSync, SyncRun, WorkerHeartbeat
from integration.services import failing, runs


@dataclass(frozen=True)
class ActiveRun:
    run: SyncRun
    stages: list[dict]
    done: int
    total: int
    failed: int


@dataclass(frozen=True)
class MapFailures:
    entity_map: str
    entity_map_id: int
    enabled: bool
    per_day: list[int]  # distinct records that failed, one count per day of the window, oldest first
    failed_in_window: int  # distinct records that failed in the whole window: one failing every day counts once
    failing_now: int  # distinct records failing now (services.failing), ignored ones left out


@dataclass(frozen=True)
class ProjectOverview:
    project: Project
    last_runs: list[SyncRun]  # bulk runs: one-record runs (webhooks, retries) would crowd them out
    active: list[ActiveRun]
    failures: list[MapFailures]
    days: list[date]
    record_runs: dict[str, int]  # one-record and retry runs of the last 24 hours, by status


@dataclass(frozen=True)
class WorkerState:
    name: str
    seen_at: datetime
    tasks_seen: int
    age_seconds: int
    stale: bool


def projects_overview(*, days: int = 14, runs_shown: int = 8, now: datetime | None = None) -> list[ProjectOverview]:
    """Per project: its last runs, its runs in progress with per-stage progress, its failures per map per day."""
    now = now or timezone.now()
    first_day = (now - timedelta(days=days - 1)).date()
    window = [first_day + timedelta(days=n) for n in range(days)]
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=timezone.get_current_timezone())
    projects = list(Project.objects.prefetch_related("entity_maps").order_by("name"))
    # Records, not attempts: a record every run fails counts once a day, however many runs failed it.
    failed = RecordSync.objects.filter(status=RecordStatus.FAILED, run__created_at__gte=since).order_by()
    by_map: dict[int, dict[date, int]] = {}
    for row in (failed.annotate(day=TruncDate("run__created_at"))
                .values("entity_map_id", "day").annotate(n=Count("source_key", distinct=True))):
        by_map.setdefault(row["entity_map_id"], {})[row["day"]] = row["n"]
    in_window = dict(failed.values("entity_map_id").annotate(n=Count("source_key", distinct=True))
                     .values_list("entity_map_id", "n"))
    overviews = []
    for project in projects:
        active = []
        in_progress = SyncRun.objects.filter(project=project, status__in=ACTIVE_RUN_STATUSES, is_bulk=True)
        for run in in_progress.order_by("created_at"):
            stages = runs.run_progress(run=run)
            active.append(ActiveRun(run=run, stages=stages, done=sum(s["done"] for s in stages),
                                    total=sum(s["records"] for s in stages),
                                    failed=sum(s["failed"] for s in stages)))
        failing_now = failing.failing_counts(project=project)
        failures = [MapFailures(entity_map=m.name, entity_map_id=m.pk, enabled=m.enabled,
                                per_day=[by_map.get(m.pk, {}).get(day, 0) for day in window],
                                failed_in_window=in_window.get(m.pk, 0),
                                failing_now=failing_now.get(m.pk, 0))
                    for m in sorted(project.entity_maps.all(), key=lambda m: (m.order, m.pk))]
        record_runs = dict(project.runs.filter(is_bulk=False, created_at__gte=now - timedelta(days=1))
                           .values_list("status").annotate(n=Count("id")).order_by())
        last_runs = list(project.runs.filter(is_bulk=True)[:runs_shown])
        overviews.append(ProjectOverview(project=project, last_runs=last_runs, active=active, failures=failures,
                                         days=window, record_runs=record_runs))
    return overviews


def workers_overview(*, now: datetime | None = None) -> list[WorkerState]:
    """Worker processes by last heartbeat; each writes one every few seconds, so one silent for the dead interval
    is gone (the sweeper has taken back its work)."""
    now = now or timezone.now()
    states = []
    for beat in WorkerHeartbeat.objects.order_by("-seen_at"):
        age = max(0, int((now - beat.seen_at).total_seconds()))
        states.append(WorkerState(name=beat.name, seen_at=beat.seen_at, tasks_seen=beat.tasks_seen, age_seconds=age,
                                  stale=beat.gone_at is not None or age > settings.P2C_WORKER_DEAD_SECONDS))
    return states
