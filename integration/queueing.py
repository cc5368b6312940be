"""Publishing tasks from services: always after the transaction commits, by task name (no import cycle)."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from p2c_project.celery import app


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    """Publish once the current transaction commits, so the worker never looks for rows that aren't there."""
    queue = settings.P2C_TASK_QUEUE
    transaction.on_commit(lambda: app.send_task(task_name, args=args, countdown=countdown, queue=queue))


def enqueue_each(task_name: str, ids: Iterable[int]) -> None:
    """One message per id, published after the commit over one broker connection, in pipelined batches (one round
    trip per thousand messages on Redis instead of one each; a broker that cannot batch publishes one by one)."""
    ids = list(ids)
    if not ids:
        return
    queue = settings.P2C_TASK_QUEUE

    def publish() -> None:
        with app.producer_or_acquire() as producer, producer.batch():
            for id_ in ids:
                app.send_task(task_name, args=(id_,), producer=producer, queue=queue)

    transaction.on_commit(publish)


def broker_queue_length() -> int | None:
    """Messages waiting in p2c's queue (None when the broker cannot say); the sweeper uses it to tell a long
    queue from lost messages."""
    try:
        with app.connection_for_write() as connection:
            return connection.default_channel.client.llen(
                app.conf.broker_transport_options.get("global_keyprefix", "") + settings.P2C_TASK_QUEUE)
    except (OSError, ConnectionError, AttributeError):  # broker trouble means "unknown": the sweeper waits
        return None
