"""The adapter: the engine's side of the connectors, as OCA's connector calls the piece that talks to the remote
system. Which connection an entity map reads and writes, and how each system is written (Dataverse upserts by
key, F&O creates or updates, finding a server-keyed record by its natural key first), one record or a batch.

Everything here is a translation from entity-map settings to connector calls; the connectors own the protocol.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors import ChangeRead, ConnectorError, NotFoundError, ODataClient, WriteResult, client_for
from connectors.odata import any_of_filters, equals_filter
from integration.conversions import is_guid
from integration.models import ChangeDetection, Connection, Direction, EntityMap, KeyLink, Project
from integration.services.connections import connection_config

_clients_lock = threading.Lock()
_clients: dict[tuple[int, object], ODataClient] = {}


def client(connection: Connection) -> ODataClient:
    """One client per connection (and version of it) per process: its session, tokens and limiter are shared."""
    key = (connection.pk, connection.updated_at)
    with _clients_lock:
        found = _clients.get(key)
    if found is None:
        found = client_for(connection_config(connection))
        with _clients_lock:
            _clients[key] = found
    return found


def source_connection(entity_map: EntityMap) -> Connection:
    project = entity_map.project
    return project.sales_connection if entity_map.direction == Direction.SALES_TO_FINOPS else project.finops_connection


def destination_connection(entity_map: EntityMap) -> Connection:
    project = entity_map.project
    return project.finops_connection if entity_map.direction == Direction.SALES_TO_FINOPS else project.sales_connection


def source_filter(entity_map: EntityMap) -> str | None:
    """The map's $filter with its placeholders filled in from the project (e.g. {product_company})."""
    text = entity_map.source_filter.strip()
    if not text:
        return None
    return text.format(product_company=product_company(entity_map.project))


def product_company(project: Project) -> str:
    mapping = project.organization_mappings.filter(exports_products=True).first()
    if mapping is None:
        mapping = project.organization_mappings.filter(is_default=True).first()
    if mapping is None:
        raise ValueError(f"project {project.name} has no organization mapping that exports products")
    return mapping.legal_entity


# --- reading -------------------------------------------------------------------------------------------------
def read_changes(entity_map: EntityMap, *, cursor: str | None) -> ChangeRead:
    """The entity map's change feed from `cursor` (None: read everything)."""
    source = client(source_connection(entity_map))
    select = tuple(entity_map.source_select or ())
    if entity_map.change_detection == ChangeDetection.CHANGE_TRACKING:
        # Change tracking cannot be combined with $filter; eligibility is checked on each record instead.
        return source.delta_changes(entity_map.source_entity_set, select=select, cursor=cursor,
                                    primary_key=entity_map.source_id_field or None)
    if entity_map.change_detection == ChangeDetection.WATERMARK:
        return source.watermark_changes(
            entity_map.source_entity_set, select=select, filter=source_filter(entity_map), cursor=cursor,
            since_field=entity_map.watermark_field or "modifiedon",
            key_fields=[entity_map.source_id_field] if entity_map.source_id_field else entity_map.source_key_fields)
    return source.full_scan(entity_map.source_entity_set, key_fields=entity_map.source_key_fields, select=select,
                            filter=source_filter(entity_map))


def read_record(entity_map: EntityMap, *, source_id: str, key_values: Mapping[str, Any]) -> dict | None:
    """The source record as it is now (for retries and webhooks), by its id or its key; None when it is gone."""
    source = client(source_connection(entity_map))
    try:
        if source_id:
            return source.get(entity_map.source_entity_set, source_id)
        match = {name: key_values.get(name) for name in entity_map.source_key_fields}
        scope = source_filter(entity_map)
        clauses = [equals_filter(match), *([f"({scope})"] if scope else [])]
        return next(iter(source.rows(entity_map.source_entity_set, filter=" and ".join(clauses),
                                     options={"$top": 1})), None)
    except NotFoundError:
        return None


