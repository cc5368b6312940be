"""The adapter: the engine's side of the connectors, as OCA's connector calls the piece that talks to the remote
system. Which connection an entity map reads and writes, and how each system is written (Dataverse upserts by
key, F&O creates or updates, finding a server-keyed record by its natural key first), one record or a batch.

Everything here is a translation from entity-map settings to connector calls; the connectors own the protocol.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from connectors import ChangeRead, NotFoundError, ODataClient, WriteResult, client_for
from connectors.odata import equals_filter
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
    elif entity_map.destination_lookup_fields and not (link and link.destination_key_values):
        company = key.get("dataAreaId")
        match = {name: payload[name] for name in entity_map.destination_lookup_fields if name != "dataAreaId"}
        result = destination.upsert_by_filter(entity_set, match, payload, company=company,
                                              key_fields=entity_map.destination_api_key_fields)
    else:
        address = link.destination_key_values if (link and link.destination_key_values) else dict(key)
        result = destination.upsert(entity_set, address, payload, exists=link is not None)
    return _written(entity_map, destination, result, link)


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
