"""Readiness: is each part p2c needs up (the database, the broker, beat, at least one worker)?

Each check says its status and, where there is one, how old its last sign of life is. Nothing in a check's answer
names a host, a user or an address: /readyz answers anyone who can reach it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max
from django.utils import timezone
from kombu.exceptions import OperationalError

from integration.models import WorkerHeartbeat
from integration.services.workers import workers_live
from p2c_project.celery import app

OK, DOWN = "ok", "down"


@dataclass(frozen=True)
class Check:
    status: str
    age_seconds: float | None = None  # since the part's last sign of life
    detail: str = ""

    def as_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value not in (None, "")}


def database_check() -> Check:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Check(DOWN, detail=f"{type(exc).__name__}")
    return Check(OK, detail=f"answered in {1000 * (time.monotonic() - started):.0f} ms")


def broker_check() -> Check:
    started = time.monotonic()
    try:
        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            broker.default_channel.client.ping()
    except (OSError, OperationalError, redis.RedisError) as exc:
        return Check(DOWN, detail=f"{type(exc).__name__}")
    return Check(OK, detail=f"answered in {1000 * (time.monotonic() - started):.0f} ms")


def beat_check() -> Check:
    """Beat notes each tick (every 5 s at most); silent for P2C_READY_BEAT_SECONDS, it is down."""
    from integration.beat import TICK_KEY, beat_noted

    try:
        tick = beat_noted(TICK_KEY)
    except redis.RedisError as exc:
        return Check(DOWN, detail=f"its last tick cannot be read: {type(exc).__name__}")
    if tick is None:
        return Check(DOWN, detail="beat has never ticked")
    age = max(0.0, time.time() - tick)
    limit = settings.P2C_READY_BEAT_SECONDS
    return Check(OK if age <= limit else DOWN, age_seconds=round(age, 1),
                 detail="" if age <= limit else f"no tick for over {limit} s")


def workers_check() -> Check:
    """At least one worker process is live."""
    now = timezone.now()
    try:
        live = workers_live(now=now).count()
        newest = WorkerHeartbeat.objects.aggregate(newest=Max("seen_at"))["newest"]
    except DatabaseError as exc:
        return Check(DOWN, detail=f"heartbeats cannot be read: {type(exc).__name__}")
    if newest is None:
        return Check(DOWN, detail="no worker has ever sent a heartbeat")
    age = round(max(0.0, (now - newest).total_seconds()), 1)
    if not live:
        return Check(DOWN, age_seconds=age, detail=f"no heartbeat for over {settings.P2C_WORKER_DEAD_SECONDS} s")
    return Check(OK, age_seconds=age, detail=f"{live} live")


CHECKS = {"database": database_check, "broker": broker_check, "beat": beat_check, "workers": workers_check}


def readiness(*, only: list[str] | None = None) -> tuple[bool, dict[str, Check]]:
    """The checks asked for (all by default), and whether every one is ok."""
    names = only or list(CHECKS)
    checks = {name: CHECKS[name]() for name in names}
    return all(check.status == OK for check in checks.values()), checks
