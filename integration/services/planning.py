"""Planning a stage: read the source's change feed page by page, write one row per changed record, queue them.

Rows are written before their messages are published (on commit), a page at a time, so memory stays flat and a
worker never looks for a row that is not there. Planning is idempotent: rows are upserted by (stage, key), so a
stage whose planner died can simply be planned again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connectors import Change, ChangeTrackingExpiredError, ConnectorError, ThrottledError, TransientError
from integration import mapping, storable
from integration.models import (
    ChangeCursor,
    ChangeDetection,
    EntityMap,
    RecordStatus,
    RecordSync,
    RunStatus,
    StageStatus,
    SyncRun,
    SyncStage,
)
from integration.services import adapter, binder, failing, two_way
from integration.services.contexts import map_context
from integration.services.dispatch import stage_records_queue

log = logging.getLogger(__name__)


class PlanningFailed(Exception):
    """The source refused the stage's reads (refused, misconfigured); the run goes on without it."""


class PlanningInterrupted(Exception):
    """Passing trouble stopped the stage's reads (the service throttled or unavailable past the connector's own
    retries, the shared rate limiter's Redis gone for a moment): planning is idempotent, so it is done again."""


def stage_plan(*, stage: SyncStage) -> None:
    """Read the stage's changes and queue one record sync per changed, eligible record."""
    entity_map = stage.entity_map
    cursor = None
    if not stage.full:
        cursor = ChangeCursor.objects.filter(entity_map=entity_map).values_list("value", flat=True).first() or None
    try:
        try:
            next_cursor = _plan_from(stage, cursor)
        except ChangeTrackingExpiredError:
            log.warning("delta link expired run=%s entity_map=%s: reading everything again", stage.run_id,
                        entity_map.name)
            cursor, next_cursor = None, _plan_from(stage, None)
        if cursor is not None and entity_map.change_detection != ChangeDetection.FULL_SCAN:
            _plan_children_of_new_parents(stage)
    except (ThrottledError, TransientError) as exc:
        raise PlanningInterrupted(f"reading {entity_map.source_entity_set} was interrupted: {exc}") from exc
    except ConnectorError as exc:
        raise PlanningFailed(f"reading {entity_map.source_entity_set} failed: {exc}") from exc
    except (mapping.MappingError, ValueError) as exc:
        raise PlanningFailed(f"entity map {entity_map.name} cannot be planned: {exc}") from exc
    SyncStage.objects.filter(pk=stage.pk).update(next_cursor=next_cursor or "")


def _plan_from(stage: SyncStage, cursor: str | None) -> str | None:
    entity_map = stage.entity_map
    definition = map_context(entity_map.pk, stage.run_id).definition
    full_scan = entity_map.change_detection == ChangeDetection.FULL_SCAN
    read = adapter.read_changes(entity_map, cursor=cursor)
    # Only a full scan needs the keys it has seen (what it did not see was deleted): a set of every key of an entity
    # set grows with it, so the change feeds, whose reads return a record once, go without.
    seen: set[str] | None = set() if full_scan else None
    for changes in read:
        if SyncRun.objects.filter(pk=stage.run_id, status=RunStatus.CANCELLED).exists():
            return cursor  # a cancelled run moves no cursor
        _plan_page(stage, definition, changes, seen, compare_hashes=full_scan and not stage.full)
    if seen is not None:
        _plan_source_deletes(stage, seen)
    return read.cursor


@dataclass
class PageWork:
    """What one page of a change feed asks of a run: the records to upsert (source key -> source id and the record
    as it can be stored), those refused because their key or id cannot be stored (key -> the record as read and
    as prepared), the source ids deleted, and how many records it read, found ineligible and found to be echoes."""

    upserts: dict[str, tuple[str, storable.Prepared]]
    refused: dict[str, tuple[dict, storable.Prepared]]
    deleted_ids: list[str]
    read: int
    ineligible: int
    echoed: int = 0


