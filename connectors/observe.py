"""An optional observer of the connectors' traffic: each HTTP request's outcome and each token request.

The connectors do not know where the numbers go. An application registers one plain callback (p2c's engine counts
them in Redis for /metrics and its alerts); without one, observing costs nothing. A callback that raises is logged
and ignored: observing never breaks a request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestObserved:
    """One HTTP request to an API (each retry is one), timed from send to answer."""

    connection: str  # ConnectionConfig.label
    method: str
    status: int | None  # None: no answer (a timeout, a reset connection)
    seconds: float


@dataclass(frozen=True)
class TokenObserved:
    """One request to the token endpoint: a new token, or a refusal (its error code and description, never the
    credential)."""

    connection: str
    ok: bool
    error: str = ""


Observer = Callable[[RequestObserved | TokenObserved], None]
_observer: Observer | None = None


def observer_set(observer: Observer | None) -> None:
    """Register the process's observer (None removes it)."""
    global _observer
    _observer = observer


def observe(event: RequestObserved | TokenObserved) -> None:
    observer = _observer
    if observer is None:
        return
    try:
        observer(event)
    except Exception:  # an observer's bug must not fail the request it watched
        log.exception("the connector observer failed on %s", type(event).__name__)
