"""The sweeper: finds work whose message or worker was lost and queues it again. Beat runs it every few seconds on
its own queue (P2C_CONTROL_QUEUE), which every worker also takes from, so it never waits behind a backlog.

It acts at once on what it can see: a worker process silent for P2C_WORKER_DEAD_SECONDS (its claimed records and
the messages it had taken go back), a planning stage no live process is planning, a broker that lost its contents
(every open record of a running stage is queued again). Ages (the record lease, P2C_QUEUED_STALE_SECONDS,
P2C_PLANNING_STALE_SECONDS) stay as last resorts for what it cannot see, such as a worker alive but hung.

Every re-queue is safe to do twice: a record is claimed by a conditional update, a stage starts once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from integration import heartbeat, task_names
from integration.models import (
    ACTIVE_RUN_STATUSES,
    RecordStatus,
    RecordSync,
    StageStatus,
    SyncRun,
    SyncStage,
)
from integration.queueing import (
    broker_contents_lost,
    broker_queue_length,
    broker_restore_delivered,
    enqueue,
    enqueue_each,
)
from integration.services import runs, stages, workers
from integration.services.dispatch import records_queue

log = logging.getLogger(__name__)

_BATCH = 5000


def sweep() -> dict[str, int]:
    """One pass; returns what it re-queued or finished, for the log and the tests."""
    now = timezone.now()
    broker_lost = broker_contents_lost()
    quiet_since = now if broker_lost else now - timedelta(seconds=settings.P2C_QUEUED_STALE_SECONDS)
    report = {
        "taken_from_dead_workers": _take_back_from_dead_workers(now),
        "broker_lost": int(broker_lost),
        "requeued_after_broker_loss": _requeue_open_records(now) if broker_lost else 0,
        "waiting_due": _requeue(RecordSync.objects.filter(
            _not_queued_since("next_attempt_at", now), status=RecordStatus.WAITING,
            next_attempt_at__lte=now - timedelta(seconds=5))),
        # One by one: only the single-record path takes a record whose lease is over.
        "abandoned": _requeue(RecordSync.objects.filter(
            _not_queued_since("claimed_at", now), status=RecordStatus.RUNNING,
            claimed_at__lt=now - timedelta(seconds=settings.P2C_RECORD_LEASE_SECONDS)), alone=True),
        "lost": _requeue_lost(now),
        "stages_orphaned": _restart_orphaned_planning(now),
        "stages_restarted": _restart_stale_planning(now),
        "stages_finished": _finish_drained_stages(),
        "runs_resumed": _resume_runs(quiet_since),
    }
    workers.workers_forget_gone(now=now)
    if any(report.values()):
        log.info("sweep %s", " ".join(f"{key}={value}" for key, value in report.items()))
    return report


def _requeue(queryset, *, alone: bool = False) -> int:
    """Queue (up to a sweep's share of) these records again, a bulk stage's in batches unless `alone`."""
    rows = list(queryset.values_list("id", "stage_id")[:_BATCH])
    ids = [record_id for record_id, _ in rows]
    RecordSync.objects.filter(pk__in=ids).update(queued_at=timezone.now())
    if alone:
        enqueue_each(task_names.SYNC_RECORD, ids)
    else:
        records_queue(rows)
    return len(ids)


def _not_queued_since(moment: str, now) -> Q:
    """Records the sweeper has not queued since `moment` (a field), or queued long enough ago to be lost again: a
    sweep every few seconds queues a record once, not once per sweep while it waits its turn behind a backlog."""
    stale = now - timedelta(seconds=settings.P2C_QUEUED_STALE_SECONDS)
    return Q(queued_at__isnull=True) | Q(queued_at__lt=F(moment)) | Q(queued_at__lt=stale)


def _take_back_from_dead_workers(now) -> int:
    """A process silent for the dead interval is gone: its claimed records are pending again and queued, and the
    messages workers had taken by then and not acknowledged (its running and reserved ones among them) go back to
    their queues. Only a process that has itself been beating steadily decides (see heartbeat.steady_for)."""
    if not heartbeat.steady_for(settings.P2C_WORKER_DEAD_SECONDS):
        return 0
    taken, last_seen = 0, None
    for worker in workers.workers_silent(now=now):
        with transaction.atomic():
            if not workers.worker_declare_gone(worker=worker, now=now):
                continue
            claimed = RecordSync.objects.filter(status=RecordStatus.RUNNING, claimed_by=worker.name)
            rows = list(claimed.values_list("id", "stage_id"))
            ids = [record_id for record_id, _ in rows]
            RecordSync.objects.filter(pk__in=ids, status=RecordStatus.RUNNING).update(
                status=RecordStatus.PENDING, queued_at=now)
            records_queue(rows)
        log.warning("worker %s silent since %s: %d claimed records taken back", worker.name,
                    worker.seen_at.isoformat(timespec="seconds"), len(ids))
        taken += len(ids)
        last_seen = max(last_seen or worker.seen_at, worker.seen_at)
    if last_seen is not None:
        # It may have taken messages until its next beat was due.
        restored = broker_restore_delivered(
            before=last_seen.timestamp() + 2 * settings.P2C_HEARTBEAT_SECONDS)
        log.warning("%d unacknowledged messages put back in their queues", restored)
    return taken


def _requeue_open_records(now) -> int:
    """The broker lost its messages: every pending record of a stage in progress, and every waiting one that is
    due, is queued again. Waiting records not yet due are queued by the sweep when they are due, stages and runs
    by the rules below."""
    lost = RecordSync.objects.filter(
        Q(status=RecordStatus.PENDING) | Q(status=RecordStatus.WAITING, next_attempt_at__lte=now),
        stage__status__in=(StageStatus.PLANNING, StageStatus.RUNNING), run__status__in=ACTIVE_RUN_STATUSES)
    rows = list(lost.values_list("id", "stage_id"))
    for start in range(0, len(rows), _BATCH):
        batch = rows[start:start + _BATCH]
        RecordSync.objects.filter(pk__in=[record_id for record_id, _ in batch]).update(queued_at=timezone.now())
        records_queue(batch)
    log.warning("the broker lost its contents: %d open records queued again", len(rows))
    return len(rows)


def _requeue_lost(now) -> int:
    """Pending records queued a while ago whose messages are gone: the broker's queue is empty."""
    if broker_queue_length() != 0:
        return 0
    stale = RecordSync.objects.filter(
        Q(queued_at__lt=now - timedelta(seconds=settings.P2C_QUEUED_STALE_SECONDS)) | Q(queued_at__isnull=True),
        status=RecordStatus.PENDING, stage__status=StageStatus.RUNNING)
    return _requeue(stale)


def _restart_orphaned_planning(now) -> int:
    """Planning stages that no live process is planning (their planner died, or its task ended without moving
    the stage on), started longer ago than a heartbeat could have named them."""
    if not heartbeat.steady_for(settings.P2C_WORKER_DEAD_SECONDS):
        return 0
    started_before = now - timedelta(seconds=settings.P2C_WORKER_DEAD_SECONDS)
    orphaned = SyncStage.objects.filter(status=StageStatus.PLANNING, started_at__lt=started_before,
                                        run__status__in=ACTIVE_RUN_STATUSES)
    return _restart_planning(set(orphaned.values_list("id", flat=True)) - workers.stages_being_planned(now=now))


def _restart_stale_planning(now) -> int:
    cutoff = now - timedelta(seconds=settings.P2C_PLANNING_STALE_SECONDS)
    return _restart_planning(SyncStage.objects.filter(status=StageStatus.PLANNING, heartbeat_at__lt=cutoff,
                                                      run__status__in=ACTIVE_RUN_STATUSES).values_list("id", flat=True))


def _restart_planning(stage_ids) -> int:
    restarted = 0
    for stage_id in stage_ids:
        # Planning is idempotent (records are upserted by key), so reading the changes again is safe.
        if SyncStage.objects.filter(pk=stage_id, status=StageStatus.PLANNING).update(status=StageStatus.PENDING):
            enqueue(task_names.START_STAGE, stage_id)
            log.warning("stage %s planned again", stage_id)
            restarted += 1
    return restarted


def _finish_drained_stages() -> int:
    finished = 0
    for stage_id in SyncStage.objects.filter(status=StageStatus.RUNNING).values_list("id", flat=True):
        if stages.stage_finish_if_done(stage_id=stage_id):
            finished += 1
    return finished


def _resume_runs(quiet_since) -> int:
    """Active runs created before `quiet_since` with no stage in progress: their next step's message was lost."""
    resumed = 0
    for run in SyncRun.objects.filter(status__in=ACTIVE_RUN_STATUSES, created_at__lt=quiet_since):
        busy = run.stages.filter(status__in=(StageStatus.PLANNING, StageStatus.RUNNING)).exists()
        if busy:
            continue
        runs.run_continue(run=run)
        resumed += 1
    return resumed