def page_work(*, entity_map: EntityMap, definition: mapping.MapDefinition, changes: Iterable[Change],
              seen: set[str] | None, compare_hashes: bool, skip_unchanged_failures: bool) -> PageWork:
    """Which changes of a page become work: eligible ones, once each, and (with `compare_hashes`) only those whose
    content differs from what was last synced; with `skip_unchanged_failures`, not the records still failing
    with the content they failed with (services.failing). Runs and dry runs plan alike through it."""
    ineligible = read = 0
    upserts: dict[str, tuple[str, storable.Prepared]] = {}
    refused: dict[str, tuple[dict, storable.Prepared]] = {}
    deleted_ids: list[str] = []
    for change in changes:
        read += 1
        if change.deleted:
            deleted_ids.extend(str(value).lower() for value in change.key.values() if value)
            continue
        # What the database cannot store is dealt with here, record by record: one NUL character must not fail
        # the insert of its whole chunk, at every re-plan.
        prepared = storable.prepare(definition, change.row)
        try:
            reason = mapping.ineligibility(definition, prepared.record)
            key = mapping.source_key(definition, prepared.record)
        except mapping.MappingError as exc:
            reason = str(exc)
        if reason:
            ineligible += 1
            continue
        if seen is not None:
            if key in seen:
                continue  # the same record twice in one scan (rows moving between pages): the first is as good
            seen.add(key)
        if prepared.refusal:
            refused[storable.identity_text(mapping.source_key(definition, change.row))] = (change.row, prepared)
            continue
        upserts[key] = (mapping.source_id(definition, prepared.record).lower(), prepared)
    if compare_hashes and upserts:
        # A full scan returns everything; only records whose content differs from what was last synced go on.
        known = binder.source_hashes(entity_map=entity_map, source_keys=upserts)
        upserts = {key: value for key, value in upserts.items()
                   if known.get(key) != mapping.record_hash(value[1].record)}
    if skip_unchanged_failures and (upserts or refused):
        records = {**{key: prepared.record for key, (_, prepared) in refused.items()},
                   **{key: prepared.record for key, (_, prepared) in upserts.items()}}
        left_out = failing.unchanged_failures(entity_map=entity_map, records=records)
        upserts = {key: value for key, value in upserts.items() if key not in left_out}
        refused = {key: value for key, value in refused.items() if key not in left_out}
    # A record the other map of a two-way pair wrote, read back unchanged, is its echo: it goes no further.
    echoed = two_way.echoes(entity_map=entity_map, records={key: value[1].record for key, value in upserts.items()})
    upserts = {key: value for key, value in upserts.items() if key not in echoed}
    return PageWork(upserts, refused, deleted_ids, read, ineligible, len(echoed))


def _plan_page(stage: SyncStage, definition: mapping.MapDefinition, changes: Iterable[Change],
               seen: set[str] | None, *, compare_hashes: bool) -> None:
    entity_map = stage.entity_map
    work = page_work(entity_map=entity_map, definition=definition, changes=changes, seen=seen,
                     compare_hashes=compare_hashes, skip_unchanged_failures=not stage.full)
    rows = [RecordSync(run_id=stage.run_id, stage=stage, entity_map=entity_map, source_key=key, source_id=source_id,
                       snapshot=prepared.record, notes=prepared.note)
            for key, (source_id, prepared) in work.upserts.items()]
    rows.extend(_refused(stage, definition, raw, prepared) for key, (raw, prepared) in work.refused.items()
                if key not in work.upserts)
    if work.deleted_ids:
        links = binder.linked_by_source_ids(entity_map=entity_map, source_ids=work.deleted_ids)
        rows.extend(RecordSync(run_id=stage.run_id, stage=stage, entity_map=entity_map, source_key=key,
                               source_id=source_id, operation=RecordSync.Operation.DELETE) for key, source_id in links)
    _insert_and_queue(stage, rows, read=work.read, ineligible=work.ineligible, echoed=work.echoed)


