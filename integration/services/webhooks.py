"""Dataverse webhooks: check the shared secret, then turn one change into a one-record run, once.

The request must be answered quickly (Dataverse waits 60 s at most and retries only on 502/503/504), so this
only plans: it decides which entity maps read the changed table and queues a run for the record the context
names. The body says only which record changed: whoever holds the secret could send any image, so nothing in it
is written anywhere; the engine reads the record from Dataverse before it maps it (`RecordSync.refresh`), and a
record Dataverse does not hold is skipped. Delivery is at least once, so a redelivery of the same operation is
recognised and answered without a second run; deliveries are not an export mechanism, and scheduled incremental
runs still reconcile whatever a webhook missed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from integration import mapping
from integration.definitions import map_definition
from integration.models import Direction, EntityMap, Project, RecordSync, SyncRun, WebhookDelivery
from integration.services import binder, runs
from integration.webhook_context import EMPTY_GUID, MESSAGES, ExecutionContext, parse_context
from integration.webhook_secret import webhook_secret_problem

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


def webhook_authenticate(*, project_name: str, header: str | None, query: str | None) -> Project:
    """The project whose secret matches, compared in constant time; anything else is one indistinct refusal.

    The secret counts in the query string (`?code=`, Dataverse's WebhookKey) only where the project allows it,
    since query strings end up in proxies' logs; and a secret stored before today's strength rule, and too weak
    for it, matches nothing until it is replaced.
    """
    project = Project.objects.filter(name=project_name).first()
    query_allowed = project is not None and project.webhook_secret_in_query
    presented = header or (query if query_allowed else None)
    expected = (project.webhook_secret if project is not None else "") or _UNMATCHABLE
    matches = hmac.compare_digest((presented or "").encode(), expected.encode())
    if project is None or not project.webhook_secret or not presented or not matches:
        if project is not None and query and not header and not query_allowed:
            log.warning("webhook for project %s refused: the secret came in the query string (WebhookKey), which "
                        "the project does not accept; send it in the %s header (HttpHeader authentication)",
                        project.name, settings.P2C_WEBHOOK_HEADER)
        raise WebhookUnauthorized("unauthorized")
    if webhook_secret_problem(project.webhook_secret):
        log.warning("webhook for project %s refused: its webhook secret is too weak for today's rule; set a new "
                    "one in the admin", project.name)
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


def webhook_receive(*, project: Project, body: object) -> WebhookOutcome:
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
    records = [record for entity_map in maps if (record := _record(entity_map, context)) is not None]
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
    log.info("webhook queued run=%s project=%s message=%s entity=%s id=%s maps=%s", run.pk, project.name,
             context.message, context.entity, context.record_id, ",".join(m.name for m in maps))
    return WebhookOutcome("queued", f"{context.message} of {context.entity} {context.record_id} queued", run)


def _record(entity_map: EntityMap, context: ExecutionContext) -> RecordSync | None:
    """The unsaved row for one map, always read from Dataverse before anything is written.

    An upsert names the record by its id, and by the key of its link, or else of the body, until the engine has
    read it and takes the key of the record as it is. A delete is acted on only once a read confirms the record is
    gone. None for a delete of a record never synced.
    """
    linked_key = binder.source_key_of(entity_map=entity_map, source_id=context.record_id)
    if context.message == "Delete":
        if linked_key is None:
            return None
        return RecordSync(entity_map=entity_map, source_key=linked_key, source_id=context.record_id,
                          operation=RecordSync.Operation.DELETE, refresh=True)
    source_key = linked_key or _key_in(map_definition(entity_map), context.post_image or context.target)
    return RecordSync(entity_map=entity_map, source_key=source_key or context.record_id, source_id=context.record_id,
                      refresh=True)


def _key_in(definition: mapping.MapDefinition, partial: dict | None) -> str | None:
    """The source key, when the partial record (changed columns, an image) holds its fields."""
    if partial is None:
        return None
    try:
        return mapping.source_key(definition, partial)
    except mapping.MappingError:
        return None
