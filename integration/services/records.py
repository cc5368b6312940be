"""Sync one record: claim it, map it, resolve its lookups, skip it when nothing changed, write it, link it.

Every outcome is written to the record's row. Transient trouble (throttling, unavailability, a parent not yet
linked, a lost race on a key link) sends the record back to wait with a backoff; anything else fails the record
alone, with the API's or the mapping's message, and the run goes on.
"""

from __future__ import annotations

import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from connectors.errors import ConnectorError, ThrottledError, TransientError
from integration import mapping
from integration.models import KeyLink, RecordStatus, RecordSync
from integration.services import endpoints
from integration.services.contexts import MapContext, map_context
from integration.services.resolver import DatabaseResolver
from integration.services.stages import stage_finish_if_done, stages_in_flight

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """What the task should do next: nothing, or deliver the record again after `retry_in` seconds."""

    retry_in: float | None = None


class _RetryLater(Exception):
    def __init__(self, error_type: str, message: str, wait: float | None = None, *, max_attempts: int | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.wait = wait
        self.max_attempts = max_attempts


class _Fail(Exception):
    def __init__(self, error_type: str, message: str, field: str = ""):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.field = field


def record_sync(*, record_id: int) -> Decision:
    """Sync one RecordSync row; safe to call twice for the same row (only one call claims it)."""
    if not _claim(record_id):
        return Decision()
    record = RecordSync.objects.defer("payload").get(pk=record_id)
    context = map_context(record.entity_map_id, record.run_id)
    record.entity_map = context.entity_map  # shared, already loaded with its project and connections
    stages_in_flight.enter(record.stage_id)
    decision, ended = Decision(), True
    try:
        try:
            _sync(record, context)
        except _RetryLater as exc:
            decision, ended = _wait_or_fail(record, exc)
        except _Fail as exc:
            _finish(record, RecordStatus.FAILED, error=exc)
    except BaseException:
        stages_in_flight.leave(record.stage_id)  # the record stays open; it asks when it ends
        raise
    if stages_in_flight.leave(record.stage_id) and ended:
        stage_finish_if_done(stage_id=record.stage_id)
    return decision


def _claim(record_id: int) -> bool:
    now = timezone.now()
    lease_expired = now - timedelta(seconds=settings.P2C_RECORD_LEASE_SECONDS)
    claimable = (
        Q(status=RecordStatus.PENDING)
        | Q(status=RecordStatus.WAITING, next_attempt_at__lte=now + timedelta(seconds=1))
        # A worker that died mid-record leaves it running; once its lease is over, anyone may take it.
        | Q(status=RecordStatus.RUNNING, claimed_at__lt=lease_expired)
    )
    return RecordSync.objects.filter(Q(pk=record_id) & claimable).update(
        status=RecordStatus.RUNNING, claimed_at=now, attempts=F("attempts") + 1) == 1


def _sync(record: RecordSync, context: MapContext) -> None:
    entity_map = record.entity_map
    definition = context.definition
    snapshot = record.snapshot
    if record.refresh:
        snapshot = _call(lambda: endpoints.read_record(entity_map, source_id=record.source_id,
                                                       key_values=record.snapshot or {}))
        deleting = record.operation == RecordSync.Operation.DELETE
        if (snapshot is None) != deleting:
            # A webhook's body is not trusted: an upsert of a record the source does not hold, or a delete of one
            # it still holds, writes nothing.
            _finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED,
                    message="still at the source; the delete is not acted on" if deleting else
                    "not found at the source (deleted, or never there); nothing written")
            return
        RecordSync.objects.filter(pk=record.pk).update(snapshot=snapshot, refresh=False)
    if record.operation == RecordSync.Operation.DELETE:
        _sync_delete(record)
        return
    reason = mapping.ineligibility(definition, snapshot)
    if reason:
        _finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, message=f"not eligible: {reason}")
        return
    _rekey(record, definition, snapshot)
    try:
        resolver = DatabaseResolver(entity_map=entity_map, organization_mappings=context.organization_mappings,
                                    map_ids=context.map_ids)
        mapped = mapping.map_record(definition, snapshot, resolver)
    except mapping.MissingLink as exc:
        if exc.when_missing == "skip":
            _finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, message=str(exc))
            return
        raise _RetryLater("missing_parent", str(exc), max_attempts=settings.P2C_MISSING_PARENT_ATTEMPTS) from None
    except mapping.MappingError as exc:
        raise _mapping_failure(exc) from None

    payload_hash = mapping.payload_hash(mapped.payload)
    destination_key = mapping.destination_key_text(mapped.destination_key)
    link = KeyLink.objects.filter(entity_map=entity_map, source_key=record.source_key).first()
    source_hash = mapping.record_hash(snapshot)
    if link and link.payload_hash == payload_hash and link.destination_key == destination_key \
            and link.source_deleted_at is None:
        if link.source_hash != source_hash:
            KeyLink.objects.filter(pk=link.pk).update(source_hash=source_hash)
        _finish(record, RecordStatus.UNCHANGED, outcome=RecordSync.Outcome.UNCHANGED, payload=mapped.payload,
                destination_key=destination_key)
        return

    result = _call(lambda: endpoints.write(entity_map, key=mapped.destination_key, payload=mapped.payload,
                                           link=link))
    attributes = {**(link.attributes if link else {}), **result.attributes}
    values = {
        # The natural key the mapping computed identifies the link; the API's own key addresses the record.
        "source_id": record.source_id, "destination_key": destination_key, "destination_key_values": result.key,
        "destination_id": result.destination_id, "attributes": attributes, "payload_hash": payload_hash,
        "source_hash": source_hash, "source_deleted_at": None, "synced_at": timezone.now(),
    }
    try:
        with _savepoint():
            if link is None or not KeyLink.objects.filter(pk=link.pk).update(**values):
                KeyLink.objects.create(entity_map=entity_map, source_key=record.source_key, **values)
    except IntegrityError:
        # Another record holds this destination, or a concurrent sync of this one won the race: try again.
        raise _RetryLater("link_conflict", f"destination {destination_key} is being linked concurrently "
                          "or is linked to another source record", max_attempts=3) from None
    outcome = RecordSync.Outcome.CREATED if result.outcome == "created" else RecordSync.Outcome.UPDATED
    _finish(record, RecordStatus.SUCCEEDED, outcome=outcome, payload=mapped.payload, destination_key=destination_key)


