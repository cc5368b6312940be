"""What a project's two environments say about themselves, read through its connections and kept a few minutes:
the mapping editor's field pickers and its validation on save, the preview and dry runs read it.

It is the pre-flight check's `Environment` (the live `$metadata`, Sales' table definitions, the reference rows
the rules read), kept per connection for `METADATA_TTL_SECONDS` so an admin editing one field map after another
does not read tens of MB of `$metadata` each time. The pre-flight check itself always reads afresh.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from connectors.service_metadata import EntityType, Property
from integration.models import Connection, Direction, EntityMap, Project
from integration.services.preflight import Environment

METADATA_TTL_SECONDS = 300
_lock = threading.Lock()
_environments: dict[tuple[int, object], tuple[float, Environment]] = {}


def environment(*, connection: Connection) -> Environment:
    """The connection's environment as read in the last few minutes (or now). One that could not be read is not
    kept: the next call tries again."""
    key = (connection.pk, connection.updated_at)
    with _lock:
        cached = _environments.get(key)
    if cached and time.monotonic() - cached[0] < METADATA_TTL_SECONDS:
        return cached[1]
    env = Environment(connection)
    if env.model() is not None:
        with _lock:
            _environments[key] = (time.monotonic(), env)
    return env


def environments_forget(*, project: Project) -> None:
    """Read the project's environments afresh next time (after a change in Sales or F&O)."""
    ids = {project.sales_connection_id, project.finops_connection_id}
    with _lock:
        for key in [key for key in _environments if key[0] in ids]:
            del _environments[key]


@dataclass(frozen=True)
class MapSides:
    """An entity map's two environments, and its two entity types when the environments could be read."""

    source: Environment
    destination: Environment
    source_type: EntityType | None
    destination_type: EntityType | None

    def sales_and_finops(self, entity_map: EntityMap) -> tuple[Environment, Environment]:
        if entity_map.direction == Direction.SALES_TO_FINOPS:
            return self.source, self.destination
        return self.destination, self.source

    @property
    def error(self) -> str:
        return "; ".join(f"{env.label}: {env.error}" for env in (self.source, self.destination) if env.error)

    def destination_property(self, name: str) -> Property | None:
        return self.destination_type.properties.get(name) if self.destination_type else None


def map_sides(*, entity_map: EntityMap) -> MapSides:
    project = entity_map.project
    sales = environment(connection=project.sales_connection)
    finops = environment(connection=project.finops_connection)
    source, destination = (sales, finops) if entity_map.direction == Direction.SALES_TO_FINOPS else (finops, sales)
    return MapSides(source, destination, source.entity_type(entity_map.source_entity_set),
                    destination.entity_type(entity_map.destination_entity_set))
