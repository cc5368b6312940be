"""Celery tasks: thin wrappers that take ids and call services. Names are explicit and stable."""

from __future__ import annotations

from celery import shared_task

from integration import heartbeat  # also connects the worker signals that start each process's heartbeat
from integration.queueing import enqueue
from integration.services import records, retention, runs, schedules, stages, sweeper


@shared_task(name="p2c.start_stage")
def start_stage(stage_id: int) -> None:
    with heartbeat.planning(stage_id):
        stages.stage_start(stage_id=stage_id)


@shared_task(name="p2c.preflight_run")
def preflight_run(run_id: int) -> None:
    runs.run_preflight(run_id=run_id)


@shared_task(name="p2c.sync_record")
def sync_record(record_id: int) -> None:
    decision = records.record_sync(record_id=record_id)
    if decision.retry_in is not None:
        enqueue("p2c.sync_record", record_id, countdown=decision.retry_in)


@shared_task(name="p2c.run_scheduled_project")
def run_scheduled_project(project_id: int) -> None:
    schedules.project_run_scheduled(project_id=project_id)


@shared_task(name="p2c.sweep")
def sweep() -> None:
    sweeper.sweep()


@shared_task(name="p2c.purge_history")
def purge_history() -> None:
    retention.history_purge()
