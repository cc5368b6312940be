"""Worker processes' heartbeats: written by each process (integration.heartbeat), read by the sweeper, the
probes, the metrics and the alerts (which processes are live)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from integration.models import WorkerHeartbeat

# How long the admin keeps showing a worker that went silent.
_GONE_KEPT = timedelta(days=1)


def worker_heartbeat_record(*, name: str, tasks_seen: int, planning: list[int]) -> bool:
    """Note that a worker process is alive; False when it had been found silent, its work taken back, before."""
    now = timezone.now()
    values = {"seen_at": now, "tasks_seen": tasks_seen, "planning": planning}
    if WorkerHeartbeat.objects.filter(name=name, gone_at__isnull=True).update(**values):
        return True
    if WorkerHeartbeat.objects.filter(name=name).update(gone_at=None, **values):
        return False
    WorkerHeartbeat.objects.create(name=name, **values)  # one writer per name: the process itself
    return True


def workers_silent(*, now: datetime) -> list[WorkerHeartbeat]:
    """Processes silent for the dead interval that nobody has declared gone yet.

    Assumption: the machines' clocks agree within a few seconds (NTP), as the record lease already assumes; a
    heartbeat is stamped by its writer's clock and judged by the sweeper's.
    """
    cutoff = now - timedelta(seconds=settings.P2C_WORKER_DEAD_SECONDS)
    return list(WorkerHeartbeat.objects.filter(gone_at__isnull=True, seen_at__lt=cutoff))


def worker_declare_gone(*, worker: WorkerHeartbeat, now: datetime) -> bool:
    """Declare a silent process gone, exactly once (the caller then takes back its work in the same transaction)."""
    return bool(WorkerHeartbeat.objects.filter(pk=worker.pk, gone_at__isnull=True, seen_at=worker.seen_at)
                .update(gone_at=now))


def workers_live(*, now: datetime) -> QuerySet[WorkerHeartbeat]:
    """Worker processes that wrote their heartbeat within P2C_WORKER_DEAD_SECONDS and were not declared gone."""
    return WorkerHeartbeat.objects.filter(gone_at__isnull=True,
                                          seen_at__gte=now - timedelta(seconds=settings.P2C_WORKER_DEAD_SECONDS))


def stages_being_planned(*, now: datetime) -> set[int]:
    """The stages that live processes say they are planning."""
    return {stage_id for planning in workers_live(now=now).values_list("planning", flat=True) for stage_id in planning}


def workers_forget_gone(*, now: datetime) -> int:
    return WorkerHeartbeat.objects.filter(gone_at__lt=now - _GONE_KEPT).delete()[0]
