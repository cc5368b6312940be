"""Map definitions per worker process: read once per entity map and run, not once per record."""

from __future__ import annotations

import threading
from collections import OrderedDict

from integration.definitions import map_definition
from integration.mapping import MapDefinition
from integration.models import EntityMap

_MAX_ENTRIES = 256
_lock = threading.Lock()
_cache: OrderedDict[tuple[int, int], MapDefinition] = OrderedDict()


def get(entity_map: EntityMap, run_id: int) -> MapDefinition:
    """The definition as it was when this process first needed it in this run; edits apply to the next run."""
    key = (entity_map.pk, run_id)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    definition = map_definition(entity_map)
    with _lock:
        _cache[key] = definition
        while len(_cache) > _MAX_ENTRIES:
            _cache.popitem(last=False)
    return definition
