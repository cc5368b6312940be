"""A project's maps as a file: written out (`export_project`), read back in (`import_project`), compared.

The file is the template format (entity maps in run order, each with its field maps in order, in the models' own
field names), plus the project's own settings (which maps are enabled, its organization mappings). It holds no
database id and no connection secret, and is written with sorted keys and sorted value maps, so the same maps
always give the same bytes and a file is worth keeping in git. Maps are applied in place: an entity map keeps
its links, cursor and history, a field map its id, a value map entry its id when its source value stays.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from integration.definitions import map_definition
from integration.mapping import source_fields
from integration.models import Connection, EntityMap, FieldMap, KeyChange, OrganizationMapping, Project
from integration.services.field_maps import value_map_save

FORMAT = "p2c-project/1"
MAP_DEFAULTS: dict[str, Any] = {
    "direction": "", "source_entity_set": "", "source_key_fields": [], "source_id_field": "", "source_filter": "",
    "conditions": [], "change_detection": "", "watermark_field": "modifiedon", "destination_entity_set": "",
    "destination_key_fields": [], "destination_lookup_fields": [], "destination_api_key_fields": [],
    "destination_id_field": "", "link_attributes": [], "propagate_deletes": False,
    # A map that does not say what to do when a record's key changes creates the new record and reports the old
    # one: the one choice every destination allows (F&O refuses to change a key field).
    "on_key_change": KeyChange.CREATE_AND_REPORT.value,
    # Two-way flows (services.two_way): the map that writes the other way, by name, and which side wins a conflict.
    "create_only": False, "reverse_map": "", "system_of_record": "",
}
FIELD_DEFAULTS: dict[str, Any] = {
    "source_field": "", "transforms": [], "options": {}, "default_value": None, "max_length": None,
    "required": False, "omit_blank": False, "value_map": {}, "value_map_default": None,
}
ORG_FIELDS = ("business_unit", "legal_entity", "is_default", "exports_products")


# --- the canonical form ----------------------------------------------------------------------------------------
def map_spec(spec: Mapping) -> dict:
    """An entity map as a template or file gives it, every field present (defaults filled in), notes left out."""
    canonical = {"name": spec["name"], **{key: spec.get(key, default) for key, default in MAP_DEFAULTS.items()}}
    canonical["field_maps"] = [field_spec(field) for field in spec.get("field_maps", [])]
    if "enabled" in spec:
        canonical["enabled"] = bool(spec["enabled"])
    return canonical


def field_spec(field: Mapping) -> dict:
    canonical = {"destination_field": field["destination_field"],
                 **{key: field.get(key, default) for key, default in FIELD_DEFAULTS.items()}}
    canonical["value_map"] = dict(sorted(dict(canonical["value_map"]).items()))
    return canonical


def _compact(canonical: Mapping, defaults: Mapping) -> dict:
    return {key: value for key, value in canonical.items() if key not in defaults or value != defaults[key]}


# --- writing out -----------------------------------------------------------------------------------------------
def project_document(*, project: Project, with_base: bool = False) -> dict:
    """The project's maps and settings as a file holds them (compact: values equal to a default are left out)."""
    maps = []
    for entity_map in project.entity_maps.order_by("order", "id").select_related("reverse_map").prefetch_related(
            "field_maps__value_map"):
        spec = {"name": entity_map.name, "enabled": entity_map.enabled,
                **{key: getattr(entity_map, key) for key in MAP_DEFAULTS if key != "reverse_map"},
                "reverse_map": entity_map.reverse_map.name if entity_map.reverse_map else ""}
        fields = []
        for field_map in entity_map.field_maps.order_by("order", "id"):
            field = {"destination_field": field_map.destination_field,
                     **{key: getattr(field_map, key) for key in FIELD_DEFAULTS if key != "value_map"},
                     "value_map": {e.source_value: e.destination_value for e in field_map.value_map.all()}}
            fields.append(_compact(field_spec(field), FIELD_DEFAULTS))
        maps.append({**_compact(spec, MAP_DEFAULTS), "field_maps": fields})
    document = {
        "format": FORMAT, "project": project.name, "description": project.description, "template": project.template,
        "organization_mappings": sorted(({key: getattr(m, key) for key in ORG_FIELDS}
                                         for m in project.organization_mappings.all()),
                                        key=lambda m: (m["legal_entity"], m["business_unit"])),
        "entity_maps": maps,
    }
    if with_base and project.template_base is not None:
        document["template_base"] = project.template_base
    return document


