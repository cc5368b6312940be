"""The sweeper: finds work whose message was lost (a broker restart, a killed worker) and queues it again.

Every re-queue is safe to do twice: a record is claimed by a conditional update, a stage starts once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integration.models import (
    ACTIVE_RUN_STATUSES,
    RecordStatus,
    RecordSync,
    StageStatus,
    SyncRun,
    SyncStage,
)
from integration.queueing import broker_queue_length, enqueue, enqueue_each
from integration.services import runs, stages

log = logging.getLogger(__name__)

_BATCH = 5000


def sweep() -> dict[str, int]:
    """One pass; returns what it re-queued or finished, for the log and the tests."""
    now = timezone.now()
    report = {
        "waiting_due": _requeue(RecordSync.objects.filter(status=RecordStatus.WAITING,
                                                          next_attempt_at__lte=now - timedelta(seconds=5))),
        "abandoned": _requeue(RecordSync.objects.filter(
            status=RecordStatus.RUNNING,
            claimed_at__lt=now - timedelta(seconds=settings.P2C_RECORD_LEASE_SECONDS))),
        "lost": _requeue_lost(now),
        "stages_restarted": _restart_stale_planning(now),
        "stages_finished": _finish_drained_stages(),
        "runs_resumed": _resume_runs(now),
    }
    if any(report.values()):
        log.info("sweep %s", " ".join(f"{key}={value}" for key, value in report.items()))
    return report


def _requeue(queryset) -> int:
    ids = list(queryset.values_list("id", flat=True)[:_BATCH])
    RecordSync.objects.filter(pk__in=ids).update(queued_at=timezone.now())
    enqueue_each(stages.SYNC_RECORD_TASK, ids)
    return len(ids)


def _requeue_lost(now) -> int:
    """Pending records queued a while ago whose messages are gone: the broker's queue is empty."""
    stale = RecordSync.objects.filter(
        Q(queued_at__lt=now - timedelta(seconds=settings.P2C_QUEUED_STALE_SECONDS)) | Q(queued_at__isnull=True),
        status=RecordStatus.PENDING, stage__status=StageStatus.RUNNING)
    if not stale.exists() or broker_queue_length() != 0:
        return 0
    return _requeue(stale)


def _restart_stale_planning(now) -> int:
    restarted = 0
    cutoff = now - timedelta(seconds=settings.P2C_PLANNING_STALE_SECONDS)
    for stage_id in SyncStage.objects.filter(status=StageStatus.PLANNING, heartbeat_at__lt=cutoff,
                                             run__status__in=ACTIVE_RUN_STATUSES).values_list("id", flat=True):
        # Planning is idempotent (records are upserted by key), so reading the changes again is safe.
        if SyncStage.objects.filter(pk=stage_id, status=StageStatus.PLANNING).update(status=StageStatus.PENDING):
            enqueue(runs.START_STAGE_TASK, stage_id)
            restarted += 1
    return restarted


def _finish_drained_stages() -> int:
    finished = 0
    for stage_id in SyncStage.objects.filter(status=StageStatus.RUNNING).values_list("id", flat=True):
        if stages.stage_finish_if_done(stage_id=stage_id):
            finished += 1
    return finished


def _resume_runs(now) -> int:
    """Active runs with no stage in progress: their next step's message was lost."""
    resumed = 0
    quiet_since = now - timedelta(seconds=settings.P2C_QUEUED_STALE_SECONDS)
    for run in SyncRun.objects.filter(status__in=ACTIVE_RUN_STATUSES, created_at__lt=quiet_since):
        busy = run.stages.filter(status__in=(StageStatus.PLANNING, StageStatus.RUNNING)).exists()
        if busy:
            continue
        runs.run_continue(run=run)
        resumed += 1
    return resumed
