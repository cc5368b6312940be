"""The preview of one record: read it from the source by its key, map it as a run would, and hold the payload
against the destination record as it is now, field by field. It reads both environments and writes nothing."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from connectors.errors import ConnectorError
from integration import mapping
from integration.definitions import map_definition
from integration.models import EntityMap
from integration.services import adapter, binder, comparison
from integration.services.connections import ConnectionMisconfigured


@dataclass(frozen=True)
class Preview:
    source_key: str
    outcome: str  # not_found, ineligible, would_fail, skip, unchanged, create, update, unreadable
    source: dict | None = None
    evaluation: comparison.Evaluation | None = None
    message: str = ""


def record_preview(*, entity_map: EntityMap, source_key: str,
                   definition: mapping.MapDefinition | None = None) -> Preview:
    """What a run would do with the source record whose key (or id) is `source_key`, and why; with `definition`,
    what it would do once that definition is saved (the editor's unsaved edit)."""
    definition = definition or map_definition(entity_map)
    source_key = source_key.strip()
    try:
        record = adapter.read_record(entity_map, **_address(entity_map, source_key))
        if record is None:
            return Preview(source_key, "not_found", message=f"{entity_map.source_entity_set} has no record with "
                                                            f"{' and '.join(entity_map.source_key_fields)} "
                                                            f"{source_key!r}")
        reason = mapping.ineligibility(definition, record)
        if reason:
            return Preview(source_key, "ineligible", record, message=f"not for this entity map: {reason}")
        key = mapping.source_key(definition, record)
        link = binder.link_of(entity_map=entity_map, source_key=key,
                              source_id=mapping.source_id(definition, record).lower())
        evaluation = comparison.evaluate(definition=definition, record=record,
                                         resolver=comparison.resolver_for(entity_map=entity_map), link=link)
        if evaluation.outcome == "update":
            rows = comparison.destination_records(entity_map=entity_map, keys=[evaluation.destination_key])
            evaluation = comparison.compare(evaluation, rows.get(mapping.destination_key_text(
                evaluation.destination_key)), comparison.bind_properties(entity_map=entity_map))
        return Preview(key, evaluation.outcome, record, evaluation)
    except (ConnectorError, ConnectionMisconfigured) as exc:
        return Preview(source_key, "unreadable", message=getattr(exc, "message", None) or str(exc))
    except mapping.MappingError as exc:
        return Preview(source_key, "would_fail", message=str(exc))


def _address(entity_map: EntityMap, text: str) -> dict:
    """How to read the record: by id when the text is one (a GUID), else by its key fields' values."""
    if entity_map.source_id_field and _is_guid(text):
        return {"source_id": text, "key_values": {}}
    fields = list(entity_map.source_key_fields)
    if len(fields) == 1:
        return {"source_id": "", "key_values": {fields[0]: text}}
    try:
        values = json.loads(text)
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != len(fields):
        raise mapping.MappingError(text, ", ".join(fields), f"a key of this map has {len(fields)} parts: give "
                                   f'them as ["{fields[0]}", ...] in the order {", ".join(fields)}')
    return {"source_id": "", "key_values": dict(zip(fields, values, strict=True))}


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
