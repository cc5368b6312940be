"""Client-side limits per connection: requests per sliding window, sent at an even pace; concurrent requests; and
a shared pause.

Microsoft counts requests per application user, so every thread, process and machine that uses one connection
should draw from one budget: in-process by default, in Redis when the connection names one. A 429 seen by one
caller pauses all of them until its Retry-After has passed.

A budget is spent at an even pace (one request per window / limit, with a little slack so a late request can
catch up), not in bursts of a whole window. And a request counts in the client's window from the moment it is
sent until a window after its answer came back: the service counts it when it arrives, some time between the
two, so the client's count is never lower than the service's and a budget at the service's limit draws no 429
however long a request waits for a thread, a connection or the network (issue 8, scenario 5).
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import redis

from connectors.config import ConnectionConfig
from connectors.errors import ThrottledError, TransientError
from connectors.process_local import ProcessLocal

log = logging.getLogger(__name__)
_PACE_SLACK = 0.02  # share of the window a request may be sent ahead of the even pace (catch-up after a late one)
_limiters: ProcessLocal[Limiter] = ProcessLocal()


class Limiter(Protocol):
    def slot(self, max_wait: float) -> AbstractContextManager[None]:
        """Wait for the budget to allow one request (ThrottledError if that takes longer than `max_wait`), then
        hold one concurrency slot while the block runs."""

    def pause(self, seconds: float) -> None:
        """Send nothing on this connection for `seconds` (a 429's Retry-After)."""


def limiter_for(config: ConnectionConfig) -> Limiter:
    """The limiter of a connection's budget, shared by every client of that identity in this process."""
    key = (config.identity, config.requests_per_window, config.window_seconds, config.max_concurrency,
           config.redis_url, config.redis_key_prefix)
    if config.redis_url:
        lease = config.connect_timeout + config.read_timeout + 5
        return _limiters.get(key, lambda: RedisLimiter(config, lease_seconds=lease))
    return _limiters.get(key, lambda: LocalLimiter(config.requests_per_window, config.window_seconds,
                                                   config.max_concurrency))


def _too_long(wait: float) -> ThrottledError:
    return ThrottledError(f"The connection's request budget is spent for {wait:.1f} s (client-side limit)",
                          retry_after=wait)


class LocalLimiter:
    """The budget of one process: a counter of requests in flight, a deque of the times their answers came back,
    the time the next request is due at the even pace, a pause deadline."""

    def __init__(self, requests_per_window: int | None, window_seconds: float, max_concurrency: int):
        self._limit = requests_per_window
        self._window = window_seconds
        self._max_concurrency = max_concurrency
        self._answered: deque[float] = deque()
        self._paced_until = 0.0  # when the next request is due at the even pace
        self._in_flight = 0
        self._paused_until = 0.0
        self._changed = threading.Condition()

    @contextmanager
    def slot(self, max_wait: float) -> Iterator[None]:
        self._acquire(max_wait)
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                if self._limit:
                    self._answered.append(time.monotonic())
                self._changed.notify()

    def pause(self, seconds: float) -> None:
        with self._changed:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _acquire(self, max_wait: float) -> None:
        deadline = time.monotonic() + max_wait
        with self._changed:
            while True:
                now = time.monotonic()
                wait = self._wait_needed(now)
                if wait <= 0:
                    if self._limit:
                        self._paced_until = max(self._paced_until, now) + self._window / self._limit
                    self._in_flight += 1
                    return
                if now + wait > deadline:
                    raise _too_long(wait)
                self._changed.wait(wait)

    def _wait_needed(self, now: float) -> float:
        if now < self._paused_until:
            return self._paused_until - now
        if self._limit:
            ahead = self._paced_until - now - self._window * _PACE_SLACK
            if ahead > 0:
                return ahead
            while self._answered and self._answered[0] <= now - self._window:
                self._answered.popleft()
            if self._in_flight + len(self._answered) >= self._limit:
                # Only an answer leaving the window frees a place; with none answered yet, that is a window away.
                return self._answered[0] + self._window - now if self._answered else self._window
        if self._in_flight >= self._max_concurrency:
            return 0.05  # woken by notify when a slot frees; the timeout only bounds a missed wake-up
        return 0.0


# KEYS: window zset, slots zset, pause key, pace key. ARGV: limit (0: none), window ms, max concurrency, lease id,
# lease ms, pace slack ms. Returns 0 when admitted, else the milliseconds to wait. Server time (in fractional ms),
# so machines with skewed clocks agree. The window zset scores a request in flight at the end of its lease (so a
# killed worker's request leaves the window in time) and an answered one at its answer (_RELEASE).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit, window, maxc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return math.ceil(paused - now) end
local due = now
if limit > 0 then
  due = math.max(now, tonumber(redis.call('GET', KEYS[4]) or '0'))
  if due - now > tonumber(ARGV[6]) then return math.max(1, math.ceil(due - now - tonumber(ARGV[6]))) end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  if redis.call('ZCARD', KEYS[1]) >= limit then
    local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
    if oldest > now then return window end
    return math.max(1, math.ceil(oldest + window - now))
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= maxc then return -1 end
if limit > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window + tonumber(ARGV[5]) + 1000)
  redis.call('SET', KEYS[4], string.format('%.3f', due + window / limit), 'PX', window + 1000)
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]) + 1000)
return 0
"""

# KEYS: window zset, slots zset. ARGV: lease id. The request was answered: its slot is free, and it stays in the
# window until a window from now.
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 0
"""

