"""One connection's HTTP: pooled session, the API's headers, the application users (each with its token and its
limiter) and the retry loop.

Retries: a 429 pauses the user it answered for its Retry-After (every caller of the connection waits with it, or
goes on as another user when the connection has more than one); 5xx, timeouts and resets back off exponentially
with full jitter; both a bounded number of times. A 401 drops the token, gets a new one and replays once. A POST is
replayed only when the service cannot have run it (429, 503, connection refused).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from connectors.app_users import AppUsers, AppUserSession
from connectors.config import ConnectionConfig
from connectors.errors import ConnectorError, ThrottledError, TransientError
from connectors.observe import RequestObserved, observe
from connectors.sessions import new_session

log = logging.getLogger(__name__)

Classifier = Callable[..., ConnectorError]  # (status, headers, body, *, entity_set, key) -> error


@dataclass(frozen=True)
class ApiProfile:
    """What differs between the two APIs at the HTTP level."""

    headers: Mapping[str, str]  # sent on every request
    read_headers: Mapping[str, str]  # added on GET
    classify: Classifier
    throttle_fallback: Callable[[int], float]  # seconds to wait after a 429 without Retry-After, by attempt


class Transport:
    """Sends requests for one connection; shared by all threads of a process (requests' pool is thread-safe)."""

    def __init__(self, config: ConnectionConfig, profile: ApiProfile):
        self.config = config
        self.profile = profile
        self.users = AppUsers(config)
        self.session = new_session(config, pool_size=config.max_concurrency * len(self.users.all))

    def request(self, method: str, url: str, *, body: Any = None, data: bytes | None = None,
                headers: Mapping[str, str] | None = None, entity_set: str = "", key: Any = None,
                accept: Callable[[requests.Response], bool] | None = None,
                idempotent: bool | None = None) -> requests.Response:
        """Send `method url` (used exactly as given: our URLs are already encoded, a nextLink must stay as the
        service wrote it) and return a 2xx/3xx response, or one `accept` takes; raise a typed error otherwise."""
        config = self.config
        idempotent = method != "POST" if idempotent is None else idempotent
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        request_headers = self._headers(method, headers, has_body=data is not None)
        attempt, reauthenticated = 0, False
        error: ConnectorError | None = None
        while True:
            try:
                with self.users.slot(config.max_wait) as user:
                    token = user.tokens.token()
                    prepared = self.session.prepare_request(requests.Request(
                        method, url, data=data, headers={**request_headers, "Authorization": f"Bearer {token}"}))
                    prepared.url = url  # requests re-quotes URLs; a nextLink's skiptoken must reach the service as is
                    response = self._send(prepared, method)
            except ThrottledError as busy:  # every user must wait longer than max_wait
                if isinstance(error, ThrottledError):  # after the service's 429: its words, the soonest wait
                    error.retry_after = busy.retry_after
                    raise error from None
                raise
            except requests.RequestException as exc:
                error = TransientError(f"{method} failed: {type(exc).__name__}: {exc}", entity_set=entity_set,
                                       key=key)
                replayable = idempotent or _never_sent(exc)
            else:
                if response.status_code < 400 or (accept is not None and accept(response)):
                    return response
                if response.status_code == 401 and not reauthenticated:
                    log.info("401 from %s %s: getting a new token and replaying once", method, entity_set)
                    user.tokens.invalidate(token)
                    reauthenticated = True
                    continue
                error = self.profile.classify(response.status_code, response.headers, _body(response),
                                              entity_set=entity_set, key=key)
                replayable = idempotent or isinstance(error, ThrottledError) or response.status_code == 503
            if not (error.retryable and replayable) or attempt >= config.max_retries:
                raise error
            attempt += 1
            self._wait_before_retry(error, attempt, method, entity_set, user)

    def close(self) -> None:
        self.session.close()

    def _send(self, prepared: requests.PreparedRequest, method: str) -> requests.Response:
        """Send once, and tell the observer how it went and how long the API took."""
        started, status = time.monotonic(), None
        try:
            response = self.session.send(prepared, timeout=self.config.timeout, allow_redirects=False)
            status = response.status_code
            return response
        finally:
            observe(RequestObserved(self.config.label, method, status, time.monotonic() - started))

    def _headers(self, method: str, extra: Mapping[str, str] | None, *, has_body: bool) -> dict[str, str]:
        headers = dict(self.profile.headers)
        if method == "GET":
            headers.update(self.profile.read_headers)
        if has_body:
            headers["Content-Type"] = "application/json"
        headers.update(extra or {})
        return headers

    def _wait_before_retry(self, error: ConnectorError, attempt: int, method: str, entity_set: str,
                           user: AppUserSession) -> None:
        config = self.config
        if isinstance(error, ThrottledError):
            wait = error.retry_after if error.retry_after is not None else self.profile.throttle_fallback(attempt)
            user.limiter.pause(wait)  # the next slot() of every caller waits it out, or goes on as another user
        else:
            wait = random.uniform(0, min(config.backoff_max, config.backoff_base * 2 ** (attempt - 1)))  # noqa: S311
        if wait > config.max_wait and not (isinstance(error, ThrottledError) and len(self.users.all) > 1):
            error.retry_after = wait
            raise error
        log.info("retrying %s %s in %.2f s (attempt %d of %d): %s", method, entity_set, wait, attempt,
                 config.max_retries, error)
        if not isinstance(error, ThrottledError):
            time.sleep(wait)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never made, so even a POST can be sent again safely."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, NewConnectionError)


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
