"""Turn an error response into a typed error, one function per API, reading the body and the status together.

The status alone misleads: Dataverse answers both a duplicate and a stale ETag with 412, and F&O answers both a
validation failure and a duplicate create with 500, neither of which a retry can fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.errors import (
    AuthError,
    ChangeTrackingExpiredError,
    ConflictError,
    ConnectorError,
    DuplicateError,
    NotFoundError,
    ThrottledError,
    TransientError,
    ValidationError,
)

# Dataverse error codes (data-service error list), compared in lowercase hex.
DATAVERSE_DUPLICATE_CODES = frozenset({"0x80040237", "0x80060892"})  # DuplicateRecord, DuplicateRecordEntityKey
DATAVERSE_NOT_FOUND_CODES = frozenset({"0x80040217", "0x80060891"})  # ObjectDoesNotExist, RecordNotFoundByEntityKey
DATAVERSE_CONCURRENCY_CODES = frozenset({"0x80060882"})  # ConcurrencyVersionMismatch
DATAVERSE_THROTTLE_CODES = frozenset({"0x80072322", "0x80072321", "0x80072326"})  # requests, time, concurrency
DATAVERSE_EXPIRED_CODES = frozenset({"0x80044352"})  # ExpiredVersionStamp: "Please perform a full sync."
_EXPIRED_TRACKING = re.compile(r"(delta|change ?tracking|version|sync).{0,80}expired|expired.{0,80}(delta|change "
                               r"?tracking|version|sync)", re.IGNORECASE | re.DOTALL)
_DUPLICATE_TEXT = re.compile(r"already exists|duplicate key|matching key values", re.IGNORECASE)
_FINOPS_WRITE_FAILURE = re.compile(r"WriteException|ValidateException|Infolog", re.IGNORECASE)


def classify_dataverse(status: int, headers: Mapping[str, str], body: Any, *, entity_set: str = "",
                       key: Any = None) -> ConnectorError:
    """The error a Dataverse Web API response stands for (`body` is the parsed JSON, or the raw text)."""
    code, message, _ = _error_fields(body, status)
    context = {"status": status, "code": code, "entity_set": entity_set, "key": key}
    if status == 429 or code in DATAVERSE_THROTTLE_CODES:
        return ThrottledError(message, retry_after=retry_after_seconds(headers), **context)
    if status in (401, 403):
        return AuthError(message, **context)
    if code in DATAVERSE_EXPIRED_CODES or _EXPIRED_TRACKING.search(message):
        return ChangeTrackingExpiredError(message, **context)
    if code in DATAVERSE_DUPLICATE_CODES or (status == 412 and _DUPLICATE_TEXT.search(message)):
        return DuplicateError(message, **context)
    if status in (409, 412) or code in DATAVERSE_CONCURRENCY_CODES:
        return ConflictError(message, **context)
    if status == 404 or code in DATAVERSE_NOT_FOUND_CODES:
        return NotFoundError(message, **context)
    if status >= 500 and status != 501:
        return TransientError(message, **context)
    return ValidationError(message, **context)


def classify_finops(status: int, headers: Mapping[str, str], body: Any, *, entity_set: str = "",
                    key: Any = None) -> ConnectorError:
    """The error an F&O OData response stands for; the Infolog text in `innererror` is the message."""
    code, message, inner_type = _error_fields(body, status)
    context = {"status": status, "code": code, "entity_set": entity_set, "key": key}
    if status == 429:
        return ThrottledError(message, retry_after=retry_after_seconds(headers), **context)
    if status in (401, 403):
        return AuthError(message, **context)
    if status == 404:
        return NotFoundError(message, **context)
    if status in (409, 412):
        return ConflictError(message, **context)
    if _DUPLICATE_TEXT.search(message):
        return DuplicateError(message, **context)
    if status == 500 and (_FINOPS_WRITE_FAILURE.search(inner_type) or _FINOPS_WRITE_FAILURE.search(message)):
        return ValidationError(message, **context)
    if status >= 500 and status != 501:
        return TransientError(message, **context)
    return ValidationError(message, **context)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds; both APIs send an integer. None when it is missing or not a number."""
    value = (headers.get("Retry-After") or "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _error_fields(body: Any, status: int) -> tuple[str, str, str]:
    """(code, message, inner type) from `{"error": {"code", "message", "innererror": {...}}}`, leniently."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        return "", text.strip()[:2000] or f"HTTP {status} without an error body", ""
    inner = error.get("innererror") if isinstance(error.get("innererror"), dict) else {}
    message = str(inner.get("message") or "").strip() or str(error.get("message") or "").strip()
    return _normalize_code(error.get("code")), message or f"HTTP {status}", str(inner.get("type") or "")


def _normalize_code(code: Any) -> str:
    """Dataverse codes come as hex ("0x80040237") or, in places, as signed decimals; compare them as hex."""
    text = str(code or "").strip()
    if re.fullmatch(r"-?\d+", text):
        return f"0x{int(text) & 0xFFFFFFFF:08x}"
    return text.lower()
