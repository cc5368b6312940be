"""Selectors that turn stored entity maps into the pure `MapDefinition`s the mapping runs on.

The same builders read a template's JSON, whose field names are the models' own, so a loaded template and the
file it came from give equal definitions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from integration.mapping import NO_DEFAULT, Condition, FieldRule, MapDefinition
from integration.models import EntityMap, FieldMap, Project


def field_rule(*, destination_field: str, source_field: str = "", transforms: Iterable[str] = (),
               options: Mapping | None = None, default_value: object = None, max_length: int | None = None,
               required: bool = False, value_map: Mapping[str, object] | None = None,
               value_map_default: object = None, omit_blank: bool = False) -> FieldRule:
    """A FieldRule from a FieldMap's fields; a null value-map default means none (unmapped values fail)."""
    return FieldRule(
        destination=destination_field, source=source_field, transforms=tuple(transforms), options=dict(options or {}),
        default=default_value, max_length=max_length, required=required, value_map=dict(value_map or {}),
        value_map_default=NO_DEFAULT if value_map_default is None else value_map_default, omit_blank=omit_blank,
    )


def definition(*, name: str, source_key_fields: Iterable[str], source_id_field: str,
               destination_key_fields: Iterable[str], conditions: Iterable[Mapping],
               fields: Iterable[FieldRule]) -> MapDefinition:
    return MapDefinition(
        name=name, source_key_fields=tuple(source_key_fields), source_id_field=source_id_field,
        destination_key_fields=tuple(destination_key_fields), fields=tuple(fields),
        conditions=tuple(Condition(c["field"], c["op"], c.get("value")) for c in conditions),
    )


def _from_models(entity_map: EntityMap, field_maps: Iterable[FieldMap]) -> MapDefinition:
    rules = [field_rule(
        destination_field=fm.destination_field, source_field=fm.source_field, transforms=fm.transforms,
        options=fm.options, default_value=fm.default_value, max_length=fm.max_length, required=fm.required,
        value_map={entry.source_value: entry.destination_value for entry in fm.value_map.all()},
        value_map_default=fm.value_map_default, omit_blank=fm.omit_blank,
    ) for fm in field_maps]
    return definition(name=entity_map.name, source_key_fields=entity_map.source_key_fields,
                      source_id_field=entity_map.source_id_field,
                      destination_key_fields=entity_map.destination_key_fields, conditions=entity_map.conditions,
                      fields=rules)


def map_definition(entity_map: EntityMap) -> MapDefinition:
    """One entity map's definition: its field maps and their value maps, read together."""
    return _from_models(entity_map, entity_map.field_maps.prefetch_related("value_map"))


def project_definitions(project: Project) -> list[tuple[EntityMap, MapDefinition]]:
    """Every entity map of the project in run order (enabled or not), with its definition."""
    entity_maps = list(EntityMap.objects.filter(project=project).select_related("project"))
    field_maps: dict[int, list[FieldMap]] = defaultdict(list)
    for fm in FieldMap.objects.filter(entity_map__project=project).prefetch_related("value_map"):
        field_maps[fm.entity_map_id].append(fm)
    return [(entity_map, _from_models(entity_map, field_maps[entity_map.pk])) for entity_map in entity_maps]
