"""Sync one record: claim it, map it, resolve its lookups, skip it when nothing changed, write it, link it.

Every outcome is written to the record's row. Transient trouble (throttling, unavailability, a parent not yet
linked, a lost race on a key link) sends the record back to wait with a backoff; anything else fails the record
alone, with the API's or the mapping's message, and the run goes on. Whatever goes wrong, the record ends: an
unforeseen exception is retried a few times and then fails the record with its type and text, and a record whose
attempts never end (its worker died each time) fails once it has had them all, so no record keeps a run open.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from integration import mapping, storable
from integration.conversions import is_guid
from integration.models import KeyChange, KeyLink, RecordStatus, RecordSync, System
from integration.services import adapter, binder, claims, two_way
from integration.services.contexts import MapContext, map_context
from integration.services.failures import failure_text
from integration.services.outcomes import Decision, Fail, RetryLater, call, finish, wait_or_fail
from integration.services.resolver import DatabaseResolver
from integration.services.stages import stage_finish_if_done, stages_in_flight

log = logging.getLogger(__name__)


def record_sync(*, record_id: int) -> Decision:
    """Sync one RecordSync row; safe to call twice for the same row (only one call claims it)."""
    try:
        # A worker that died mid-record leaves it running; once its lease is over, anyone may take it.
        claimed = claims.claim([record_id], take_expired_leases=True)
    except IntegrityError:  # the database's one-writer constraint: another run writes this source record
        return _wait_for_the_other_writer(record_id)
    if not claimed:
        return Decision()
    (record,) = claimed
    stages_in_flight.enter(record.stage_id)
    decision, ended = Decision(), True
    try:
        try:
            context = map_context(record.entity_map_id, record.run_id)
            record.entity_map = context.entity_map  # shared, already loaded with its project and connections
            _sync(record, context)
        except RetryLater as exc:
            decision, ended = wait_or_fail(record, exc)
        except Fail as exc:
            finish(record, RecordStatus.FAILED, error=exc)
        except Exception as exc:  # a bug, a database refusal, a library's surprise: this record alone pays for it
            log.exception("record raised run=%s record=%s key=%s", record.run_id, record.pk, record.source_key)
            unexpected = RetryLater("unexpected", failure_text(exc, project=record.entity_map.project),
                                     max_attempts=settings.P2C_UNEXPECTED_ERROR_ATTEMPTS)
            decision, ended = wait_or_fail(record, unexpected)
    except BaseException:
        stages_in_flight.leave(record.stage_id)  # the record stays open; it asks when it ends
        raise
    if stages_in_flight.leave(record.stage_id) and ended:
        stage_finish_if_done(stage_id=record.stage_id)
    return decision


def _wait_for_the_other_writer(record_id: int) -> Decision:
    """Another run (a webhook's, a bulk run) writes this source record right now. Waiting for it is not an
    attempt: once it has written and linked the record, this one finds the link and updates."""
    row = RecordSync.objects.filter(pk=record_id).values("entity_map_id", "source_key").first()
    if row is None:
        return Decision()
    writer = RecordSync.objects.filter(**row, status=RecordStatus.RUNNING).values_list("run_id", flat=True).first()
    wait = settings.P2C_BUSY_WAIT_SECONDS * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not cryptography
    RecordSync.objects.filter(pk=record_id, status__in=(RecordStatus.PENDING, RecordStatus.WAITING)).update(
        status=RecordStatus.WAITING, next_attempt_at=timezone.now() + timedelta(seconds=wait), error_type="busy",
        error_message=f"run #{writer or '?'} is syncing this record; waiting for it to finish")
    return Decision(retry_in=wait)


def _sync(record: RecordSync, context: MapContext) -> None:
    entity_map = record.entity_map
    definition = context.definition
    if record.attempts > settings.P2C_RECORD_MAX_ATTEMPTS:
        raise Fail("abandoned", f"gave up after {record.attempts - 1} attempts; the last one never ended (its "
                                 "worker stopped or ran out of time)")
    check_source_id(record)
    snapshot = record.snapshot
    if record.refresh:
        snapshot = call(lambda: adapter.read_record(entity_map, source_id=record.source_id,
                                                       key_values=record.snapshot or {}))
        deleting = record.operation == RecordSync.Operation.DELETE
        if (snapshot is None) != deleting:
            # A webhook's body is not trusted: an upsert of a record the source does not hold, or a delete of one
            # it still holds, writes nothing.
            finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED,
                    message="still at the source; the delete is not acted on" if deleting else
                    "not found at the source (deleted, or never there); nothing written")
            return
        if not deleting:
            prepared = storable.prepare(definition, snapshot)
            snapshot, record.notes = prepared.record, prepared.note
            RecordSync.objects.filter(pk=record.pk).update(snapshot=snapshot, refresh=False, notes=record.notes)
            if prepared.refusal:
                raise Fail("unstorable", prepared.refusal[1], field=prepared.refusal[0])
    if record.operation == RecordSync.Operation.DELETE:
        _sync_delete(record)
        return
    _rekey(record, definition, snapshot)
    resolver = DatabaseResolver(entity_map=entity_map, organization_mappings=context.organization_mappings,
                                map_ids=context.map_ids)
    mapped = map_eligible(record, snapshot, definition, resolver)
    if mapped is None:
        return
    link = binder.link_of(entity_map=entity_map, source_key=record.source_key, source_id=record.source_id)
    change = change_of(record, snapshot, mapped, link)
    if change is None:
        return
    if change.renames:
        result = _rename(entity_map, link, mapped, change.previous, change.destination_key)
    else:
        result = call(lambda: adapter.write(entity_map, key=mapped.destination_key, payload=mapped.payload,
                                            link=change.write_link))
    written = call(lambda: two_way.written_snapshot(entity_map=entity_map, run_id=record.run_id, result=result))
    try:
        # One transaction: a worker killed between the two used to leave the link without the outcome, and the
        # next attempt then found its own link and reported "unchanged" for a record this run had written.
        with transaction.atomic():
            binder.bind(entity_map=entity_map, link=link, values=change.link_values(result, written))
            finish(record, RecordStatus.SUCCEEDED, **change.outcome(record, result))
    except IntegrityError:
        raise link_conflict(change.destination_key) from None


def map_eligible(record: RecordSync, snapshot: dict, definition: mapping.MapDefinition,
                 resolver) -> mapping.MappedRecord | None:
    """The record's payload; None when it is not for this map or its parent is skipped (the record is finished
    as skipped). A parent not linked yet waits; a record that cannot be mapped fails, naming the field."""
    reason = mapping.ineligibility(definition, snapshot)
    if reason:
        finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, message=f"not eligible: {reason}")
        return None
    if two_way.is_echo(entity_map=record.entity_map, record=snapshot):
        finish(record, RecordStatus.UNCHANGED, outcome=RecordSync.Outcome.UNCHANGED,
               message=f"p2c's own write through {record.entity_map.reverse_map.name}, read back: not a change")
        return None
    try:
        return call(lambda: mapping.map_record(definition, snapshot, resolver))
    except mapping.MissingLink as exc:
        if exc.when_missing == "skip":
            finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, message=str(exc))
            return None
        raise RetryLater("missing_parent", str(exc), max_attempts=settings.P2C_MISSING_PARENT_ATTEMPTS) from None
    except mapping.MappingError as exc:
        raise _mapping_failure(exc) from None


@dataclass(frozen=True)
class Change:
    """A mapped record that must be written: what to hash, where it goes, and what its link said."""

    source_key: str
    source_id: str
    mapped: mapping.MappedRecord
    link: KeyLink | None
    destination_key: str
    payload_hash: str
    source_hash: str
    previous: str  # the destination key the link had, when the record's key changed
    renames: bool  # the entity map renames on a key change (else: create and report)
    resolution: two_way.Resolution | None = None  # a two-way record changed on both sides, written over the other

    @property
    def write_link(self) -> KeyLink | None:
        """The link the write may trust: none when the key changed (the record is written under its new key)."""
        return None if self.previous else self.link

    def link_values(self, result: adapter.Written, written: dict | None = None) -> dict:
        """`written`: the record as read back after the write, for a two-way flow's reverse map (else empty)."""
        kept = self.link.attributes if self.link is not None and (self.renames or not self.previous) else {}
        return {
            # The natural key the mapping computed identifies the link; the API's own key addresses the record.
            "source_key": self.source_key, "source_id": self.source_id,
            "destination_key": self.destination_key, "destination_key_values": result.key,
            "destination_id": result.destination_id, "attributes": {**kept, **result.attributes},
            "payload_hash": self.payload_hash, "source_hash": self.source_hash, "source_deleted_at": None,
            "written": written or {}, "synced_at": timezone.now(),
        }

    def outcome(self, record: RecordSync, result: adapter.Written) -> dict:
        notes = _key_change_note(record, self.link, self.previous, self.destination_key,
                                 renamed=self.renames) if self.previous else ""
        resolved = self.resolution.note if self.resolution else ""
        return {"outcome": RecordSync.Outcome.CREATED if result.outcome == "created" else RecordSync.Outcome.UPDATED,
                "payload": self.mapped.payload, "destination_key": self.destination_key,
                "previous_destination_key": self.previous,
                "notes": "; ".join(note for note in (record.notes, notes, resolved) if note),
                "conflict": self.resolution.conflict if self.resolution else ""}


