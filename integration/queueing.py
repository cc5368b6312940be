"""Publishing tasks from services: always after the transaction commits, by task name (no import cycle)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from p2c_project.celery import app


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    """Publish once the current transaction commits, so the worker never looks for rows that aren't there."""
    transaction.on_commit(lambda: app.send_task(task_name, args=args, countdown=countdown))


def enqueue_each(task_name: str, ids: Iterable[int]) -> None:
    """One message per id, published over one broker connection after the commit."""
    ids = list(ids)
    if not ids:
        return

    def publish() -> None:
        with app.producer_or_acquire() as producer:
            for id_ in ids:
                app.send_task(task_name, args=(id_,), producer=producer)

    transaction.on_commit(publish)


def broker_queue_length(queue: str = "celery") -> int | None:
    """Messages waiting in the broker's queue (None when the broker cannot say); the sweeper uses it to tell
    a long queue from lost messages."""
    try:
        with app.connection_for_write() as connection:
            return connection.default_channel.client.llen(
                app.conf.broker_transport_options.get("global_keyprefix", "") + queue)
    except (OSError, ConnectionError, AttributeError):  # broker trouble means "unknown": the sweeper waits
        return None