def _plan_children_of_new_parents(stage: SyncStage) -> None:
    """A record read while its parent was not synced was skipped (a lookup that skips: the lines of a draft
    order). Its parent, created later (the order activated), does not make the record change, so no change feed
    returns it again: the records of the parents created since this map last read its changes are read now."""
    entity_map = stage.entity_map
    since = _last_read_started(stage)
    if since is None:
        return
    definition = map_context(entity_map.pk, stage.run_id).definition
    parent_fields = {(rule.source, tuple(rule.options["lookup"]["entity_maps"])) for rule in definition.fields
                     if rule.transforms and rule.transforms[0] == "lookup" and rule.source
                     and rule.options["lookup"].get("when_missing") == "skip"
                     and rule.options["lookup"].get("match", "source_id") == "source_id"}
    for field, parent_maps in sorted(parent_fields):
        parents = set(RecordSync.objects.filter(
            entity_map__project_id=entity_map.project_id, entity_map__name__in=parent_maps,
            outcome=RecordSync.Outcome.CREATED, finished_at__gte=since).values_list("source_id", flat=True))
        rows = list(adapter.read_where(entity_map, field=field, ids=sorted(parents))) if parents else []
        keys = {}
        for row in rows:
            try:
                if not mapping.ineligibility(definition, row):
                    keys[mapping.source_key(definition, row)] = row
            except mapping.MappingError:
                continue  # a blank key: the change feed's read already counted it as not eligible
        planned = set(RecordSync.objects.filter(stage=stage, source_key__in=list(keys)).values_list(
            "source_key", flat=True))
        changes = [Change(key={}, row=row) for key, row in keys.items() if key not in planned]
        if changes:
            log.info("re-reading records of new parents run=%s entity_map=%s records=%s", stage.run_id,
                     entity_map.name, len(changes))
            _plan_page(stage, definition, changes, None, compare_hashes=False)


def _last_read_started(stage: SyncStage) -> datetime | None:
    """When the last stage of this map that moved its cursor began to read (less a margin for clocks)."""
    started = SyncStage.objects.filter(
        entity_map_id=stage.entity_map_id, reads_source=True, status__in=(StageStatus.SUCCEEDED, StageStatus.WARNING),
    ).exclude(pk=stage.pk).order_by("-finished_at").values_list("started_at", flat=True).first()
    return started - timedelta(seconds=5) if started else None


def _refused(stage: SyncStage, definition: mapping.MapDefinition, raw: dict,
             prepared: storable.Prepared) -> RecordSync:
    """A failed row for a record whose key or id cannot be stored: its identity spelled out, the field named."""
    field, reason = prepared.refusal
    key = storable.identity_text(mapping.source_key(definition, raw))
    source_id = storable.identity_text(mapping.source_id(definition, raw), storable.ID_LENGTH).lower()
    return RecordSync(run_id=stage.run_id, stage=stage, entity_map=stage.entity_map, source_key=key,
                      source_id=source_id, snapshot=prepared.record, status=RecordStatus.FAILED,
                      finished_at=timezone.now(), error_type="unstorable", error_field=field,
                      error_message=f"{field} {reason}")


def _plan_source_deletes(stage: SyncStage, seen: set[str]) -> None:
    """After a complete full scan: linked records the source no longer has were deleted there."""
    gone = [
        RecordSync(run_id=stage.run_id, stage=stage, entity_map=stage.entity_map, source_key=key, source_id=source_id,
                   operation=RecordSync.Operation.DELETE)
        for key, source_id in binder.live_links(entity_map=stage.entity_map)
        if key not in seen
    ]
    _insert_and_queue(stage, gone, read=0, ineligible=0)


def _insert_and_queue(stage: SyncStage, rows: list[RecordSync], *, read: int, ineligible: int,
                      echoed: int = 0) -> None:
    """Write and queue the rows a chunk per transaction (P2C_PLAN_CHUNK), so workers start on the first rows while
    the rest of the page is written; the page's counts go in with the last chunk."""
    size = settings.P2C_PLAN_CHUNK
    chunks = [rows[start:start + size] for start in range(0, len(rows), size)] or [[]]
    for chunk in chunks[:-1]:
        _insert_chunk(stage, chunk)
    _insert_chunk(stage, chunks[-1], read=read, ineligible=ineligible, echoed=echoed)


def _insert_chunk(stage: SyncStage, rows: list[RecordSync], *, read: int = 0, ineligible: int = 0,
                  echoed: int = 0) -> None:
    now = timezone.now()
    with transaction.atomic():
        if rows:
            for row in rows:
                row.queued_at = now
            created = RecordSync.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["stage", "source_key"],
                update_fields=["snapshot", "operation", "source_id", "queued_at", "notes"])
            pending = [row.pk for row in created if row.pk is not None and row.status == RecordStatus.PENDING]
            stage_records_queue(stage, pending)
        SyncStage.objects.filter(pk=stage.pk).update(
            records_read=F("records_read") + read, records_ineligible=F("records_ineligible") + ineligible,
            records_echoed=F("records_echoed") + echoed, heartbeat_at=now)