def change_of(record: RecordSync, snapshot: dict, mapped: mapping.MappedRecord,
              link: KeyLink | None) -> Change | None:
    """What writing the record means; None when it is not to be written (the record is then finished): nothing
    changed since it was last written, the map creates only and the destination has the record, or it changed
    on both sides of a two-way flow and the other side is the system of record (`two_way`). A link whose
    destination key differs means the record's key changed since it was written (a new account number; another
    legal entity): writing by the new key alone would leave the old record behind unsaid, so the entity map's
    `on_key_change` decides."""
    entity_map = record.entity_map
    payload_hash = mapping.payload_hash(mapped.payload)
    destination_key = mapping.destination_key_text(mapped.destination_key)
    source_hash = mapping.record_hash(snapshot)
    previous = link.destination_key if link is not None and link.destination_key != destination_key else ""
    if link is not None and not previous and link.payload_hash == payload_hash and link.source_deleted_at is None:
        binder.rebind_unchanged(link=link, source_key=record.source_key, source_hash=source_hash)
        finish(record, RecordStatus.UNCHANGED, outcome=RecordSync.Outcome.UNCHANGED, payload=mapped.payload,
               destination_key=destination_key)
        return None
    counterpart = two_way.counterpart_link(entity_map=entity_map, record=snapshot) if link is None else None
    if entity_map.create_only and (link is not None or counterpart is not None):
        if link is not None:
            binder.rebind_unchanged(link=link, source_key=record.source_key, source_hash=source_hash)
        origin = "p2c created it there" if link is not None else f"it came from there ({counterpart.source_key})"
        finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, payload=mapped.payload,
               destination_key=destination_key,
               message=f"not written: {entity_map.name} creates only, and the destination has had this record since "
                       f"{origin}; later changes flow from there, not to it")
        return None
    resolution = call(lambda: two_way.resolution(record=record, mapped=mapped, link=link, counterpart=counterpart))
    if resolution is not None and not resolution.writes:
        finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, payload=mapped.payload,
               destination_key=destination_key, message=resolution.note, conflict=resolution.conflict)
        return None
    renames = bool(previous) and entity_map.on_key_change == KeyChange.RENAME
    return Change(record.source_key, record.source_id, mapped, link, destination_key, payload_hash, source_hash,
                  previous, renames, resolution)


