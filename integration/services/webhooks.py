"""Dataverse webhooks: check the shared secret, then turn one change into a one-record run, once.

The request must be answered quickly (Dataverse waits 60 s at most and retries only on 502/503/504), so this
only plans: it decides which entity maps read the changed table, takes the record from the post image when the
image holds every field a map reads (else the engine re-reads it by id), and queues a run. Delivery is at least
once, so a redelivery of the same operation is recognised and answered without a second run; deliveries are not
an export mechanism, and scheduled incremental runs still reconcile whatever a webhook missed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from integration import mapping
from integration.definitions import map_definition
from integration.models import Direction, EntityMap, KeyLink, Project, RecordSync, SyncRun, WebhookDelivery
from integration.services import runs
from integration.webhook_context import EMPTY_GUID, MESSAGES, ExecutionContext, parse_context

log = logging.getLogger(__name__)

# Compared against when the project does not exist or has no secret, so every rejection costs the same.
_UNMATCHABLE = hashlib.sha256(b"p2c: no webhook secret").hexdigest()


class WebhookUnauthorized(Exception):
    """A wrong or missing secret, an unknown project, or a project that accepts no webhooks: all look the same."""


@dataclass(frozen=True)
class WebhookOutcome:
    status: str  # queued, duplicate or ignored
    note: str
    run: SyncRun | None = None


def webhook_authenticate(*, project_name: str, presented: str | None) -> Project:
    """The project whose secret matches, compared in constant time; anything else is one indistinct refusal."""
    project = Project.objects.filter(name=project_name).first()
    expected = (project.webhook_secret if project is not None else "") or _UNMATCHABLE
    matches = hmac.compare_digest((presented or "").encode(), expected.encode())
    if project is None or not project.webhook_secret or not presented or not matches:
        raise WebhookUnauthorized("unauthorized")
    return project


def delivery_key(context: ExecutionContext, body: Mapping) -> str:
    """The identity of one operation on one record: a redelivery carries the same context, hence the same key.

    Without an operation id (some synchronous steps send the empty GUID) the body itself is the identity,
    which a redelivery repeats byte for byte.
    """
    parts = [context.operation_id, context.correlation_id, context.message, context.entity, context.record_id]
    if context.operation_id in ("", EMPTY_GUID):
        parts.append(hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def webhook_receive(*, project: Project, body: object, size_exceeded: bool = False) -> WebhookOutcome:
    """Queue a one-record run for a change Dataverse reported, unless it was already queued or concerns no map.

    Raises `ContextInvalid` when the body is not a RemoteExecutionContext.
    """
    context = parse_context(body)
    if context.message not in MESSAGES:
        return WebhookOutcome("ignored", f"message {context.message} is not synced (only {', '.join(MESSAGES)})")
    maps = list(project.entity_maps.filter(enabled=True, direction=Direction.SALES_TO_FINOPS,
                                           source_entity_set=context.entity_set).order_by("order", "id"))
    if not maps:
        return WebhookOutcome("ignored", f"no enabled entity map of project {project.name} reads "
                                         f"{context.entity_set}; nothing to do")
    if project.paused:
        return WebhookOutcome("ignored", f"project {project.name} is paused; its next run after it is resumed "
                                         "picks the change up")
    key = delivery_key(context, body)
    earlier = WebhookDelivery.objects.filter(project=project, key=key).select_related("run").first()
    if earlier is not None:
        return WebhookOutcome("duplicate", "this delivery was received before", earlier.run)
    records = [record for entity_map in maps
               if (record := _record(entity_map, context, size_exceeded=size_exceeded)) is not None]
    if not records:
        return WebhookOutcome("ignored", f"{context.entity} {context.record_id} was never synced; "
                                         "nothing to delete")
    try:
        with transaction.atomic():
            run = runs.run_start_given(project=project, mode=SyncRun.Mode.RECORD, trigger=SyncRun.Trigger.WEBHOOK,
                                       records=records, requested_by="dataverse webhook")
            WebhookDelivery.objects.create(project=project, key=key, message=context.message,
                                           entity=context.entity, record_id=context.record_id, run=run)
    except IntegrityError:
        # A redelivery raced this one and won; its run is the one.
        earlier = WebhookDelivery.objects.filter(project=project, key=key).select_related("run").first()
        if earlier is None:
            raise
        return WebhookOutcome("duplicate", "this delivery was received before", earlier.run)
    log.info("webhook queued run=%s project=%s message=%s entity=%s id=%s maps=%s from=%s", run.pk, project.name,
             context.message, context.entity, context.record_id, ",".join(m.name for m in maps),
             "refresh" if any(r.refresh for r in records) else "image")
    return WebhookOutcome("queued", f"{context.message} of {context.entity} {context.record_id} queued", run)


def _record(entity_map: EntityMap, context: ExecutionContext, *, size_exceeded: bool) -> RecordSync | None:
    """The unsaved row for one map: a delete of the linked record, or an upsert from the image or a re-read.

    None for a delete of a record never synced. A re-read of a record never synced whose key the notification
    does not carry is queued under its id; the engine gives the row its key once it has read the record.
    """
    link = KeyLink.objects.filter(entity_map=entity_map, source_id=context.record_id).only("source_key").first()
    if context.message == "Delete":
        if link is None:
            return None
        return RecordSync(entity_map=entity_map, source_key=link.source_key, source_id=context.record_id,
                          operation=RecordSync.Operation.DELETE)
    definition = map_definition(entity_map)
    needed = mapping.source_fields(definition)
    snapshot = _snapshot(context, entity_map, needed, size_exceeded=size_exceeded)
    if snapshot is not None and all(name in snapshot for name in needed):
        try:
            source_key = mapping.source_key(definition, snapshot)
        except mapping.MappingError:
            # A blank key fails the record in the engine with the mapping's own message, where people look.
            source_key = link.source_key if link else context.record_id
        return RecordSync(entity_map=entity_map, source_key=source_key, source_id=context.record_id,
                          snapshot=snapshot)
    source_key = link.source_key if link else _key_in(definition, snapshot or context.post_image or context.target)
    return RecordSync(entity_map=entity_map, source_key=source_key or context.record_id, source_id=context.record_id,
                      refresh=True)


def _snapshot(context: ExecutionContext, entity_map: EntityMap, needed: tuple[str, ...], *,
              size_exceeded: bool) -> dict | None:
    """The record as the Web API would return it, from the post image (or a Create's full Target); None when
    Dataverse stripped the images (a payload over 256 KB) or sent none."""
    if size_exceeded:
        return None
    record = context.post_image
    if record is None and context.message == "Create":
        record = context.target
    if record is None:
        return None
    record = dict(record)
    if entity_map.source_id_field:
        record[entity_map.source_id_field] = context.record_id
    for name in needed:
        # An empty lookup comes as a null attribute of its plain name: no EntityReference says it is a lookup.
        plain = name[1:-len("_value")] if name.startswith("_") and name.endswith("_value") else None
        if plain and name not in record and plain in record and record[plain] is None:
            record[name] = None
    return record


def _key_in(definition: mapping.MapDefinition, partial: dict | None) -> str | None:
    """The source key, when the partial record (changed columns, an incomplete image) holds its fields."""
    if partial is None:
        return None
    try:
        return mapping.source_key(definition, partial)
    except mapping.MappingError:
        return None