def read_destination(entity_map: EntityMap, *, key: Mapping[str, Any], destination_id: str,
                     select: Sequence[str]) -> dict | None:
    """The destination record as it is now, with `select` (as the reverse map of a two-way flow reads it): by its
    GUID when it has one (a Dataverse record), else by its key; None when it is gone."""
    connection = destination_connection(entity_map)
    values = list(key.values())
    guid = destination_id or (str(values[0]) if len(values) == 1 and is_guid(str(values[0])) else "")
    address = uuid.UUID(guid) if connection.system == "dataverse" and guid else dict(key)
    try:
        return client(connection).get(entity_map.destination_entity_set, address, select=list(select))
    except NotFoundError:
        return None


def read_where(entity_map: EntityMap, *, field: str, ids: Sequence[str]) -> Iterator[dict]:
    """The source records whose lookup column `field` holds one of these record ids (the lines of some headers),
    with as few filtered reads as the URL length allows."""
    source = client(source_connection(entity_map))
    matches = [{field: uuid.UUID(value)} for value in ids if is_guid(value)]
    for filter in any_of_filters(matches, max_length=source.max_filter_length):
        yield from source.rows(entity_map.source_entity_set, select=tuple(entity_map.source_select or ()),
                               filter=filter)


def read_all(connection: Connection, entity_set: str) -> Iterator[dict]:
    """Every row of a (small) reference entity set."""
    return client(connection).rows(entity_set)


# --- writing -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    outcome: str  # "created" or "updated"
    key: dict[str, Any]  # the destination's own key, as its API addresses the record
    destination_id: str
    attributes: dict[str, Any]


def write(entity_map: EntityMap, *, key: Mapping[str, Any], payload: Mapping[str, Any],
          link: KeyLink | None) -> Written:
    """Create or update the destination record; `link` (when there is one) says it exists and where."""
    connection = destination_connection(entity_map)
    destination = client(connection)
    entity_set = entity_map.destination_entity_set
    if connection.system == "dataverse":
        result = destination.upsert(entity_set, dict(key), payload, select=list(entity_map.link_attributes or ()),
                                    primary_key=entity_map.destination_id_field or None)
    elif (match := _lookup_match(entity_map, WriteItem(key, payload, link))) is not None:
        result = destination.upsert_by_filter(entity_set, match, payload, company=key.get("dataAreaId"),
                                              key_fields=entity_map.destination_api_key_fields)
    else:
        address = link.destination_key_values if (link and link.destination_key_values) else dict(key)
        result = destination.upsert(entity_set, address, payload, exists=link is not None)
    return _written(entity_map, destination, result, link)


@dataclass(frozen=True)
class WriteItem:
    """One record of a batched write: its natural key, its payload, and its link when it has one."""

    key: Mapping[str, Any]
    payload: Mapping[str, Any]
    link: KeyLink | None


def write_many(entity_map: EntityMap, items: Sequence[WriteItem]) -> list[Written | ConnectorError]:
    """Write many records in as few `$batch` requests as the API takes, each record its own operation with its
    own outcome, in order: a record the service refuses fails alone (Dataverse runs the batch with
    continue-on-error; F&O gets one change set per record, so a failure never rolls back a neighbour).

    Each record is sent as the single path's first guess would send it: Dataverse upserts by key; F&O updates a
    linked record and creates the others, after finding, in one lookup for the whole batch, the records whose key
    the service generates (contact persons, by company and contact id). A wrong guess comes back as the record's
    own error (an update of a record F&O no longer has, a create of one it already has), for the caller to retry
    that record alone. A batch refused as a whole (throttled, unavailable) raises its error.

    Dataverse's bulk messages (UpsertMultiple, CreateMultiple) would count as one request too, but a failure there
    undoes the whole request, an upsert answers no id, and a standard table need not say which target failed, so
    every refusal would cost a bisection; `$batch` gives each record its own outcome and id at the same count
    against service protection (one request, each operation's own execution time)."""
    connection = destination_connection(entity_map)
    destination = client(connection)
    entity_set = entity_map.destination_entity_set
    if connection.system == "dataverse":
        operations = [destination.upsert_operation(entity_set, dict(item.key), item.payload,
                                                   select=list(entity_map.link_attributes or ()),
                                                   primary_key=entity_map.destination_id_field or None)
                      for item in items]
    else:
        found = _found_keys(entity_map, destination, items)
        operations = [_finops_operation(entity_map, destination, item, found) for item in items]
    results: list[Written | ConnectorError] = []
    for item, outcome in zip(items, destination.write_each(operations), strict=True):
        try:
            results.append(_written(entity_map, destination, destination.result_of(outcome), item.link))
        except ConnectorError as exc:
            results.append(exc)
    return results