def _mapping_failure(exc: mapping.MappingError) -> Fail:
    """The row names the record and `error_field` the field, so the message says only why (mapping.error_text
    puts the two together wherever a failure is shown)."""
    return Fail("mapping", exc.reason, field=exc.field)


def link_conflict(destination_key: str) -> RetryLater:
    """Another record holds this destination, or a concurrent sync of this one won the race: try again."""
    return RetryLater("link_conflict", f"destination {destination_key} is being linked concurrently or is linked "
                                       "to another source record", max_attempts=3)


def _rename(entity_map, link: KeyLink, mapped: mapping.MappedRecord, previous: str,
            destination_key: str) -> adapter.Written:
    try:
        return call(lambda: adapter.rename(entity_map, link=link, payload=mapped.payload))
    except Fail as exc:
        raise Fail(exc.error_type, f"renaming {previous} to {destination_key} (the entity map renames on a key "
                                    f"change): {exc.message}", exc.field) from None


def _key_change_note(record: RecordSync, link: KeyLink, previous: str, destination_key: str, *,
                     renamed: bool) -> str:
    change = (f"source key {link.source_key} became {record.source_key}" if link.source_key != record.source_key
              else "the destination key changed")
    if renamed:
        return f"{change}: {previous} was renamed to {destination_key}"
    return (f"{change}: {destination_key} was written and {previous} is left in place, no longer linked "
            "(the entity map creates and reports on a key change)")


def check_source_id(record: RecordSync) -> None:
    """A Dataverse record's id is a GUID; anything else (a mangled or forged notification) names no record."""
    entity_map = record.entity_map
    if record.source_id and adapter.source_connection(entity_map).system == System.DATAVERSE \
            and not is_guid(record.source_id):
        raise Fail("invalid_id", f"the source id {storable.identity_text(record.source_id, 80)!r} is not a GUID",
                    field=entity_map.source_id_field)


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
        if RecordSync.objects.filter(stage_id=record.stage_id, source_key=key).exists():
            raise Fail("duplicate_row", f"this run already syncs {key} in another row") from None
        raise RetryLater("busy", f"another run is syncing {key}; waiting for it to finish",
                          wait=settings.P2C_BUSY_WAIT_SECONDS * random.uniform(0.5, 1.5)) from None  # noqa: S311
    record.source_key = key


def _sync_delete(record: RecordSync) -> None:
    """A record deleted at the source: noted on its link, and deleted at the destination only if the map says so."""
    entity_map = record.entity_map
    link = binder.link_by_key(entity_map=entity_map, source_key=record.source_key)
    if link is None:
        finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED,
                message="deleted at the source; it was never synced")
        return
    if entity_map.propagate_deletes:
        call(lambda: adapter.delete(entity_map, link=link))
        with transaction.atomic():  # as for a write: the link goes with the outcome, or neither does
            binder.unbind(link=link)
            finish(record, RecordStatus.SUCCEEDED, outcome=RecordSync.Outcome.DELETED,
                    destination_key=link.destination_key)
        return
    binder.note_source_deleted(link=link)
    finish(record, RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, destination_key=link.destination_key,
            message="deleted at the source; the destination record is kept (deletes are not propagated)")
