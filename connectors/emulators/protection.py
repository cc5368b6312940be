"""Service protection and fault injection: what makes an emulator behave like a busy cloud service.

Limits are per client (the token's app id), as Microsoft applies them per user (api-limits.md): a sliding window
of requests (a `$batch` or a bulk message is one request), a sliding window of combined execution time (every
operation counts its own: each part of a `$batch`, each target of a bulk message), and a number of concurrent
requests. The windows take effect once exceeded; the
concurrency limit refuses at once. A client that keeps sending while told to wait gets a longer wait. Every limit
is off by default.

An operation's execution time is what the emulator measured handling it plus `operation_ms`, a configured charge
that lets a test reach a limit quickly; `operation_delay_ms` really delays each operation, so a benchmark can
emulate a service that takes that long.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field

# A request this long after the client was first told to wait, but before the wait ended, ignored Retry-After.
# Requests already in flight when the 429 was sent arrive within this grace.
_VIOLATION_GRACE_S = 0.25


@dataclass
class EmulatorConfig:
    latency_ms: int = 0
    fault_rate: float = 0.0
    unavailable_rate: float = 0.0
    throttle: dict | None = None
    execution_time: dict | None = None
    concurrency_limit: int | None = None
    operation_ms: float = 0
    operation_delay_ms: float = 0
    token_ttl_s: int | None = None

    def update(self, changes: dict) -> None:
        """Apply a partial update; ValueError names the first bad key, and nothing changes then."""
        staged = asdict(self)
        for key, value in changes.items():
            if key == "revoke_tokens":
                continue
            if key not in staged:
                raise ValueError(f"unknown config key '{key}'")
            staged[key] = _validated(key, value)
        for key, value in staged.items():
            setattr(self, key, value)


def _validated(key: str, value: object) -> object:
    if key in ("latency_ms", "operation_ms", "operation_delay_ms"):
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{key} must be a number >= 0")
        return value
    if key in ("fault_rate", "unavailable_rate"):
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            raise ValueError(f"{key} must be a number between 0 and 1")
        return float(value)
    if key == "throttle":
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != {"requests", "window_s"}:
            raise ValueError('throttle must be null or {"requests": N, "window_s": S}')
        if not isinstance(value["requests"], int) or value["requests"] < 1:
            raise ValueError("throttle.requests must be an integer >= 1")
        if not isinstance(value["window_s"], int | float) or value["window_s"] <= 0:
            raise ValueError("throttle.window_s must be a number > 0")
        return {"requests": value["requests"], "window_s": value["window_s"]}
    if key == "execution_time":
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != {"limit_ms", "window_s"}:
            raise ValueError('execution_time must be null or {"limit_ms": N, "window_s": S}')
        if not isinstance(value["limit_ms"], int) or isinstance(value["limit_ms"], bool) or value["limit_ms"] < 1:
            raise ValueError("execution_time.limit_ms must be an integer >= 1")
        if not isinstance(value["window_s"], int | float) or value["window_s"] <= 0:
            raise ValueError("execution_time.window_s must be a number > 0")
        return {"limit_ms": value["limit_ms"], "window_s": value["window_s"]}
    if key in ("concurrency_limit", "token_ttl_s"):
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{key} must be null or an integer >= 1")
        return value
    raise ValueError(f"unknown config key '{key}'")


@dataclass(frozen=True)
class Rejection:
    """Why a request was refused with 429, and how long the client must wait."""

    kind: str  # "rate" (requests), "execution" (combined execution time, `limit` in ms) or "concurrency"
    retry_after: int
    limit: int
    window_s: float = 0


@dataclass
class _ClientState:
    accepted: deque = field(default_factory=deque)
    spent: deque = field(default_factory=deque)  # (when an operation ended, its execution time in ms)
    spent_ms: float = 0.0
    in_flight: int = 0
    blocked_until: float = 0.0
    blocked_since: float = 0.0
    blocked_by: tuple[str, int, float] = ("rate", 0, 0.0)  # the limit that blocked: kind, limit, window


class Protection:
    """Admits or refuses each API request of a client, and injects faults and latency."""

    def __init__(self, config: EmulatorConfig, stats: Stats):
        self.config = config
        self.stats = stats
        self._clients: dict[str, _ClientState] = defaultdict(_ClientState)
        self._lock = threading.Lock()
        self._rng = random.Random()

    def reset(self) -> None:
        with self._lock:
            self._clients.clear()

    @contextmanager
    def admit(self, client: str) -> Iterator[Rejection | None]:
        """Yield None and hold a concurrency slot while the request runs, or yield the Rejection."""
        rejection = self._check(client)
        if rejection:
            yield rejection
            return
        try:
            yield None
        finally:
            with self._lock:
                self._clients[client].in_flight -= 1

    def _check(self, client: str) -> Rejection | None:
        config = self.config
        now = time.monotonic()
        with self._lock:
            state = self._clients[client]
            throttle, execution = config.throttle, config.execution_time
            if throttle:
                while state.accepted and state.accepted[0] <= now - throttle["window_s"]:
                    state.accepted.popleft()
            if execution:
                while state.spent and state.spent[0][0] <= now - execution["window_s"]:
                    state.spent_ms -= state.spent.popleft()[1]
            if now < state.blocked_until:
                if now - state.blocked_since > _VIOLATION_GRACE_S:
                    # Continued pressure lengthens the wait, as both Microsoft APIs do.
                    state.blocked_until += 1
                    self.stats.count("retry_after_violations")
                return self._reject(state.blocked_by[0], state.blocked_until - now, *state.blocked_by[1:])
            if throttle and len(state.accepted) >= throttle["requests"]:
                blocked = ("rate", throttle["requests"], throttle["window_s"])
                return self._block(state, now, state.accepted[0] + throttle["window_s"], blocked)
            if execution and state.spent_ms > execution["limit_ms"]:
                # Blocked until enough of the window's operations age out to bring the total within the limit.
                excess, until = state.spent_ms - execution["limit_ms"], now
                for ended, spent in state.spent:
                    excess -= spent
                    until = ended + execution["window_s"]
                    if excess <= 0:
                        break
                return self._block(state, now, until, ("execution", execution["limit_ms"], execution["window_s"]))
            if config.concurrency_limit is not None and state.in_flight >= config.concurrency_limit:
                return self._reject("concurrency", 1, config.concurrency_limit)
            if throttle:
                state.accepted.append(now)
            state.in_flight += 1
        return None

    def _block(self, state: _ClientState, now: float, until: float, blocked: tuple[str, int, float]) -> Rejection:
        state.blocked_until, state.blocked_since, state.blocked_by = until, now, blocked
        return self._reject(blocked[0], until - now, *blocked[1:])

    def operation(self, client: str) -> AbstractContextManager[None]:
        """One operation: a request, or one part of a `$batch`."""
        return self.operations(client, 1)

    @contextmanager
    def operations(self, client: str, count: int) -> Iterator[None]:
        """`count` operations run as one unit (a bulk message's targets, an F&O change set): delayed by `count`
        times `operation_delay_ms` before the block runs, so the delay is never spent holding the store lock the
        block may take, then charged to the client's execution time (measured, plus `operation_ms` each)."""
        started = time.monotonic()
        self.stats.count("operations", count)
        if self.config.operation_delay_ms:
            time.sleep(count * self.config.operation_delay_ms / 1000)
        try:
            yield
        finally:
            self.charge(client, (time.monotonic() - started) * 1000 + count * self.config.operation_ms)

    def charge(self, client: str, milliseconds: float) -> None:
        if not self.config.execution_time:
            return
        with self._lock:
            state = self._clients[client]
            state.spent.append((time.monotonic(), milliseconds))
            state.spent_ms += milliseconds

    def _reject(self, kind: str, wait: float, limit: int, window: float = 0) -> Rejection:
        retry_after = max(1, math.ceil(wait))
        self.stats.count("throttled")
        self.stats.count("throttle_seconds_requested", retry_after)
        return Rejection(kind, retry_after, limit, window)

    def injected_fault(self) -> int | None:
        """500 or 503 for a share of requests, per the fault and unavailable rates; else None."""
        fault, unavailable = self.config.fault_rate, self.config.unavailable_rate
        if not fault and not unavailable:
            return None
        with self._lock:
            draw = self._rng.random()
        if draw < unavailable:
            self.stats.count("unavailable")
            return 503
        if draw < unavailable + fault:
            self.stats.count("faults")
            return 500
        return None

    def delay(self) -> None:
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000)


