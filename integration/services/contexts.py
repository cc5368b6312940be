"""What a worker needs to sync records of one entity map in one run, read once per process and run.

An entity map with its project, connections and organization mappings, and its pure definition: reading these
for every record would cost more than the record itself. Edits made in the admin apply from the next run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from integration.definitions import map_definition
from integration.mapping import MapDefinition
from integration.models import EntityMap, OrganizationMapping

_MAX_ENTRIES = 256
_lock = threading.Lock()
_cache: OrderedDict[tuple[int, int], MapContext] = OrderedDict()


@dataclass(frozen=True)
class MapContext:
    entity_map: EntityMap
    definition: MapDefinition
    organization_mappings: tuple[OrganizationMapping, ...]
    map_ids: dict[str, int]  # the project's entity maps by name, for lookups through their links


def map_context(entity_map_id: int, run_id: int) -> MapContext:
    """The entity map as it was when this process first needed it in this run."""
    key = (entity_map_id, run_id)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    entity_map = EntityMap.objects.select_related(
        "project__sales_connection", "project__finops_connection", "reverse_map").get(pk=entity_map_id)
    context = MapContext(entity_map, map_definition(entity_map),
                         tuple(entity_map.project.organization_mappings.all()),
                         dict(EntityMap.objects.filter(project=entity_map.project).values_list("name", "id")))
    with _lock:
        _cache[key] = context
        while len(_cache) > _MAX_ENTRIES:
            _cache.popitem(last=False)
    return context
