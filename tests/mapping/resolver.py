"""A Resolver backed by dicts: links and reference rows as a test states them, with the calls it answered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from integration.conversions import fold
from integration.mapping import LinkTarget, destination_key_text


class DictResolver:
    def __init__(self, *, business_units: Mapping[str, str] | None = None, default_legal_entity: str | None = None):
        self._links: dict[tuple[str, str, str], LinkTarget] = {}
        self._reference: list[tuple[str, str, dict]] = []
        self._business_units = {fold(name): legal_entity for name, legal_entity in (business_units or {}).items()}
        self.default_legal_entity = default_legal_entity
        self.calls: list[tuple] = []

    def add_link(self, entity_map: str, *, source_key: str, destination_key: Mapping[str, object],
                 source_id: str = "", destination_id: str = "",
                 attributes: Mapping[str, object] | None = None) -> LinkTarget:
        target = LinkTarget(source_key, dict(destination_key), destination_id, dict(attributes or {}), source_id)
        for match, value in (("source_id", source_id), ("source_key", source_key),
                             ("destination_id", destination_id),
                             ("destination_key", destination_key_text(destination_key) if destination_key else "")):
            if value:
                self._links[entity_map, match, value] = target
        return target

    def add_reference(self, system: str, entity_set: str, row: Mapping[str, object]) -> None:
        self._reference.append((system, entity_set, dict(row)))

    def link(self, entity_maps: Sequence[str], match: str, value: str) -> LinkTarget | None:
        self.calls.append(("link", tuple(entity_maps), match, value))
        for name in entity_maps:
            if (name, match, value) in self._links:
                return self._links[name, match, value]
        return None

    def reference(self, system: str, entity_set: str, match_field: str, value: object,
                  return_field: str, where: Mapping[str, object] | None = None) -> object | None:
        self.calls.append(("reference", system, entity_set, match_field, value, return_field))
        rows = [row for sys, es, row in self._reference
                if (sys, es) == (system, entity_set) and fold(row.get(match_field)) == fold(value)
                and all(fold(row.get(name)) == fold(expected) for name, expected in (where or {}).items())]
        return rows[0].get(return_field) if rows else None

    def legal_entity(self, business_unit: str | None) -> str | None:
        self.calls.append(("legal_entity", business_unit))
        if business_unit is None:
            return self.default_legal_entity
        return self._business_units.get(fold(business_unit), self.default_legal_entity)
