"""Load a built-in template (a JSON file in `integration/sync_templates/`) into a project, or upgrade a project to a
new version of it, keeping the project's own edits (services.upgrades).

A template is data: entity maps in run order, each with its field maps, in the models' own field names. It is
checked completely before anything is written (every rule builds, every lookup names a map of the template and
an attribute that map keeps), so a bad template never leaves a half-loaded project.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from integration.definitions import definition, field_rule
from integration.mapping import MapDefinition
from integration.models import ChangeDetection, Connection, Direction, KeyChange, Project, System
from integration.services.project_files import (
    MAP_DEFAULTS,
    ORG_FIELDS,
    maps_apply,
    organization_mappings_apply,
    project_document,
)
from integration.services.upgrades import MergeReport, documents_merge

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "sync_templates"
_MAP_FIELDS = frozenset({"name", *MAP_DEFAULTS})
_DEFAULT_ON_KEY_CHANGE = MAP_DEFAULTS["on_key_change"]


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
    unknown = set(spec) - _MAP_FIELDS - {"field_maps", "notes", "enabled"}
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


def organization_mappings_check(mappings: list[Mapping], template: Mapping) -> None:
    """TemplateError when the mappings cannot route records: blank, a unit twice, two defaults, no product company."""
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
        mappings = [{key: m[key] for key in ORG_FIELDS} for m in template["organization_mappings"]]
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


def _checked_target(project: str, sales_connection: Connection, finops_connection: Connection) -> None:
    try:
        validate_slug(project)
    except ValidationError:
        raise TemplateError(f"project name {project!r} must be letters, digits, '-' or '_'") from None
    if sales_connection.system != System.DATAVERSE:
        raise TemplateError(f"connection {sales_connection.name!r} is not a Dynamics 365 Sales connection")
    if finops_connection.system != System.FINOPS:
        raise TemplateError(f"connection {finops_connection.name!r} is not a Finance and Operations connection")


@transaction.atomic
def template_load(*, name: str, project: str, sales_connection: Connection, finops_connection: Connection,
                  organization_mappings: list[dict] | None = None, replace: bool = False,
                  template: Mapping | None = None) -> Project:
    """Create a project from a template (`template`: its data, else the built-in one named `name`), keeping the
    template as the base of later upgrades; with `replace`, upgrade an existing one (`template_upgrade`)."""
    template = dict(template) if template is not None else template_read(name=name)
    template_definitions(template=template)
    _checked_target(project, sales_connection, finops_connection)
    existing = Project.objects.select_for_update().filter(name=project).first()
    if existing is not None:
        if not replace:
            raise TemplateError(f"project {project!r} already exists; load with replace to update it")
        return template_upgrade(project=existing, name=name, template=template, sales_connection=sales_connection,
                                finops_connection=finops_connection,
                                organization_mappings=organization_mappings).project
    mappings = organization_mappings if organization_mappings is not None else [
        dict(m) for m in template["organization_mappings"]]
    organization_mappings_check(mappings, template)
    project_obj = Project.objects.create(name=project, template=name, description=template.get("description", ""),
                                         sales_connection=sales_connection, finops_connection=finops_connection,
                                         template_base=template)
    organization_mappings_apply(project=project_obj, mappings=mappings)
    maps_apply(project=project_obj, specs=template["entity_maps"])
    return project_obj


@dataclass
class Upgrade:
    project: Project
    report: MergeReport


class UpgradeRefused(TemplateError):
    """The project has no record of the template it came from, so its own edits cannot be told apart."""


@transaction.atomic
def template_upgrade(*, project: Project, name: str, template: Mapping, sales_connection: Connection,
                     finops_connection: Connection, organization_mappings: list[dict] | None = None,
                     prefer_template: bool = False, reset: bool = False) -> Upgrade:
    """Bring the project to a new version of its template and keep its own edits (services.upgrades: a three-way
    merge with the template it was loaded from), in place: entity maps keep their links, cursors and history.
    `reset` takes the template's maps whole, dropping the project's edits (each one is reported).
    Organization mappings are replaced only when given."""
    template_definitions(template=template)
    _checked_target(project.name, sales_connection, finops_connection)
    if project.template_base is None and not reset:
        raise UpgradeRefused(
            f"project {project.name} has no record of the template it was loaded from (it was loaded before p2c "
            "kept one), so its own edits cannot be told from the template's changes and would be lost. Export it "
            f"first (python manage.py export_project {project.name} > {project.name}.json), then reset it to the "
            "template with --reset and put back what you need (python manage.py diff_projects shows the "
            "differences)")
    ours = project_document(project=project)
    base = ours if reset else project.template_base
    specs, report = documents_merge(base=base, ours=ours, theirs=template, prefer_template=prefer_template)
    try:
        template_definitions(template={"entity_maps": specs})
    except TemplateError as exc:
        raise TemplateError(f"the merged maps are not valid ({exc}); resolve it in the project (or upgrade with "
                            "the template preferred) and try again") from None
    if organization_mappings is not None:
        organization_mappings_check(organization_mappings, template)
    if project.description == base.get("description", ""):
        project.description = template.get("description", project.description)
    project.template, project.template_base = name, dict(template)
    project.sales_connection, project.finops_connection = sales_connection, finops_connection
    project.save()
    if organization_mappings is not None:
        organization_mappings_apply(project=project, mappings=organization_mappings)
    maps_apply(project=project, specs=specs)
    return Upgrade(project, report)