def _mapping_failure(exc: mapping.MappingError) -> _Fail:
    """The row names the record and `error_field` the field, so the message says only why (mapping.error_text
    puts the two together wherever a failure is shown)."""
    return _Fail("mapping", exc.reason, field=exc.field)


def _rekey(record: RecordSync, definition: mapping.MapDefinition, snapshot: dict) -> None:
    """A row queued before its key was known (a webhook for a record never synced carries only its id) takes
    the key of the record as it was read."""
    try:
        key = mapping.source_key(definition, snapshot)
    except mapping.MappingError as exc:
        raise _mapping_failure(exc) from None
    if key == record.source_key:
        return
    try:
        with transaction.atomic():
            RecordSync.objects.filter(pk=record.pk).update(source_key=key)
    except IntegrityError:
        raise _Fail("duplicate_row", f"this run already syncs {key} in another row") from None
    record.source_key = key


def _sync_delete(record: RecordSync) -> None:
    """A record deleted at the source: noted on its link, and deleted at the destination only if the map says so."""
    entity_map = record.entity_map
    link = KeyLink.objects.filter(entity_map=entity_map, source_key=record.source_key).first()
    if link is None:
        _finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED,
                message="deleted at the source; it was never synced")
        return
    if entity_map.propagate_deletes:
        _call(lambda: endpoints.delete(entity_map, link=link))
        link.delete()
        _finish(record, RecordStatus.SUCCEEDED, outcome=RecordSync.Outcome.DELETED,
                destination_key=link.destination_key)
        return
    KeyLink.objects.filter(pk=link.pk).update(source_deleted_at=timezone.now())
    _finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, destination_key=link.destination_key,
            message="deleted at the source; the destination record is kept (deletes are not propagated)")


def _savepoint():
    """Inside a caller's transaction, a savepoint keeps it usable after a unique violation. Outside one (a task),
    each statement commits on its own; a BEGIN and COMMIT around them would cost two round trips per record."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def _call(operation):
    """Run a connector call, turning its errors into a retry or a failure of this record."""
    try:
        return operation()
    except ThrottledError as exc:
        raise _RetryLater("throttled", exc.message, wait=exc.retry_after) from None
    except TransientError as exc:
        raise _RetryLater("transient", exc.message) from None
    except ConnectorError as exc:
        raise _Fail(type(exc).__name__, exc.message) from None


def _wait_or_fail(record: RecordSync, exc: _RetryLater) -> tuple[Decision, bool]:
    """Send the record back to wait, or fail it when it had its attempts; also says whether it ended."""
    attempts = RecordSync.objects.values_list("attempts", flat=True).get(pk=record.pk)
    limit = exc.max_attempts or settings.P2C_RECORD_MAX_ATTEMPTS
    if attempts >= limit:
        message = f"gave up after {attempts} attempts: {exc.message}"
        _finish(record, RecordStatus.FAILED, error=_Fail(exc.error_type, message))
        return Decision(), True
    wait = exc.wait if exc.wait is not None else backoff(attempts)
    RecordSync.objects.filter(pk=record.pk, status=RecordStatus.RUNNING).update(
        status=RecordStatus.WAITING, next_attempt_at=timezone.now() + timedelta(seconds=wait),
        error_type=exc.error_type, error_message=exc.message[:4000])
    log.info("record waiting run=%s map=%s key=%s attempt=%s wait=%.1fs reason=%s", record.run_id,
             record.entity_map.name, record.source_key, attempts, wait, exc.error_type)
    # A long wait stays in the database, where the sweeper finds it; a broker message would outlive
    # Redis's visibility timeout.
    return (Decision(retry_in=wait) if wait <= settings.P2C_MAX_COUNTDOWN_SECONDS else Decision()), False


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(settings.P2C_BACKOFF_MAX_SECONDS, settings.P2C_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


def _finish(record: RecordSync, status: str, *, outcome: str = "", payload: dict | None = None,
            destination_key: str = "", message: str = "", error: _Fail | None = None) -> None:
    fields = {
        "status": status, "outcome": outcome, "finished_at": timezone.now(), "next_attempt_at": None,
        "error_type": error.error_type if error else "", "error_field": error.field if error else "",
        "error_message": (error.message if error else message)[:4000],
    }
    if payload is not None:
        fields["payload"] = payload
    if destination_key:
        fields["destination_key"] = destination_key
    RecordSync.objects.filter(pk=record.pk, status=RecordStatus.RUNNING).update(**fields)
    log.info("record %s run=%s map=%s key=%s outcome=%s%s", status, record.run_id, record.entity_map.name,
             record.source_key, outcome or "-",
             f" error={mapping.error_text(error.field, fields['error_message'])}" if error else "")
