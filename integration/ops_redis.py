"""The Redis client of p2c's operational state (connector counters, token outcomes, beat's tick), apart from the
broker's connections so that a slow scrape never holds a publisher back.

Keys carry REDIS_KEY_PREFIX (read at each call, so tests that set it are honoured). A Redis that does not answer
costs its callers a second once: the next `ops_redis()` within a few seconds says None instead of trying again,
so a request being counted never waits on a dead Redis.
"""

from __future__ import annotations

import threading
import time

import redis
from django.conf import settings

from connectors.limiter import redis_py_url

_BACKOFF_SECONDS = 5.0
_lock = threading.Lock()
_client: tuple[str, redis.Redis] | None = None
_down_until = 0.0


def ops_key(name: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}p2c:ops:{name}"


def ops_redis() -> redis.Redis | None:
    """The process's client (redis-py's pool reconnects after a fork), or None while Redis was just found down."""
    global _client
    if time.monotonic() < _down_until:
        return None
    url = settings.REDIS_URL
    with _lock:
        if _client is None or _client[0] != url:
            _client = (url, redis.Redis.from_url(redis_py_url(url), socket_timeout=1, socket_connect_timeout=1))
        return _client[1]


def ops_redis_failed() -> None:
    """A call failed: leave Redis alone for a few seconds."""
    global _down_until
    _down_until = time.monotonic() + _BACKOFF_SECONDS
