"""Where a record's failure is fixed: the field map (and its value map) or the connection it points at.

The error names the destination field for mapping failures (`error_field`); the API's refusals name it in their
text, if at all, so a field map whose destination field the message names is offered too. Errors of the
connector that are not about the record's content point at the connection the record was written through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from integration.models import Connection, FieldMap, RecordSync
from integration.services import adapter
from integration.services.failing import CONTENT_ERROR_TYPES

# Failures that wait on something else than the record and the connection: a parent not linked, a lost race.
_NOT_THE_CONNECTION = frozenset({"missing_parent", "link_conflict", "duplicate_row", "cancelled"})


@dataclass(frozen=True)
class Fixes:
    field_maps: list[FieldMap] = field(default_factory=list)
    connection: Connection | None = None

    def value_map(self, field_map: FieldMap) -> bool:
        return "value_map" in (field_map.transforms or [])


class FixFinder:
    """Finds the fixes of many records (a page of a list), reading each entity map's field maps once."""

    def __init__(self) -> None:
        self._field_maps: dict[int, list[FieldMap]] = {}

    def fixes(self, record: RecordSync) -> Fixes:
        if not (record.error_message or record.error_field):
            return Fixes()
        if record.entity_map_id not in self._field_maps:
            self._field_maps[record.entity_map_id] = list(
                FieldMap.objects.filter(entity_map_id=record.entity_map_id).order_by("order", "id"))
        field_maps = self._field_maps[record.entity_map_id]
        named = [fm for fm in field_maps if fm.destination_field == record.error_field] if record.error_field else []
        if not named:
            named = [fm for fm in field_maps if _names(record.error_message, fm.destination_field)]
        connection = None
        if record.error_type and record.error_type not in CONTENT_ERROR_TYPES \
                and record.error_type not in _NOT_THE_CONNECTION:
            connection = adapter.destination_connection(record.entity_map)
        return Fixes(named, connection)


def failure_fixes(*, record: RecordSync) -> Fixes:
    """The field maps and the connection a failed (or skipped) record's error points at; empty when none."""
    return FixFinder().fixes(record)


def _names(message: str, field_name: str) -> bool:
    base = field_name.removesuffix("@odata.bind")
    return bool(base) and re.search(rf"(?<![\w]){re.escape(base)}(?![\w])", message) is not None
