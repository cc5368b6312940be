"""Sync a batch of records of one stage at once: the bulk runs' path. One statement claims and reads the batch
(`claims.py`), one query its links, one its parents' links, each record is mapped on its own, one request writes
them all (a `$batch` in which each record is its own operation), and one transaction writes back every link and
every outcome.

A record's row stays its truth: each one ends with its own outcome, exactly as on the single-record path
(`records.py`), whose steps this reuses. Whatever the batch cannot settle on its own goes back to that path, which
stays the unit of retry: a record throttled or refused for a passing reason, a record whose key changed, a
record that must be looked up before it is created, a guess the service proved wrong (an update of a record it
no longer has, a create of one it already has), and a batch that hit a unique violation while linking.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from connectors.errors import ConnectorError, DuplicateError, NotFoundError
from integration import task_names
from integration.models import RecordStatus, RecordSync
from integration.queueing import enqueue
from integration.services import adapter, binder, claims, records
from integration.services.contexts import map_context
from integration.services.outcomes import (
    Fail,
    RetryLater,
    backoff,
    finish,
    finish_fields,
    log_outcome,
    outcome_of,
    wait_or_fail,
)
from integration.services.resolver import DatabaseResolver
from integration.services.stages import stage_finish_if_done, stages_in_flight

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handoff:
    """Records to queue again, after `countdown` seconds: each alone (the single-record path takes it over), or,
    for a batch the service turned away as a whole (throttled, unavailable), together as the same batch."""

    record_ids: tuple[int, ...]
    countdown: float | None = None
    as_batch: bool = False


def batch_sync(*, record_ids: Sequence[int]) -> list[Handoff]:
    """Sync the records a batch message names, and queue again what it hands off (returned, for the log)."""
    handoffs = _batch_sync(record_ids)
    for handoff in handoffs:
        if handoff.as_batch:
            enqueue(task_names.SYNC_BATCH, list(handoff.record_ids), countdown=handoff.countdown)
        else:
            for record_id in handoff.record_ids:
                enqueue(task_names.SYNC_RECORD, record_id, countdown=handoff.countdown)
    return handoffs


def _batch_sync(record_ids: Sequence[int]) -> list[Handoff]:
    try:
        claimed = claims.claim(record_ids)
    except IntegrityError:  # one of them is being written by another run right now: each goes alone
        return [Handoff(tuple(record_ids))]
    if not claimed:
        return []
    stage_id = claimed[0].stage_id
    stages_in_flight.enter(stage_id)
    try:
        handoffs = _sync(claimed)
    except Exception:  # a bug, a database refusal: the single path, with its own limits, takes every record over
        log.exception("batch raised run=%s stage=%s records=%s", claimed[0].run_id, stage_id, len(claimed))
        handoffs = _release(claimed)
    finally:
        last = stages_in_flight.leave(stage_id)
    if last:
        stage_finish_if_done(stage_id=stage_id)
    return handoffs


def _sync(claimed: list[RecordSync]) -> list[Handoff]:
    context = map_context(claimed[0].entity_map_id, claimed[0].run_id)
    entity_map = context.entity_map
    handoffs: list[Handoff] = []
    alone = [record for record in claimed if record.refresh or record.operation == RecordSync.Operation.DELETE
             or record.attempts > settings.P2C_RECORD_MAX_ATTEMPTS]
    handoffs += _release(alone)
    batch = [record for record in claimed if record not in alone]
    for record in batch:
        record.entity_map = entity_map
    resolver = DatabaseResolver(entity_map=entity_map, organization_mappings=context.organization_mappings,
                                map_ids=context.map_ids)
    resolver.prefetch(context.definition, [record.snapshot or {} for record in batch])
    links = binder.links_of(entity_map=entity_map, records=[(record.source_key, record.source_id) for record in batch])
    changes: list[tuple[RecordSync, records.Change]] = []
    for record in batch:
        change, handoff = _change(record, context.definition, resolver, links.get(record.source_key))
        if change is not None:
            changes.append((record, change))
        if handoff is not None:
            handoffs.append(handoff)
    writable = [(record, change) for record, change in changes if not change.previous]
    handoffs += _release([record for record, change in changes if change.previous])  # a key change goes alone
    if writable:
        handoffs += _write(entity_map, writable)
    return handoffs


def _change(record: RecordSync, definition, resolver, link) -> tuple[records.Change | None, Handoff | None]:
    """The record's change to write, or its end (unchanged, skipped, failed) or its hand-off to wait alone."""
    try:
        records.check_source_id(record)
        mapped = records.map_eligible(record, record.snapshot or {}, definition, resolver)
        if mapped is None:
            return None, None
        return records.change_of(record, record.snapshot or {}, mapped, link), None
    except RetryLater as exc:
        return None, _wait(record, exc)
    except Fail as exc:
        finish(record, RecordStatus.FAILED, error=exc)
        return None, None


