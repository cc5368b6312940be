"""Publishing tasks from services (always after the transaction commits, by task name: no import cycle), and what
the sweeper asks the broker directly: how long the queue is, whether the broker lost its contents, which
messages workers took and never acknowledged."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

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


@contextlib.contextmanager
def _redis() -> Iterator[tuple[object, redis.Redis, str]]:
    """The broker's channel, a plain Redis client on its connections, and the key prefix p2c's keys carry.

    The plain client adds no prefix of its own (kombu's prefixes some commands and not others), so every key
    here is spelled in full.
    """
    with app.connection_or_acquire() as connection:
        channel = connection.default_channel
        yield channel, redis.Redis(connection_pool=channel.pool), channel.global_keyprefix or ""


_BROKER_TROUBLE = (OSError, redis.RedisError, OperationalError)


def broker_queue_length() -> int | None:
    """Messages waiting in p2c's queue (None when the broker cannot say); the sweeper uses it to tell a long
    queue from lost messages."""
    try:
        with _redis() as (_, client, prefix):
            return client.llen(prefix + settings.P2C_TASK_QUEUE)
    except _BROKER_TROUBLE:  # broker trouble means "unknown": the sweeper waits
        return None


EPOCH_KEY = "p2c:broker-epoch"


def broker_contents_lost() -> bool:
    """True once after the broker lost what it held (a restart without persistence, a flush, a new server).

    p2c keeps a key in the broker and sets it again when it is gone; whoever sets it answers True. The first call on
    a new broker answers True as well, which is right: work the database says is queued cannot be in it.
    Assumption: nothing evicts the key but the loss of everything (Redis's default `noeviction` policy); an
    eviction would only queue open work once more, which is harmless.
    """
    try:
        with _redis() as (_, client, prefix):
            return bool(client.set(prefix + EPOCH_KEY, timezone.now().isoformat(), nx=True))
    except _BROKER_TROUBLE:
        return False


def broker_restore_delivered(*, before: float) -> int:
    """Put back at the head of their queues the messages workers took before `before` (a Unix time) and have not
    acknowledged; returns how many. A dead worker's running and reserved messages are among them: Redis would keep
    them for its visibility timeout (an hour). A live worker's message put back too is harmless: whatever it
    names (a record, a stage, a run) is claimed once.
    """
    try:
        with _redis() as (channel, client, prefix):
            tags = client.zrangebyscore(prefix + channel.unacked_index_key, "-inf", before)
            for tag in tags:
                channel.qos.restore_by_tag(tag)
            return len(tags)
    except _BROKER_TROUBLE:
        return 0