class Stats:
    """Counters a test or benchmark reads back through GET /_emulator/stats."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._counters: Counter = Counter()
            self._requests: dict[str, Counter] = defaultdict(Counter)
            self._statuses: Counter = Counter()
            self._clients: Counter = Counter()

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[name] += amount

    def record(self, method: str, entity_set: str, status: int, client: str | None) -> None:
        with self._lock:
            self._counters["requests"] += 1
            self._requests[entity_set][method] += 1
            self._statuses[str(status)] += 1
            if client:
                self._clients[client] += 1

    def snapshot(self) -> dict:
        with self._lock:
            counters = self._counters
            return {
                "requests": counters["requests"],
                "requests_by_entity_set": {name: dict(methods) for name, methods in sorted(self._requests.items())},
                "responses_by_status": dict(sorted(self._statuses.items())),
                "requests_by_client": dict(self._clients),
                "throttled": counters["throttled"],
                "throttle_seconds_requested": counters["throttle_seconds_requested"],
                "retry_after_violations": counters["retry_after_violations"],
                "faults": counters["faults"],
                "unavailable": counters["unavailable"],
                "unauthorized": counters["unauthorized"],
                "tokens_issued": counters["tokens_issued"],
                "batch_operations": counters["batch_operations"],
                "operations": counters["operations"],
                "webhooks_sent": counters["webhooks_sent"],
            }
