"""The Resolver the pure mapping asks for lookups: key links in the database, reference data from the APIs.

Reference sets (units, currencies, business units...) are small and rarely change, so each worker process
reads each one once and keeps it for a few minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping, Sequence

from integration.conversions import blank, is_guid, text
from integration.mapping import LinkTarget, MapDefinition, lookup_value
from integration.models import Connection, EntityMap, OrganizationMapping, Project
from integration.services import binder

REFERENCE_TTL_SECONDS = 300


class ReferenceCache:
    """Per-process cache of whole reference entity sets, indexed by the field a lookup matches on.

    One thread reads a set that is missing or stale while the process's other threads wait for its result: when
    the sets expire in the middle of a run, 32 threads would otherwise read each of them 32 times."""

    def __init__(self, ttl: float = REFERENCE_TTL_SECONDS):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._sets: dict[tuple, tuple[float, dict]] = {}
        self._loading: dict[tuple, threading.Lock] = {}

    def lookup(self, connection: Connection, entity_set: str, match_field: str, value: object,
               return_field: str, where: Mapping[str, object] | None = None) -> object | None:
        """The `return_field` of the row whose `match_field` is `value`, among the rows whose `where` fields
        hold the given values (a unit's name is unique only within its unit group)."""
        index = self._index(connection, entity_set, match_field, tuple(sorted((where or {}).items())))
        row = index.get(_normal(value))
        return None if row is None else row.get(return_field)

    def _index(self, connection: Connection, entity_set: str, match_field: str, where: tuple) -> dict:
        key = (connection.pk, connection.updated_at, entity_set, match_field, where)
        with self._lock:
            index = self._fresh(key)
            if index is not None:
                return index
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                index = self._fresh(key)
            if index is None:
                from integration.services.adapter import read_all

                index = {_normal(row.get(match_field)): row for row in read_all(connection, entity_set)
                         if all(_normal(row.get(name)) == _normal(value) for name, value in where)}
                with self._lock:
                    self._sets[key] = (time.monotonic(), index)
        return index

    def _fresh(self, key: tuple) -> dict | None:
        cached = self._sets.get(key)
        return cached[1] if cached and time.monotonic() - cached[0] < self.ttl else None

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


reference_cache = ReferenceCache()


def _target(link) -> LinkTarget:
    return LinkTarget(source_key=link.source_key, destination_key=link.destination_key_values,
                      destination_id=link.destination_id, attributes=link.attributes, source_id=link.source_id)


def _normal(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


class DatabaseResolver:
    """Resolves one record's lookups for one entity map of one project."""

    def __init__(self, *, entity_map: EntityMap, organization_mappings: Sequence[OrganizationMapping],
                 map_ids: Mapping[str, int], cache: ReferenceCache = reference_cache):
        self.entity_map = entity_map
        self.project: Project = entity_map.project
        self.cache = cache
        self.organization_mappings = organization_mappings
        self.map_ids = map_ids
        # Several fields of one record often look up the same parent (a contact's company and party number both
        # come from its account's link): one query each.
        self._links: dict[tuple, LinkTarget | None] = {}

    def prefetch(self, definition: MapDefinition, records: Sequence[Mapping]) -> None:
        """Read, for a whole batch, the links its lookups will ask for: one query per lookup field, not one per
        record. Only lookups of a source field's own value can be known before mapping; others are read as asked."""
        for rule in definition.fields:
            options = rule.options.get("lookup")
            if not options or rule.transforms[0] != "lookup" or not (rule.source or "key_fields" in options):
                continue
            entity_maps, match = tuple(options["entity_maps"]), options.get("match", "source_id")
            found_values = ([lookup_value(options, record) for record in records] if "key_fields" in options
                            else [record.get(rule.source) for record in records])
            values = {text(value) for value in found_values if not blank(value)}
            values -= {value for maps, m, value in self._links if (maps, m) == (entity_maps, match)}
            if values:
                self._links.update(self._read_links(entity_maps, match, values))

    def link(self, entity_maps: Sequence[str], match: str, value: str) -> LinkTarget | None:
        key = (tuple(entity_maps), match, str(value))
        if key not in self._links:
            self._links.update(self._read_links(key[0], match, [key[2]]))
        return self._links[key]

    def _read_links(self, entity_maps: tuple[str, ...], match: str,
                    values: Collection[str]) -> dict[tuple[tuple[str, ...], str, str], LinkTarget | None]:
        """The link target of each value, in one query: the first of `entity_maps` that links it wins."""
        ids = [self.map_ids[name] for name in entity_maps if name in self.map_ids]
        found = binder.lookup_targets(map_ids=ids, match=match, values=values)
        lower = match in ("source_id", "destination_id")  # as the binder compares (and the links store) them
        targets = {}
        for value in values:
            wanted = value.lower() if lower else value
            link = next((found[(map_id, wanted)] for map_id in ids if (map_id, wanted) in found), None)
            targets[(entity_maps, match, value)] = None if link is None else _target(link)
        return targets

    def reference(self, system: str, entity_set: str, match_field: str, value: object,
                  return_field: str, where: Mapping[str, object] | None = None) -> object | None:
        connection = self._connection(system)
        return self.cache.lookup(connection, entity_set, match_field, value, return_field, where)

    def legal_entity(self, business_unit: str | None) -> str | None:
        mappings = self.organization_mappings
        name = business_unit
        if business_unit and is_guid(business_unit):
            name = self.cache.lookup(self.project.sales_connection, "businessunits", "businessunitid",
                                     business_unit.lower(), "name")
        for mapping in mappings:
            if name and mapping.business_unit.casefold() == str(name).casefold():
                return mapping.legal_entity
        default = next((m for m in mappings if m.is_default), None)
        return default.legal_entity if default else None

    def _connection(self, system: str) -> Connection:
        sales_side = (system == "source") == (self.entity_map.direction == "sales_to_finops")
        return self.project.sales_connection if sales_side else self.project.finops_connection

