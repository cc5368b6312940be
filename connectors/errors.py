"""The connector's errors: one type per thing the caller does differently, each with the API's own message.

`retryable` tells the engine whether trying the same request later can succeed; `permanent` is its negation.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ConnectorError(Exception):
    """A request to Dataverse or F&O failed; `message` is the API's text, never a token or secret."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, status: int | None = None, code: str = "", entity_set: str = "",
                 key: Any = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.entity_set = entity_set
        self.key = key
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        return not self.retryable

    def __reduce__(self):
        # Celery pickles errors between processes; keep status, code, key and retry_after across the trip.
        return (type(self), (self.message,), dict(self.__dict__))

    def __str__(self) -> str:
        where = " ".join(part for part in (self.entity_set, "" if self.key is None else str(self.key)) if part)
        details = ", ".join(part for part in (
            f"HTTP {self.status}" if self.status else "",
            f"code {self.code}" if self.code else "",
            where,
        ) if part)
        return f"{self.message} ({details})" if details else self.message


class ThrottledError(ConnectorError):
    """Service protection (429): wait `retry_after` seconds before sending anything else on this connection."""

    retryable = True


class TransientError(ConnectorError):
    """The service or the network failed in a way that says nothing about the request: 5xx, timeouts, resets."""

    retryable = True


class NotExecutedError(TransientError):
    """A batch operation the service never ran (an earlier part failed, or its change set was rolled back)."""


class AuthError(ConnectorError):
    """401/403 or a token-endpoint failure: credentials, consent, audience or the application user's roles."""


class NotFoundError(ConnectorError):
    """The addressed record (or entity set) does not exist."""


class ConflictError(ConnectorError):
    """The record changed since it was read (stale ETag); re-read it before writing again."""


class DuplicateError(ConnectorError):
    """A create collided with a record that has the same key."""


class ValidationError(ConnectorError):
    """The service refused the request's content (bad field, unknown reference, malformed key or query)."""


class ChangeTrackingExpiredError(ConnectorError):
    """The stored delta link is too old (or unusable): read everything again and start a new delta link."""


class BulkTargetError(ConnectorError):
    """A bulk message (CreateMultiple, UpdateMultiple, UpsertMultiple) was refused as a whole because of one of its
    targets, and wrote nothing (standard tables roll the request back). `error` is that target's own error, typed
    as for a single write (never a retryable one: throttling and transient failures are raised as they are);
    `index` is the target's position and `key` its key when the service said which one failed, else both are None:
    then splitting the request finds it."""

    def __init__(self, message: str, *, error: ConnectorError | None = None, index: int | None = None,
                 **context: Any):
        super().__init__(message, **context)
        self.error = error
        self.index = index
