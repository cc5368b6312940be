"""How a record's attempt ends: succeeded, unchanged or skipped (`finish`), failed for good (`Fail`), or sent back to
wait and try again later (`RetryLater`, with exponential backoff or the service's Retry-After), and when the
attempts are spent. The one place that decides what an error means for a record, for the single-record path and
the batched path alike.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.utils import timezone

from connectors.errors import ConnectorError, ThrottledError, TransientError
from integration import mapping, storable
from integration.models import RecordStatus, RecordSync

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Decision:
    """What the task should do next: nothing, or deliver the record again after `retry_in` seconds."""

    retry_in: float | None = None


class RetryLater(Exception):
    """Transient trouble: the record waits and is tried again, up to `max_attempts` (P2C_RECORD_MAX_ATTEMPTS)."""

    def __init__(self, error_type: str, message: str, wait: float | None = None, *, max_attempts: int | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.wait = wait
        self.max_attempts = max_attempts


class Fail(Exception):
    """The record cannot be synced as it is: it fails alone, with the message (and the field, when one is to blame)."""

    def __init__(self, error_type: str, message: str, field: str = ""):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.field = field


def outcome_of(error: ConnectorError) -> RetryLater | Fail:
    """What a connector error means for the record: throttling and outages wait; anything else fails it."""
    if isinstance(error, ThrottledError):
        return RetryLater("throttled", error.message, wait=error.retry_after)
    if isinstance(error, TransientError):
        return RetryLater("transient", error.message)
    return Fail(type(error).__name__, error.message)


def call(operation: Callable[[], T]) -> T:
    """Run a connector call, turning its errors into a retry or a failure of this record."""
    try:
        return operation()
    except ConnectorError as exc:
        raise outcome_of(exc) from None


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(settings.P2C_BACKOFF_MAX_SECONDS, settings.P2C_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


def wait_or_fail(record: RecordSync, exc: RetryLater, *, attempts: int | None = None,
                 now: datetime | None = None) -> tuple[Decision, bool]:
    """Send the record back to wait, or fail it when it had its attempts; also says whether it ended. Records that
    wait together pass one `now`, so they fall due at the same instant and a sweep finds all of them or none."""
    if attempts is None:
        attempts = RecordSync.objects.values_list("attempts", flat=True).get(pk=record.pk)
    limit = exc.max_attempts or settings.P2C_RECORD_MAX_ATTEMPTS
    if attempts >= limit:
        finish(record, RecordStatus.FAILED, error=Fail(exc.error_type, f"gave up after {attempts} attempts: "
                                                                      f"{exc.message}"))
        return Decision(), True
    wait = exc.wait if exc.wait is not None else backoff(attempts)
    RecordSync.objects.filter(pk=record.pk, status=RecordStatus.RUNNING).update(
        status=RecordStatus.WAITING, next_attempt_at=(now or timezone.now()) + timedelta(seconds=wait),
        error_type=exc.error_type, error_message=storable.clean_text(exc.message)[:4000])
    log.info("record waiting run=%s map=%s key=%s attempt=%s wait=%.1fs reason=%s", record.run_id,
             record.entity_map.name, record.source_key, attempts, wait, exc.error_type)
    # A long wait stays in the database, where the sweeper finds it; a broker message would outlive
    # Redis's visibility timeout.
    return (Decision(retry_in=wait) if wait <= settings.P2C_MAX_COUNTDOWN_SECONDS else Decision()), False


def finish_fields(status: str, *, outcome: str = "", payload: dict | None = None, destination_key: str = "",
                  previous_destination_key: str = "", notes: str = "", message: str = "",
                  error: Fail | None = None, conflict: str = "") -> dict:
    """The columns a record's end sets, for one record or, the same, for each record of a batch."""
    fields = {
        "status": status, "outcome": outcome, "finished_at": timezone.now(), "next_attempt_at": None,
        "error_type": error.error_type if error else "", "error_field": error.field if error else "",
        "error_message": storable.clean_text(error.message if error else message)[:4000], "conflict": conflict,
    }
    if payload is not None:
        fields["payload"] = payload
    if destination_key:
        fields["destination_key"] = destination_key
    if previous_destination_key:
        fields["previous_destination_key"] = previous_destination_key
    if notes:
        fields["notes"] = notes
    return fields


def finish(record: RecordSync, status: str, **outcome) -> None:
    """End the record's attempt; only a record still running (claimed by this attempt) is changed."""
    fields = finish_fields(status, **outcome)
    RecordSync.objects.filter(pk=record.pk, status=RecordStatus.RUNNING).update(**fields)
    log_outcome(record, fields)


def log_outcome(record: RecordSync, fields: dict) -> None:
    error = fields["error_type"]
    log.info("record %s run=%s map=%s key=%s outcome=%s%s", fields["status"], record.run_id, record.entity_map.name,
             record.source_key, fields["outcome"] or "-",
             f" error={mapping.error_text(fields['error_field'], fields['error_message'])}" if error else "")