def document_text(document: Mapping) -> str:
    """The same document always gives the same text: sorted keys, two-space indents, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class DocumentInvalid(ValueError):
    """The file is not a p2c project document, or its maps are not valid; nothing was written."""


def document_read(*, text: str) -> dict:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise DocumentInvalid(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("entity_maps"), list):
        raise DocumentInvalid("not a p2c project document (no entity_maps list)")
    if document.get("format", FORMAT) != FORMAT:
        raise DocumentInvalid(f"format {document['format']!r} is not {FORMAT!r}")
    return document


# --- applying --------------------------------------------------------------------------------------------------
@transaction.atomic
def maps_apply(*, project: Project, specs: Iterable[Mapping], disable_others: bool = True) -> None:
    """Make the project's entity maps those of `specs`, in their order, updating in place by name (checked as a
    template is: call `templates.template_definitions` first). Maps not in `specs` are disabled, never deleted:
    their links and history stay."""
    names, reverse_names = [], {}
    for order, spec in enumerate((map_spec(spec) for spec in specs), start=1):
        values = {key: spec[key] for key in MAP_DEFAULTS if key != "reverse_map"}
        enabled = spec.get("enabled")
        entity_map, created = EntityMap.objects.get_or_create(
            project=project, name=spec["name"], defaults={**values, "order": order,
                                                          "enabled": True if enabled is None else enabled})
        if not created:
            for key, value in values.items():
                setattr(entity_map, key, value)
            entity_map.order = order
            if enabled is not None:
                entity_map.enabled = enabled
            entity_map.save()
        _field_maps_apply(entity_map, spec["field_maps"])
        entity_map.source_select = list(source_fields(map_definition(entity_map)))
        entity_map.save(update_fields=["source_select"])
        names.append(spec["name"])
        reverse_names[entity_map.pk] = spec["reverse_map"]
    # A reverse map names a map of the same specs, which may come after it: linked once all of them exist.
    by_name = dict(project.entity_maps.filter(name__in=names).values_list("name", "pk"))
    for pk, reverse_name in reverse_names.items():
        EntityMap.objects.filter(pk=pk).update(reverse_map_id=by_name.get(reverse_name) if reverse_name else None)
    if disable_others:
        project.entity_maps.exclude(name__in=names).update(enabled=False)


def _field_maps_apply(entity_map: EntityMap, fields: list[dict]) -> None:
    existing = {fm.destination_field: fm for fm in entity_map.field_maps.all()}
    wanted = {field["destination_field"] for field in fields}
    for name, field_map in existing.items():
        if name not in wanted:
            field_map.delete()
    for order, field in enumerate(fields, start=1):
        field_map = existing.get(field["destination_field"]) or FieldMap(entity_map=entity_map,
                                                                        destination_field=field["destination_field"])
        field_map.order = order
        for key in FIELD_DEFAULTS:
            if key != "value_map":
                setattr(field_map, key, field[key])
        field_map.save()
        value_map_save(field_map=field_map, entries=field["value_map"])


def organization_mappings_apply(*, project: Project, mappings: Iterable[Mapping]) -> None:
    project.organization_mappings.all().delete()
    OrganizationMapping.objects.bulk_create(
        OrganizationMapping(project=project, **{key: m.get(key, False) for key in ORG_FIELDS}) for m in mappings)


@transaction.atomic
def project_import(*, document: Mapping, name: str, sales_connection: Connection | None = None,
                   finops_connection: Connection | None = None) -> Project:
    """Make the project `name` what the document says (creating it, with the two connections, when there is none),
    in place; the document is checked as a template is, before anything is written."""
    from integration.services.templates import organization_mappings_check, template_definitions

    template_definitions(template={"entity_maps": document["entity_maps"]})
    for connection, system in ((sales_connection, "dataverse"), (finops_connection, "finops")):
        if connection is not None and connection.system != system:
            raise DocumentInvalid(f"connection {connection.name!r} is not a {connection.get_system_display()} "
                                  "connection for that side")
    mappings = document.get("organization_mappings")
    if mappings is not None:
        organization_mappings_check(mappings, document)
    project = Project.objects.select_for_update().filter(name=name).first()
    if project is None:
        if sales_connection is None or finops_connection is None:
            raise DocumentInvalid(f"project {name} does not exist: give its Sales and F&O connections to create it")
        try:
            validate_slug(name)
        except ValidationError:
            raise DocumentInvalid(f"project name {name!r} must be letters, digits, '-' or '_'") from None
        project = Project(name=name)
    project.description = document.get("description", project.description)
    project.template = document.get("template", project.template)
    if document.get("template_base") is not None:
        project.template_base = document["template_base"]
    project.sales_connection = sales_connection or project.sales_connection
    project.finops_connection = finops_connection or project.finops_connection
    project.save()
    if mappings is not None:
        organization_mappings_apply(project=project, mappings=mappings)
    maps_apply(project=project, specs=document["entity_maps"])
    return project


# --- comparing -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    path: tuple[str, ...]
    before: object  # MISSING when added
    after: object  # MISSING when removed

    def __str__(self) -> str:
        where = " / ".join(self.path)
        if self.before is MISSING:
            return f"+ {where}: {shown(self.after)}"
        if self.after is MISSING:
            return f"- {where} (was {shown(self.before)})"
        return f"~ {where}: {shown(self.before)} -> {shown(self.after)}"


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


MISSING: Any = _Missing()


def shown(value: object) -> str:
    """A value as a diff line shows it."""
    if isinstance(value, dict) and "destination_field" in value:
        return "a field map"
    if isinstance(value, dict) and "field_maps" in value:
        return "an entity map"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def tree(document: Mapping) -> dict:
    """The document as nested dicts keyed by name, which diffs and merges walk: entity maps by name, their field
    maps by destination field, value maps by source value; list positions are kept apart (`order`)."""
    maps = {}
    for spec in (map_spec(spec) for spec in document.get("entity_maps", [])):
        fields = {field["destination_field"]: field for field in spec.pop("field_maps")}
        maps[spec["name"]] = {**spec, "field maps": fields}
    return {"description": document.get("description", ""), "entity maps": maps}


def leaf_changes(path: tuple[str, ...], before: object, after: object) -> list[Change]:
    """What changes from `before` to `after` under `path` (trees, as `tree` makes them), leaf by leaf."""
    changes: list[Change] = []
    _diff(path, before, after, changes)
    return changes


def documents_diff(before: Mapping, after: Mapping) -> list[Change]:
    """What changes from `before` to `after`, leaf by leaf, in a stable order."""
    changes = leaf_changes((), tree(before), tree(after))
    for name, (old, new) in _orders(before, after).items():
        if old != new:
            changes.append(Change((*name, "order"), old, new))
    return changes


def _diff(path: tuple[str, ...], before: object, after: object, changes: list[Change]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict) and not _leaf_dict(path):
        for key in sorted(set(before) | set(after), key=str):
            _diff((*path, str(key)), before.get(key, MISSING), after.get(key, MISSING), changes)
        return
    changes.append(Change(path, before, after))


def _leaf_dict(path: tuple[str, ...]) -> bool:
    """Dicts compared whole: a field map's options (a transform's settings go together)."""
    return bool(path) and path[-1] == "options"


def _orders(before: Mapping, after: Mapping) -> dict[tuple[str, ...], tuple[list, list]]:
    """Entity map order, and each common map's field order (on the names both sides have)."""
    old_maps = [m["name"] for m in before.get("entity_maps", [])]
    new_maps = [m["name"] for m in after.get("entity_maps", [])]
    common = [n for n in old_maps if n in new_maps]
    orders = {("entity maps",): ([n for n in old_maps if n in common], [n for n in new_maps if n in common])}
    old_fields = {m["name"]: [f["destination_field"] for f in m.get("field_maps", [])]
                  for m in before.get("entity_maps", [])}
    for spec in after.get("entity_maps", []):
        if spec["name"] in old_fields:
            new = [f["destination_field"] for f in spec.get("field_maps", [])]
            old = old_fields[spec["name"]]
            orders[("entity maps", spec["name"], "field maps")] = ([f for f in old if f in new],
                                                                   [f for f in new if f in old])
    return orders
