"""Celery tasks: thin wrappers that take ids and call services. Names are explicit and stable."""

from __future__ import annotations

from celery import shared_task

from integration import heartbeat, task_names  # also connects the worker signals that start each process's heartbeat
from integration.queueing import enqueue
from integration.services import batches, dry_runs, records, retention, runs, schedules, stages, sweeper


@shared_task(name=task_names.START_STAGE)
def start_stage(stage_id: int) -> None:
    with heartbeat.planning(stage_id):
        stages.stage_start(stage_id=stage_id)


@shared_task(name=task_names.PREFLIGHT_RUN)
def preflight_run(run_id: int) -> None:
    runs.run_preflight(run_id=run_id)


@shared_task(name=task_names.SYNC_RECORD)
def sync_record(record_id: int) -> None:
    decision = records.record_sync(record_id=record_id)
    if decision.retry_in is not None:
        enqueue(task_names.SYNC_RECORD, record_id, countdown=decision.retry_in)


@shared_task(name=task_names.SYNC_BATCH)
def sync_batch(record_ids: list[int]) -> None:
    batches.batch_sync(record_ids=record_ids)


@shared_task(name=task_names.RUN_SCHEDULED_PROJECT)
def run_scheduled_project(project_id: int) -> None:
    schedules.project_run_scheduled(project_id=project_id)


@shared_task(name=task_names.SWEEP)
def sweep() -> None:
    sweeper.sweep()


@shared_task(name=task_names.PURGE_HISTORY)
def purge_history() -> None:
    retention.history_purge()


# A dry run reads and compares a whole project in one task (it writes nothing, so there is nothing to resume):
# it may take longer than a record, but stays under the broker's visibility timeout.
@shared_task(name=task_names.DRY_RUN, soft_time_limit=3000, time_limit=3300)
def dry_run(dry_run_id: int) -> None:
    dry_runs.dry_run_execute(dry_run_id=dry_run_id)