def _write(entity_map, writable: list[tuple[RecordSync, records.Change]]) -> list[Handoff]:
    items = [adapter.WriteItem(change.mapped.destination_key, change.mapped.payload, change.link)
             for _, change in writable]
    try:
        results = adapter.write_many(entity_map, items)
    except ConnectorError as exc:  # the whole batch was refused: each record waits, or fails, as one would
        trouble = outcome_of(exc)
        if isinstance(trouble, Fail):
            for record, _ in writable:
                finish(record, RecordStatus.FAILED, error=trouble)
            return []
        # One wait for the whole batch: each record due when the batch's message comes back, not at a jitter of
        # its own that might leave it unclaimable then; one instant and one transaction, so a sweep that finds
        # them due finds all of them and gives them back as the same batch.
        wait = trouble.wait if trouble.wait is not None else backoff(max(record.attempts for record, _ in writable))
        together = RetryLater(trouble.error_type, trouble.message, wait, max_attempts=trouble.max_attempts)
        now = timezone.now()
        with transaction.atomic():
            waiting = [record for record, _ in writable if _wait(record, together, now=now) is not None]
        if not waiting:
            return []
        return [Handoff(tuple(record.pk for record in waiting), wait, as_batch=True)]
    handoffs: list[Handoff] = []
    done: list[tuple[RecordSync, records.Change, adapter.Written]] = []
    for (record, change), result in zip(writable, results, strict=True):
        if isinstance(result, NotFoundError | DuplicateError):
            handoffs += _release([record])  # the first guess was wrong (update vs create): alone, it tries both
        elif isinstance(result, ConnectorError):
            trouble = outcome_of(result)
            if isinstance(trouble, Fail):
                finish(record, RecordStatus.FAILED, error=trouble)
            elif (handoff := _wait(record, trouble)) is not None:
                handoffs.append(handoff)
        else:
            done.append((record, change, result))
    if done:
        handoffs += _link_and_finish(entity_map, done)
    return handoffs


def _link_and_finish(entity_map, done: list[tuple[RecordSync, records.Change, adapter.Written]]) -> list[Handoff]:
    """Every link in one statement and every outcome in another, in one transaction: a worker killed between the
    two leaves neither. A unique violation (another record holds a destination) sends the records alone.

    As `finish` does for one record, only records still running are ended: one that was taken back meanwhile (its
    lease over, its run cancelled) keeps the state it has now. Its link is written all the same, since the
    destination holds what was written."""
    fields = []
    for record, change, result in done:
        values = finish_fields(RecordStatus.SUCCEEDED, **change.outcome(record, result))
        for name, value in values.items():
            setattr(record, name, value)
        fields.append(values)
    try:
        with transaction.atomic():
            binder.bind_many(entity_map=entity_map, values=[change.link_values(result) for _, change, result in done])
            running = set(RecordSync.objects.select_for_update().filter(
                pk__in=[record.pk for record, _, _ in done], status=RecordStatus.RUNNING).values_list("pk", flat=True))
            ended = [(record, values) for (record, _, _), values in zip(done, fields, strict=True)
                     if record.pk in running]
            RecordSync.objects.bulk_update([record for record, _ in ended],
                                           sorted({name for values in fields for name in values}))
    except IntegrityError:
        return _release([record for record, _, _ in done])
    for record, values in ended:
        log_outcome(record, values)
    return []


def _wait(record: RecordSync, trouble: RetryLater, *, now=None) -> Handoff | None:
    """The record waits (or fails, its attempts spent); a wait short enough for the broker is queued now, a longer
    one is found by the sweeper."""
    decision, _ = wait_or_fail(record, trouble, attempts=record.attempts, now=now)
    return Handoff((record.pk,), decision.retry_in) if decision.retry_in is not None else None


def _release(alone: Sequence[RecordSync]) -> list[Handoff]:
    """Hand records to the single-record path: pending again, the batch's attempt not counted."""
    if not alone:
        return []
    RecordSync.objects.filter(pk__in=[record.pk for record in alone], status=RecordStatus.RUNNING).update(
        status=RecordStatus.PENDING, attempts=F("attempts") - 1, queued_at=timezone.now())
    return [Handoff(tuple(record.pk for record in alone))]