# KEYS: pause key. ARGV: pause ms. Moves the shared deadline later, never earlier.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untl = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current then redis.call('SET', KEYS[1], untl, 'PX', tonumber(ARGV[1]) + 1000) end
return 0
"""

_SLOT_POLL_S = 0.02  # how often a caller waiting for a concurrency slot held elsewhere asks again


class RedisLimiter:
    """The budget shared by every process that names the same Redis: concurrency slots are leases that expire,
    so a killed worker never keeps one."""

    def __init__(self, config: ConnectionConfig, *, lease_seconds: float):
        digest = hashlib.sha256(config.identity.encode()).hexdigest()[:16]
        base = f"{config.redis_key_prefix}{config.system}:{digest}"
        self._keys = (f"{base}:window", f"{base}:slots", f"{base}:paused", f"{base}:pace")
        self._limit = config.requests_per_window or 0
        self._window_ms = int(config.window_seconds * 1000)
        self._max_concurrency = config.max_concurrency
        self._lease_ms = int(lease_seconds * 1000)
        self._redis = redis.Redis.from_url(redis_py_url(config.redis_url), socket_timeout=5,
                                           socket_connect_timeout=5, health_check_interval=30)
        self._acquire_script = self._redis.register_script(_ACQUIRE)
        self._pause_script = self._redis.register_script(_PAUSE)
        self._release_script = self._redis.register_script(_RELEASE)

    @contextmanager
    def slot(self, max_wait: float) -> Iterator[None]:
        lease = self._acquire(max_wait)
        try:
            yield
        finally:
            try:
                self._release_script(keys=list(self._keys[:2]), args=[lease])
            except redis.RedisError as exc:  # the lease expires on its own; the request's outcome matters more
                log.warning("could not release a request's lease in Redis: %s", exc)

    def pause(self, seconds: float) -> None:
        self._call(self._pause_script, keys=[self._keys[2]], args=[int(seconds * 1000)])

    def _acquire(self, max_wait: float) -> str:
        deadline = time.monotonic() + max_wait
        while True:
            lease = uuid.uuid4().hex
            args = [self._limit, self._window_ms, self._max_concurrency, lease, self._lease_ms,
                    self._window_ms * _PACE_SLACK]
            result = int(self._call(self._acquire_script, keys=list(self._keys), args=args))
            if result == 0:
                return lease
            wait = _SLOT_POLL_S * (0.5 + random.random()) if result < 0 else result / 1000  # noqa: S311 - jitter
            if time.monotonic() + wait > deadline:
                raise _too_long(wait)
            time.sleep(wait)

    @staticmethod
    def _call(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(*args, **kwargs)
        except redis.RedisError as exc:
            raise TransientError(f"The shared rate limiter (Redis) failed: {type(exc).__name__}: {exc}") from None


def redis_py_url(url: str) -> str:
    """Accept the broker's `redis+socket://` spelling of a unix socket as well as redis-py's `unix://`."""
    if url.startswith("redis+socket://"):
        return "unix://" + url[len("redis+socket://"):]
    return url
