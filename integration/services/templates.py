"""Load a built-in template (a JSON file in `integration/sync_templates/`) into a project.

A template is data: entity maps in run order, each with its field maps, in the models' own field names. It is
checked completely before anything is written (every rule builds, every lookup names a map of the template and
an attribute that map keeps), so a bad template never leaves a half-loaded project.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from integration.definitions import definition, field_rule
from integration.mapping import MapDefinition, source_fields
from integration.models import (
    ChangeDetection,
    Connection,
    Direction,
    EntityMap,
    FieldMap,
    KeyChange,
    OrganizationMapping,
    Project,
    System,
    ValueMapEntry,
)

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "sync_templates"
_MAP_FIELDS = frozenset({
    "name", "direction", "source_entity_set", "source_key_fields", "source_id_field", "source_filter",
    "conditions", "change_detection", "watermark_field", "destination_entity_set", "destination_key_fields",
    "destination_lookup_fields", "destination_api_key_fields", "destination_id_field", "link_attributes",
    "propagate_deletes", "on_key_change", "create_only", "system_of_record",
})
# A map that does not say what to do when a record's key changes creates the new record and reports the old one:
# the one choice every destination allows (F&O refuses to change a key field).
_DEFAULT_ON_KEY_CHANGE = KeyChange.CREATE_AND_REPORT
_ORG_FIELDS = ("business_unit", "legal_entity", "is_default", "exports_products")


class TemplateError(Exception):
    """The template, its options or the project it goes into are not usable; nothing was written."""


def template_names() -> list[str]:
    return sorted(path.stem for path in TEMPLATE_DIR.glob("*.json"))


def template_read(*, name: str) -> dict:
    """The template's data as in its file (checked by `template_definitions`)."""
    if name not in template_names():
        raise TemplateError(f"no template named {name!r} (available: {', '.join(template_names())})")
    return json.loads((TEMPLATE_DIR / f"{name}.json").read_text(encoding="utf-8"))


def template_definitions(*, template: Mapping) -> list[MapDefinition]:
    """The template's entity maps as pure definitions, in run order; TemplateError on the first fault."""
    definitions = [_map_definition(spec) for spec in template["entity_maps"]]
    names = [spec["name"] for spec in template["entity_maps"]]
    if len(set(names)) != len(names):
        raise TemplateError("entity map names must be unique")
    _check_lookups(template["entity_maps"], definitions)
    _check_reverse_maps(template["entity_maps"])
    return definitions


def _map_definition(spec: Mapping) -> MapDefinition:
    name = spec.get("name", "(unnamed)")
    unknown = set(spec) - _MAP_FIELDS - {"field_maps", "notes", "reverse_map"}
    if unknown:
        raise TemplateError(f"{name}: unknown entity map fields {sorted(unknown)}")
    if spec.get("direction") not in Direction.values or spec.get("change_detection") not in ChangeDetection.values:
        raise TemplateError(f"{name}: invalid direction or change detection")
    if spec.get("on_key_change", _DEFAULT_ON_KEY_CHANGE) not in KeyChange.values:
        raise TemplateError(f"{name}: on_key_change must be one of {', '.join(KeyChange.values)}")
    if spec.get("system_of_record", "") not in ("", *System.values):
        raise TemplateError(f"{name}: system_of_record must be one of {', '.join(System.values)}")
    if bool(spec.get("destination_lookup_fields")) != bool(spec.get("destination_api_key_fields")):
        raise TemplateError(f"{name}: lookup fields find a record whose own key is server-generated; "
                            "give both destination_lookup_fields and destination_api_key_fields")
    try:
        return definition(name=name, source_key_fields=spec["source_key_fields"],
                          source_id_field=spec.get("source_id_field", ""),
                          destination_key_fields=spec["destination_key_fields"],
                          conditions=spec.get("conditions", ()),
                          fields=[field_rule(**field) for field in spec["field_maps"]])
    except KeyError as exc:
        raise TemplateError(f"{name}: missing {exc}") from None
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"{name}: {exc}") from None


