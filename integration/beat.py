"""p2c's beat scheduler: django-celery-beat's, which also notes each tick for /readyz and evaluates alert rules.

The alert rules are evaluated here, on a thread of beat's own process, rather than as a task for the workers: an
evaluator that needed a worker could never say that no worker is alive. Evaluation is idempotent and safe to run
from two processes at once (two beats overlapping during a deploy, `manage.py evaluate_alerts` from cron).
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from django.db import close_old_connections
from django_celery_beat.schedulers import DatabaseScheduler

from integration.ops_redis import ops_key, ops_redis, ops_redis_failed

log = logging.getLogger(__name__)

TICK_KEY = "beat:tick"
_KEPT_SECONDS = 7 * 24 * 3600


class Scheduler(DatabaseScheduler):
    _evaluator: threading.Thread | None = None
    _stopping: threading.Event | None = None

    def tick(self, *args, **kwargs) -> float:
        if self._evaluator is None:
            self._start()
        delay = super().tick(*args, **kwargs)
        beat_note(TICK_KEY)
        return delay

    def close(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        super().close()

    def _start(self) -> None:
        self._stopping = threading.Event()
        self._evaluator = threading.Thread(target=_evaluate_until, args=(self._stopping,), name="p2c-alerts",
                                           daemon=True)
        self._evaluator.start()


def beat_note(name: str) -> None:
    """Write the time into Redis under `name` (beat's tick); skipped while Redis does not answer."""
    client = ops_redis()
    if client is None:
        return
    try:
        client.set(ops_key(name), repr(time.time()), ex=_KEPT_SECONDS)
    except redis.RedisError:
        ops_redis_failed()


def beat_noted(name: str) -> float | None:
    """The time last written under `name` (a Unix time), or None; raises redis.RedisError when Redis is down."""
    client = ops_redis()
    if client is None:
        raise redis.ConnectionError("Redis did not answer a moment ago")
    value = client.get(ops_key(name))
    return float(value) if value is not None else None


def _evaluate_until(stopping: threading.Event) -> None:
    from integration.services.alerts import alerts_evaluate

    while not stopping.is_set():
        close_old_connections()
        try:
            alerts_evaluate()
        except Exception:  # the next pass tries again; beat itself must go on scheduling
            log.exception("alert evaluation failed")
        finally:
            close_old_connections()
        stopping.wait(settings.P2C_ALERT_INTERVAL_SECONDS)
