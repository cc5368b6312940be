"""Editing one field map (the mapping editor): checking an edit against the environments before it is saved,
saving it with its value map, and the values records failed on that its value map lacks.

An edit is checked with the pre-flight check's own rules for its entity map, with the edited field map in place,
and only the problems the edit brings are reported: a map's older problems are not this edit's to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction

from integration.definitions import definition, field_rule, map_definition
from integration.mapping import MapDefinition, source_fields, unmapped_value
from integration.models import EntityMap, FieldMap, ValueMapEntry
from integration.services import failing
from integration.services.environment_metadata import map_sides
from integration.services.preflight import Problem, entity_map_problems


@dataclass(frozen=True)
class FieldMapEdit:
    """A field map as the editor submits it; the fields are the model's own."""

    destination_field: str
    source_field: str = ""
    transforms: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    default_value: object = None
    max_length: int | None = None
    required: bool = False
    omit_blank: bool = False
    value_map: dict[str, object] = field(default_factory=dict)
    value_map_default: object = None

    @classmethod
    def of(cls, field_map: FieldMap) -> FieldMapEdit:
        return cls(destination_field=field_map.destination_field, source_field=field_map.source_field,
                   transforms=list(field_map.transforms or []), options=dict(field_map.options or {}),
                   default_value=field_map.default_value, max_length=field_map.max_length,
                   required=field_map.required, omit_blank=field_map.omit_blank,
                   value_map={e.source_value: e.destination_value for e in field_map.value_map.all()},
                   value_map_default=field_map.value_map_default)

    def rule(self):
        """The pure rule; ValueError when the edit cannot be one (an unknown transform, missing options...)."""
        return field_rule(destination_field=self.destination_field, source_field=self.source_field,
                          transforms=self.transforms, options=self.options, default_value=self.default_value,
                          max_length=self.max_length, required=self.required, value_map=self.value_map,
                          value_map_default=self.value_map_default, omit_blank=self.omit_blank)


def definition_with_edit(entity_map: EntityMap, field_map: FieldMap | None, edit: FieldMapEdit, *,
                         current: MapDefinition | None = None) -> MapDefinition:
    """The entity map's definition as it would be with `edit` saved (over `field_map`, or as a new field map):
    what the editor checks and previews before anything is saved. ValueError when the edit cannot be a rule."""
    if current is None:
        current = map_definition(entity_map)
    replaced = field_map.destination_field if field_map else None
    rules = [rule for rule in current.fields if rule.destination != replaced]
    position = next((n for n, rule in enumerate(current.fields) if rule.destination == replaced), len(rules))
    rules.insert(position, edit.rule())
    return definition(name=entity_map.name, source_key_fields=current.source_key_fields,
                      source_id_field=current.source_id_field, destination_key_fields=current.destination_key_fields,
                      conditions=entity_map.conditions, fields=rules)


@dataclass(frozen=True)
class EditCheck:
    problems: list[Problem]  # those the edit brings
    unchecked: str = ""  # why the environments could not be asked, when they could not


def field_map_check(*, entity_map: EntityMap, field_map: FieldMap | None, edit: FieldMapEdit) -> EditCheck:
    """The problems the edit would bring to its entity map, by the pre-flight check's rules (ValueError when the
    edit is not a valid rule at all)."""
    current = map_definition(entity_map)
    proposed = definition_with_edit(entity_map, field_map, edit, current=current)
    sides = map_sides(entity_map=entity_map)
    if sides.error:
        return EditCheck([], sides.error)
    sales, finops = sides.sales_and_finops(entity_map)
    before = set(entity_map_problems(entity_map=entity_map, definition=current, sales=sales, finops=finops))
    after = entity_map_problems(entity_map=entity_map, definition=proposed, sales=sales, finops=finops)
    return EditCheck([problem for problem in after if problem not in before])


@transaction.atomic
def field_map_save(*, entity_map: EntityMap, field_map: FieldMap | None, edit: FieldMapEdit,
                   order: int | None = None) -> FieldMap:
    """Save the edit in place (the field map keeps its id, each value map entry too where its source value
    stays), and what the entity map reads from its source with it."""
    edit.rule()  # refuse what is not a rule before writing anything
    if field_map is None:
        last = entity_map.field_maps.order_by("-order").values_list("order", flat=True).first() or 0
        field_map = FieldMap(entity_map=entity_map, order=last + 1 if order is None else order)
    for name in ("destination_field", "source_field", "transforms", "options", "default_value", "max_length",
                 "required", "omit_blank", "value_map_default"):
        setattr(field_map, name, getattr(edit, name))
    field_map.save()
    value_map_save(field_map=field_map, entries=edit.value_map)
    EntityMap.objects.filter(pk=entity_map.pk).update(
        source_select=list(source_fields(map_definition(entity_map))))
    return field_map


def value_map_save(*, field_map: FieldMap, entries: Mapping[str, object]) -> None:
    """Make the value map exactly `entries`, updating kept entries in place."""
    existing = {entry.source_value: entry for entry in field_map.value_map.all()}
    for source_value, entry in existing.items():
        if source_value not in entries:
            entry.delete()
        elif entry.destination_value != entries[source_value]:
            entry.destination_value = entries[source_value]
            entry.save(update_fields=["destination_value"])
    ValueMapEntry.objects.bulk_create(ValueMapEntry(field_map=field_map, source_value=source_value,
                                                    destination_value=value)
                                      for source_value, value in entries.items() if source_value not in existing)


def failed_values(*, field_map: FieldMap) -> list[str]:
    """The values records failing now on this field had no value map entry for, and still have none: what "add
    the values that failed" offers, most frequent first."""
    known = {entry.casefold() for entry in field_map.value_map.values_list("source_value", flat=True)}
    counts: dict[str, int] = {}
    rows = failing.failing_now(entity_maps=[field_map.entity_map], ignored=None).filter(
        error_type="mapping", error_field=field_map.destination_field).values_list("error_message", flat=True)
    for message in rows:
        value = unmapped_value(message)
        if value is not None and value.casefold() not in known:
            counts[value] = counts.get(value, 0) + 1
    return sorted(counts, key=lambda value: (-counts[value], value))