def _check_lookups(specs: list[Mapping], definitions: Iterable[MapDefinition]) -> None:
    """Every lookup names an earlier map (parents sync first), which keeps what the lookup reads."""
    earlier: dict[str, Mapping] = {}
    for spec, definition_ in zip(specs, definitions, strict=True):
        for rule in definition_.fields:
            options = rule.options.get("lookup")
            for target_name in options["entity_maps"] if options else ():
                problem = _lookup_problem(earlier.get(target_name), options)
                if problem:
                    raise TemplateError(f"{spec['name']}: {rule.destination} looks up {target_name}, {problem}")
        earlier[spec["name"]] = spec


def _check_reverse_maps(specs: list[Mapping]) -> None:
    """A two-way flow is two maps naming each other, each reading what the other writes, in opposite directions,
    agreeing on the system of record."""
    by_name = {spec["name"]: spec for spec in specs}
    for spec in specs:
        name = spec.get("reverse_map")
        if not name:
            continue
        other = by_name.get(name)
        if other is None or other.get("reverse_map") != spec["name"]:
            raise TemplateError(f"{spec['name']}: its reverse map {name} must be a map of the template that names "
                                f"{spec['name']} as its own reverse map")
        if (other["direction"] == spec["direction"] or other["source_entity_set"] != spec["destination_entity_set"]
                or other["destination_entity_set"] != spec["source_entity_set"]):
            raise TemplateError(f"{spec['name']}: its reverse map {name} must sync the same entity sets the other way")
        if {spec.get("system_of_record", ""), other.get("system_of_record", "")} - {""} not in ({"finops"},
                                                                                            {"dataverse"}, set()):
            raise TemplateError(f"{spec['name']} and {name} must agree on the system of record")


def _lookup_problem(target: Mapping | None, options: Mapping) -> str | None:
    returns = options.get("return", "destination_id")
    if target is None:
        return "which is not an earlier entity map"
    if returns.startswith("attributes.") and returns.split(".", 1)[1] not in target.get("link_attributes", ()):
        return f"which does not keep {returns}"
    if "destination_id" in (returns, options.get("match")) and not target.get("destination_id_field"):
        return "which has no destination id field"
    return None


def _check_organization_mappings(mappings: list[Mapping], template: Mapping) -> None:
    for mapping in mappings:
        if not str(mapping.get("business_unit", "")).strip() or not str(mapping.get("legal_entity", "")).strip():
            raise TemplateError("an organization mapping needs a business unit and a legal entity")
    units = [str(m["business_unit"]).casefold() for m in mappings]
    if len(set(units)) != len(units):
        raise TemplateError("a business unit can be mapped to one legal entity only")
    for flag, what in (("is_default", "default legal entity"), ("exports_products", "product company")):
        if sum(bool(m.get(flag)) for m in mappings) > 1:
            raise TemplateError(f"only one organization mapping can be the {what}")
    needs_products = any("{product_company}" in spec.get("source_filter", "") for spec in template["entity_maps"])
    if needs_products and not any(m.get("exports_products") for m in mappings):
        raise TemplateError("the template exports products from one company: name it (the product company)")


def organization_mappings_build(*, pairs: list[tuple[str, str]], default_legal_entity: str | None,
                                product_company: str | None, template: Mapping) -> list[dict]:
    """Organization mappings from "business unit = legal entity" pairs (or the template's, when there are none).

    The default is the first mapping of `default_legal_entity` (else of the first pair); the product company is
    the first mapping of `product_company` (else the default's legal entity).
    """
    if pairs:
        mappings = [{"business_unit": unit, "legal_entity": entity.lower(), "is_default": False,
                     "exports_products": False} for unit, entity in pairs]
        default_legal_entity = default_legal_entity or mappings[0]["legal_entity"]
    else:
        mappings = [{key: m[key] for key in _ORG_FIELDS} for m in template["organization_mappings"]]
        default_legal_entity = default_legal_entity or next(
            (m["legal_entity"] for m in mappings if m["is_default"]), None)
    product_company = product_company or default_legal_entity
    for flag, legal_entity in (("is_default", default_legal_entity), ("exports_products", product_company)):
        if legal_entity is None:
            continue
        chosen = next((m for m in mappings if m["legal_entity"] == legal_entity.lower()), None)
        if chosen is None:
            raise TemplateError(f"no organization mapping has the legal entity {legal_entity!r}")
        for mapping in mappings:
            mapping[flag] = mapping is chosen
    return mappings