def _lookup_match(entity_map: EntityMap, item: WriteItem) -> dict[str, Any] | None:
    """The natural key to find a server-keyed record by, when it is not linked yet (None: nothing to find)."""
    if not entity_map.destination_lookup_fields or (item.link and item.link.destination_key_values):
        return None
    return {name: item.payload[name] for name in entity_map.destination_lookup_fields if name != "dataAreaId"}


def _found_keys(entity_map: EntityMap, destination: ODataClient, items: Sequence[WriteItem]) -> dict[tuple, dict]:
    """The API keys of the batch's unlinked server-keyed records, one lookup per company (not one per record)."""
    by_company: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        match = _lookup_match(entity_map, item)
        if match is not None:
            by_company.setdefault(str(item.key.get("dataAreaId", "")), []).append(match)
    found: dict[tuple, dict] = {}
    for company, matches in by_company.items():
        keys = destination.find_keys(entity_map.destination_entity_set, matches,
                                     key_fields=entity_map.destination_api_key_fields, company=company or None)
        found.update({(company, *natural): key for natural, key in keys.items()})
    return found


def _finops_operation(entity_map: EntityMap, destination: ODataClient, item: WriteItem, found: dict[tuple, dict]):
    entity_set = entity_map.destination_entity_set
    match = _lookup_match(entity_map, item)
    if match is not None:
        company = str(item.key.get("dataAreaId", ""))
        key = found.get((company, *match.values()))
        if key is not None:
            return destination.update_operation(entity_set, key, item.payload)
        scope = {"dataAreaId": company, **match} if company else dict(match)
        return destination.create_operation(entity_set, {**item.payload, **scope},
                                            key_fields=tuple(entity_map.destination_api_key_fields))
    if item.link is not None:
        return destination.update_operation(entity_set, item.link.destination_key_values or dict(item.key),
                                            item.payload)
    key = dict(item.key)
    return destination.create_operation(entity_set, {**item.payload, **key}, key_fields=tuple(key))


def rename(entity_map: EntityMap, *, link: KeyLink, payload: Mapping[str, Any]) -> Written:
    """Update the linked destination record with a payload whose key values changed; the API decides whether
    that key may change (a Dataverse alternate key may; an F&O entity's key fields may not, and it says so)."""
    connection = destination_connection(entity_map)
    destination = client(connection)
    entity_set = entity_map.destination_entity_set
    if connection.system == "dataverse":
        # Assumption: Dataverse updates a record's alternate-key columns when the record is addressed by its
        # primary id (alternate keys are unique indexes, not immutable ids).
        address = uuid.UUID(link.destination_id) if link.destination_id else link.destination_key_values
        result = destination.upsert(entity_set, address, payload, mode="update",
                                    select=list(entity_map.link_attributes or ()),
                                    primary_key=entity_map.destination_id_field or None)
    else:
        result = destination.update(entity_set, link.destination_key_values, payload)
    return _written(entity_map, destination, result, link)


def _written(entity_map: EntityMap, destination: ODataClient, result: WriteResult, link: KeyLink | None) -> Written:
    keep = list(entity_map.link_attributes or ())
    attributes = {name: result.attributes[name] for name in keep if name in result.attributes}
    missing = [name for name in keep if name not in attributes and not (link and name in link.attributes)]
    if missing:
        # An update answers without a body; read back what later lookups need.
        row = destination.get(entity_map.destination_entity_set, result.key, select=missing)
        attributes.update({name: row.get(name) for name in missing})
    id_field = entity_map.destination_id_field
    destination_id = str(result.attributes.get(id_field) or result.key.get(id_field) or "") if id_field else ""
    outcome = "created" if result.outcome == "created" else "updated"
    return Written(outcome, dict(result.key), destination_id.lower(), attributes)


def delete(entity_map: EntityMap, *, link: KeyLink) -> None:
    destination = client(destination_connection(entity_map))
    with contextlib.suppress(NotFoundError):  # already gone: the goal is reached
        destination.delete(entity_map.destination_entity_set, link.destination_key_values)
