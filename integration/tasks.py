"""Celery tasks: thin wrappers that load ids and call services. Names are explicit and stable."""

from __future__ import annotations

from celery import shared_task

from integration.services.workers import worker_heartbeat_record


@shared_task(name="p2c.worker_heartbeat", bind=True)
def worker_heartbeat(self) -> None:
    worker_heartbeat_record(hostname=self.request.hostname or "unknown")