@transaction.atomic
def template_load(*, name: str, project: str, sales_connection: Connection, finops_connection: Connection,
                  organization_mappings: list[dict] | None = None, replace: bool = False) -> Project:
    """Create a project from a template, or (with `replace`) bring an existing one back to the template.

    Replacing updates entity maps in place by name, so their key links and change cursors stay (nothing is
    synced twice); it keeps each map's enabled switch, and disables maps the template no longer has rather than
    deleting their links and history. Organization mappings are replaced only when given.
    """
    template = template_read(name=name)
    definitions = template_definitions(template=template)
    try:
        validate_slug(project)
    except ValidationError:
        raise TemplateError(f"project name {project!r} must be letters, digits, '-' or '_'") from None
    if sales_connection.system != System.DATAVERSE:
        raise TemplateError(f"connection {sales_connection.name!r} is not a Dynamics 365 Sales connection")
    if finops_connection.system != System.FINOPS:
        raise TemplateError(f"connection {finops_connection.name!r} is not a Finance and Operations connection")
    existing = Project.objects.select_for_update().filter(name=project).first()
    if existing is not None and not replace:
        raise TemplateError(f"project {project!r} already exists; load with replace to update it")
    if existing is None and organization_mappings is None:
        organization_mappings = [dict(m) for m in template["organization_mappings"]]
    if organization_mappings is not None:
        _check_organization_mappings(organization_mappings, template)

    fields = {"template": name, "description": template.get("description", ""),
              "sales_connection": sales_connection, "finops_connection": finops_connection}
    project_obj, _ = Project.objects.update_or_create(name=project, defaults=fields)
    if organization_mappings is not None:
        project_obj.organization_mappings.all().delete()
        OrganizationMapping.objects.bulk_create(
            OrganizationMapping(project=project_obj, **{key: m.get(key, False) for key in _ORG_FIELDS})
            for m in organization_mappings)
    loaded = {}
    for order, (spec, definition_) in enumerate(zip(template["entity_maps"], definitions, strict=True), start=1):
        loaded[spec["name"]] = _entity_map_load(project_obj, spec, definition_, order=order)
    for spec in template["entity_maps"]:
        EntityMap.objects.filter(pk=loaded[spec["name"]].pk).update(
            reverse_map=loaded[spec["reverse_map"]] if spec.get("reverse_map") else None)
    project_obj.entity_maps.exclude(name__in=list(loaded)).update(enabled=False)
    return project_obj


def _entity_map_load(project: Project, spec: Mapping, definition_: MapDefinition, *, order: int) -> EntityMap:
    values = {key: spec[key] for key in _MAP_FIELDS - {"name"} if key in spec}
    values.update(order=order, source_select=list(source_fields(definition_)),
                  on_key_change=spec.get("on_key_change", _DEFAULT_ON_KEY_CHANGE),
                  create_only=spec.get("create_only", False), system_of_record=spec.get("system_of_record", ""))
    entity_map, _ = EntityMap.objects.update_or_create(
        project=project, name=spec["name"], defaults=values, create_defaults={**values, "enabled": True})
    entity_map.field_maps.all().delete()
    field_maps = FieldMap.objects.bulk_create(
        FieldMap(entity_map=entity_map, order=position, destination_field=field["destination_field"],
                 source_field=field.get("source_field", ""), transforms=field.get("transforms", []),
                 options=field.get("options", {}), default_value=field.get("default_value"),
                 max_length=field.get("max_length"), required=field.get("required", False),
                 value_map_default=field.get("value_map_default"), omit_blank=field.get("omit_blank", False))
        for position, field in enumerate(spec["field_maps"], start=1))
    ValueMapEntry.objects.bulk_create(
        ValueMapEntry(field_map=field_map, source_value=source_value, destination_value=destination_value)
        for field_map, field in zip(field_maps, spec["field_maps"], strict=True)
        for source_value, destination_value in field.get("value_map", {}).items())
    return entity_map
