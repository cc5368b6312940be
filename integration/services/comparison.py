"""Holding what p2c would send against what the destination holds now, field by field, reading only.

The preview of one record and dry runs share it: map a source record as a run would (lookups through the key
links, reference data from the APIs), decide as a run would whether it would be written (its payload equals what
was last written: unchanged), and read the destination record by its key to list the fields that would change.
Values are compared as the APIs mean them: blank equals blank, numbers by value, a Dataverse `x@odata.bind`
against the lookup's `_x_value` GUID, dates as instants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from connectors.odata import equals_filter
from integration import mapping
from integration.conversions import blank
from integration.models import Direction, EntityMap, KeyLink
from integration.services import adapter
from integration.services.environment_metadata import map_sides
from integration.services.resolver import DatabaseResolver

# Up to this many records a dry run reads the destination record by record; beyond, it scans the entity set once.
READ_ONE_BY_ONE = 100
NOT_READ = "(not in the destination's answer)"
_BIND = re.compile(r"\(([^()]*)\)\s*$")


@dataclass(frozen=True)
class Difference:
    field: str
    sends: object
    holds: object


@dataclass
class Evaluation:
    """A record as a run would see it. outcome: create, update, unchanged, would_fail or skip."""

    outcome: str
    payload: dict | None = None
    destination_key: dict | None = None
    link: KeyLink | None = None
    error_field: str = ""
    error: str = ""
    differences: list[Difference] = field(default_factory=list)
    destination: dict | None = None


def resolver_for(*, entity_map: EntityMap) -> DatabaseResolver:
    """The resolver a run's worker would use for the map: key links and reference data, reads only."""
    project = entity_map.project
    return DatabaseResolver(entity_map=entity_map, organization_mappings=tuple(project.organization_mappings.all()),
                            map_ids=dict(EntityMap.objects.filter(project=project).values_list("name", "id")))


def evaluate(*, definition: mapping.MapDefinition, record: Mapping, resolver: mapping.Resolver,
             link: KeyLink | None) -> Evaluation:
    """Map the record; unchanged when its payload is what was last written (a run would not write it), else
    still to be compared with the destination (outcome "update" until `compare` says create or update)."""
    try:
        mapped = mapping.map_record(definition, record, resolver)
    except mapping.MissingLink as exc:
        if exc.when_missing == "skip":
            return Evaluation("skip", error_field=exc.field, error=exc.reason)
        return Evaluation("would_fail", error_field=exc.field,
                          error=f"{exc.reason}: a run waits for it, then fails the record")
    except mapping.MappingError as exc:
        return Evaluation("would_fail", error_field=exc.field, error=exc.reason)
    key_text = mapping.destination_key_text(mapped.destination_key)
    if (link is not None and link.source_deleted_at is None and link.destination_key == key_text
            and link.payload_hash == mapping.payload_hash(mapped.payload)):
        return Evaluation("unchanged", mapped.payload, mapped.destination_key, link)
    return Evaluation("update", mapped.payload, mapped.destination_key, link)


def compare(evaluation: Evaluation, destination: dict | None, binds: Mapping[str, str]) -> Evaluation:
    """Against the destination record as it is now (None: it has none): create, or update and what changes."""
    evaluation.destination = destination
    if destination is None:
        evaluation.outcome = "create"
        return evaluation
    evaluation.outcome = "update"
    evaluation.differences = differences(payload=evaluation.payload or {}, row=destination, binds=binds)
    return evaluation


def differences(*, payload: Mapping, row: Mapping, binds: Mapping[str, str]) -> list[Difference]:
    """The fields whose value p2c would send differs from what the destination row holds."""
    found = []
    for name, sent in payload.items():
        held_name = binds.get(name, name)
        if held_name not in row:
            found.append(Difference(name, sent, NOT_READ))
            continue
        held = row[held_name]
        if not values_equal(sent, held, bind=name.endswith("@odata.bind")):
            found.append(Difference(name, sent, held))
    return found


def values_equal(sent: object, held: object, *, bind: bool = False) -> bool:
    if blank(sent) and blank(held):
        return True
    if blank(sent) or blank(held):
        return False
    if bind:
        match = _BIND.search(str(sent))
        return match is not None and match.group(1).strip("'").casefold() == str(held).casefold()
    if isinstance(sent, bool) or isinstance(held, bool):
        return sent is held or str(sent).casefold() == str(held).casefold()
    if isinstance(sent, int | float | Decimal) or isinstance(held, int | float | Decimal):
        try:
            return Decimal(str(sent)) == Decimal(str(held))
        except InvalidOperation:
            return False
    if sent == held:
        return True
    moments = [_moment(value) for value in (sent, held)]
    if None not in moments:
        return moments[0] == moments[1]
    return str(sent).casefold() == str(held).casefold() and _guid_like(str(sent))


def _moment(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _guid_like(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{36}", text))


def bind_properties(*, entity_map: EntityMap) -> dict[str, str]:
    """Sales destinations: each `x@odata.bind` field and the `_y_value` property the record answers it with."""
    if entity_map.direction != Direction.FINOPS_TO_SALES:
        return {}
    destination_type = map_sides(entity_map=entity_map).destination_type
    binds = {}
    for rule_field in entity_map.field_maps.values_list("destination_field", flat=True):
        if not rule_field.endswith("@odata.bind"):
            continue
        name = rule_field.removesuffix("@odata.bind")
        navigation = destination_type.navigation.get(name) if destination_type else None
        local = navigation.local_property if navigation and navigation.local_property else f"_{name.lower()}_value"
        binds[rule_field] = local
    return binds


def destination_records(*, entity_map: EntityMap, keys: Sequence[Mapping]) -> dict[str, dict]:
    """The destination's records with these keys, as they are now, by destination key text (reads only)."""
    client = adapter.client(adapter.destination_connection(entity_map))
    entity_set = entity_map.destination_entity_set
    fields = list(entity_map.destination_key_fields)
    found: dict[str, dict] = {}
    if len(keys) > READ_ONE_BY_ONE:
        wanted = {mapping.destination_key_text(key) for key in keys}
        for row in client.rows(entity_set):
            text = mapping.destination_key_text({name: row.get(name) for name in fields})
            if text in wanted:
                found[text] = row
        return found
    for key in keys:
        row = next(iter(client.rows(entity_set, filter=equals_filter(key), options={"$top": 1})), None)
        if row is not None:
            found[mapping.destination_key_text(key)] = row
    return found
