"""Stages: one entity map within a run. Start it (plan or queue its rows), end it when no record is open."""

from __future__ import annotations

import logging
import threading
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integration import task_names
from integration.models import (
    OPEN_RECORD_STATUSES,
    ChangeCursor,
    RecordStatus,
    RecordSync,
    RunStatus,
    StageStatus,
    SyncRun,
    SyncStage,
)
from integration.queueing import enqueue, enqueue_each
from integration.services import runs
from integration.services.entity_maps import entity_map_paused, stage_skip_paused
from integration.services.failures import failure_text
from integration.services.outcomes import backoff
from integration.services.planning import PlanningFailed, PlanningInterrupted, stage_plan
from integration.storable import clean_text

log = logging.getLogger(__name__)


def stage_start(*, stage_id: int) -> None:
    """Plan a pending stage (read its changes and queue one task per record), exactly once at a time.

    Whatever goes wrong while reading, the stage ends: a refusal of the source fails it at once, anything else
    (passing trouble of the service or the rate limiter, a bug) is tried again a few times after a backoff
    (P2C_STAGE_MAX_PLANS, counting re-plans after a worker died) and then fails it, so the run ends and the
    project's run lock is released.
    """
    now = timezone.now()
    if not SyncStage.objects.filter(pk=stage_id, status=StageStatus.PENDING).update(
            status=StageStatus.PLANNING, started_at=now, heartbeat_at=now, plan_attempts=F("plan_attempts") + 1):
        return
    stage = SyncStage.objects.select_related("run__project", "entity_map").get(pk=stage_id)
    run = stage.run
    if run.status == RunStatus.CANCELLED:
        return
    SyncRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(status=RunStatus.RUNNING, started_at=now)
    if entity_map_paused(entity_map_id=stage.entity_map_id):
        stage_skip_paused(stage=stage)
        return
    if stage.reads_source:
        if stage.plan_attempts > settings.P2C_STAGE_MAX_PLANS:
            stage_fail(stage=stage, message=f"gave up after {stage.plan_attempts - 1} attempts to read its changes; "
                                            "the last one never ended (its worker stopped or ran out of time)")
            return
        try:
            stage_plan(stage=stage)
        except PlanningFailed as exc:
            stage_fail(stage=stage, message=str(exc))
            return
        except PlanningInterrupted as exc:
            log.warning("stage planning interrupted run=%s entity_map=%s attempt=%s: %s", run.pk,
                        stage.entity_map.name, stage.plan_attempts, exc)
            _plan_again_or_fail(stage, str(exc))
            return
        except Exception as exc:  # a bug, a database refusal: the stage is planned again, a few times
            log.exception("stage planning raised run=%s entity_map=%s", run.pk, stage.entity_map.name)
            _plan_again_or_fail(stage, f"reading its changes failed: {failure_text(exc, project=run.project)}")
            return
    else:
        with transaction.atomic():
            ids = list(RecordSync.objects.filter(stage=stage, status=RecordStatus.PENDING).values_list("id", flat=True))
            RecordSync.objects.filter(pk__in=ids).update(queued_at=now)
            enqueue_each(task_names.SYNC_RECORD, ids)
    SyncStage.objects.filter(pk=stage.pk, status=StageStatus.PLANNING).update(
        status=StageStatus.RUNNING, planned_at=timezone.now())
    stage_finish_if_done(stage_id=stage.pk)


def _plan_again_or_fail(stage: SyncStage, message: str) -> None:
    """Planning is idempotent (rows are upserted by key), so the stage can simply be planned again, later."""
    if stage.plan_attempts >= settings.P2C_STAGE_MAX_PLANS:
        stage_fail(stage=stage, message=f"gave up after {stage.plan_attempts} attempts: {message}")
        return
    if SyncStage.objects.filter(pk=stage.pk, status=StageStatus.PLANNING).update(
            status=StageStatus.PENDING, message=message[:4000]):
        enqueue(task_names.START_STAGE, stage.pk, countdown=backoff(stage.plan_attempts))


def stage_fail(*, stage: SyncStage, message: str) -> None:
    """The stage could not read its changes: it fails, its cursor stays, the run moves on. Records it had
    already queued are skipped (the next run reads them again), so the run's counts are final when it ends."""
    now = timezone.now()
    with transaction.atomic():
        if not SyncStage.objects.filter(pk=stage.pk, status=StageStatus.PLANNING).update(
                status=StageStatus.FAILED, finished_at=now, message=clean_text(message)[:4000]):
            return
        RecordSync.objects.filter(stage=stage, status__in=OPEN_RECORD_STATUSES).update(
            status=RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, finished_at=now,
            error_type="stage_failed", error_message="not synced: its stage failed while reading its changes")
    log.warning("stage failed run=%s entity_map=%s: %s", stage.run_id, stage.entity_map.name, message)
    runs.run_continue(run=stage.run)


class StagesInFlight:
    """The records of each stage this process is syncing right now. A record that ends asks whether its stage is
    done only when no other record of that stage is in flight here: while one is, the answer is no (that one is
    open), and it asks in turn when it ends. With a pool of threads this saves a query per record; a process that
    syncs one record at a time asks after every record, as it must.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._syncing: Counter[int] = Counter()

    def enter(self, stage_id: int) -> None:
        with self._lock:
            self._syncing[stage_id] += 1

    def leave(self, stage_id: int) -> bool:
        """A record left (ended, or still open); True when it was the stage's last one in flight here."""
        with self._lock:
            self._syncing[stage_id] -= 1
            if self._syncing[stage_id] > 0:
                return False
            del self._syncing[stage_id]
            return True


stages_in_flight = StagesInFlight()


def stage_finish_if_done(*, stage_id: int) -> bool:
    """End the stage when none of its records is open; move its cursor; go on with the run.

    Called after every record, so the common case (records still open) costs one indexed query.
    """
    if runs.open_records_exist(stage_id=stage_id):
        return False
    status = StageStatus.WARNING if runs.failed_records_exist(stage_id=stage_id) else StageStatus.SUCCEEDED
    with transaction.atomic():
        if not SyncStage.objects.filter(pk=stage_id, status=StageStatus.RUNNING).update(
                status=status, finished_at=timezone.now()):
            return False
        stage = SyncStage.objects.select_related("entity_map", "run__project").get(pk=stage_id)
        if stage.reads_source:
            # The cursor moves only now that every record read from it has an outcome (failed ones stay
            # retriable from the run), so nothing between two runs is ever skipped.
            ChangeCursor.objects.update_or_create(entity_map=stage.entity_map, defaults={"value": stage.next_cursor})
    log.info("stage finished run=%s entity_map=%s status=%s", stage.run_id, stage.entity_map.name, status)
    runs.run_continue(run=stage.run)
    return True
