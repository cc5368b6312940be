"""The connectors' traffic, counted in Redis so that every process's numbers add up: requests by connection,
method and status, 429s, latency, token requests, and each connection's last token outcome.

Workers are separate processes, often on separate machines; each adds what its connectors observe (the observer
registered in `integration.apps`) to hashes in Redis, and /metrics reads the totals when Prometheus scrapes. The
hashes only grow, as Prometheus counters do; their fields are JSON label lists, so any connection name is safe.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis

from connectors.observe import RequestObserved, TokenObserved
from integration.ops_redis import ops_key, ops_redis, ops_redis_failed

log = logging.getLogger(__name__)

# Seconds; a request to Dataverse or F&O takes from tens of milliseconds to minutes ($batch, big pages).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
REQUESTS, THROTTLED, LATENCY, TOKENS, TOKEN_STATE = "requests", "throttled", "latency", "tokens", "token-state"


def counters_record(event: RequestObserved | TokenObserved) -> None:
    """The connectors' observer: add one event to the counters (dropped, quietly, when Redis does not answer)."""
    client = ops_redis()
    if client is None:
        return
    pipe = client.pipeline(transaction=False)
    if isinstance(event, RequestObserved):
        status = str(event.status) if event.status is not None else "error"
        pipe.hincrby(ops_key(REQUESTS), _field(event.connection, event.method, status), 1)
        if event.status == 429:
            pipe.hincrby(ops_key(THROTTLED), _field(event.connection), 1)
        bucket = next((str(le) for le in LATENCY_BUCKETS if event.seconds <= le), "+Inf")
        pipe.hincrby(ops_key(LATENCY), _field(event.connection, bucket), 1)
        pipe.hincrbyfloat(ops_key(LATENCY), _field(event.connection, "sum"), event.seconds)
    else:
        pipe.hincrby(ops_key(TOKENS), _field(event.connection, "ok" if event.ok else "failed"), 1)
        pipe.hset(ops_key(TOKEN_STATE), event.connection,
                  json.dumps({"ok": event.ok, "at": time.time(), "error": event.error[:500]}))
    try:
        pipe.execute()
    except redis.RedisError as exc:
        ops_redis_failed()
        log.warning("connector counters not recorded (Redis: %s); trying again in a few seconds",
                    type(exc).__name__)


def _field(*labels: str) -> str:
    return json.dumps(labels, separators=(",", ":"))


@dataclass(frozen=True)
class Latency:
    buckets: list[tuple[str, int]]  # cumulative, as Prometheus wants them: (upper bound, count), ending at +Inf
    count: int
    total: float


@dataclass(frozen=True)
class ConnectorCounters:
    requests: dict[tuple[str, str, str], int]  # (connection, method, status) -> requests
    throttled: dict[str, int]
    latency: dict[str, Latency]
    tokens: dict[tuple[str, str], int]  # (connection, ok|failed) -> token requests


def counters_read() -> ConnectorCounters:
    """Every process's totals so far; raises redis.RedisError when Redis does not answer."""
    client = ops_redis()
    if client is None:
        raise redis.ConnectionError("Redis did not answer a moment ago")
    pipe = client.pipeline(transaction=False)
    for name in (REQUESTS, THROTTLED, LATENCY, TOKENS):
        pipe.hgetall(ops_key(name))
    requests_, throttled, latency, tokens = pipe.execute()
    by_connection: dict[str, dict[str, float]] = {}
    for labels, value in _rows(latency):
        by_connection.setdefault(labels[0], {})[labels[1]] = float(value)
    return ConnectorCounters(
        requests={tuple(labels): int(value) for labels, value in _rows(requests_)},
        throttled={labels[0]: int(value) for labels, value in _rows(throttled)},
        latency={connection: _latency(values) for connection, values in by_connection.items()},
        tokens={tuple(labels): int(value) for labels, value in _rows(tokens)},
    )


def _rows(hash_: dict[bytes, bytes]) -> Iterator[tuple[list[str], bytes]]:
    for field, value in hash_.items():
        yield json.loads(field), value


def _latency(values: dict[str, float]) -> Latency:
    running, buckets = 0, []
    for bound in [*map(str, LATENCY_BUCKETS), "+Inf"]:
        running += int(values.get(bound, 0))
        buckets.append((bound, running))
    return Latency(buckets=buckets, count=running, total=values.get("sum", 0.0))


@dataclass(frozen=True)
class TokenState:
    ok: bool
    at: float  # Unix time
    error: str


def token_states() -> dict[str, TokenState]:
    """Each connection's last token request, by connection name; raises redis.RedisError when Redis is down."""
    client = ops_redis()
    if client is None:
        raise redis.ConnectionError("Redis did not answer a moment ago")
    return {name.decode(): TokenState(**json.loads(value)) for name, value in client.hgetall(
        ops_key(TOKEN_STATE)).items()}
