"""Every shipped template agrees with Microsoft's published metadata (connectors/emulators/microsoft_metadata), not
with our emulators: entity sets, every field read and written, navigation names, keys, nullability and enum members.
A map that fails here would fail in a real tenant, whatever the emulators accept."""

from __future__ import annotations

import re

import pytest

from connectors.emulators.microsoft_metadata import dataverse_tables, finops_entities, finops_enums
from integration.mapping import source_fields
from integration.services.templates import template_definitions, template_names, template_read

FINOPS = finops_entities()
SALES = dataverse_tables()
ENUMS = finops_enums()
MAPS = [(name, spec, definition) for name in template_names()
        for spec, definition in zip(template_read(name=name)["entity_maps"],
                                    template_definitions(template=template_read(name=name)), strict=True)]
TO_FINOPS = [(name, spec, definition) for name, spec, definition in MAPS if spec["direction"] == "sales_to_finops"]
TO_SALES = [(name, spec, definition) for name, spec, definition in MAPS if spec["direction"] == "finops_to_sales"]


def ids(maps):
    return [f"{name}:{spec['name']}" for name, spec, _ in maps]
_FILTER_FIELD = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s+(?:eq|ne|gt|ge|lt|le)\b")


def source_side(spec):
    return spec["source_entity_set"], spec["direction"] == "finops_to_sales"


def destination_side(spec):
    return spec["destination_entity_set"], spec["direction"] == "sales_to_finops"


def readable(entity_set: str, finops: bool) -> set[str]:
    if finops:
        return set(FINOPS[entity_set].properties)
    table = SALES[entity_set]
    return {table.key, *table.columns, *(lookup.read_property for lookup in table.lookups.values())}


def sales_writable(entity_set: str) -> dict[str, int | None]:
    """Writable column -> its maximum length, plus `<navigation>@odata.bind` for every writable lookup's binds."""
    table = SALES[entity_set]
    lookups = set(table.lookups)
    fields = {name: column.max_length for name, column in table.columns.items()
              if column.writable and name not in lookups}
    for lookup in table.lookups.values():
        if lookup.writable:
            fields.update({f"{navigation}@odata.bind": None for navigation in lookup.navigation})
    return fields


def test_templates_are_found():
    assert "prospect_to_cash" in template_names()
    assert MAPS


@pytest.mark.parametrize(("template", "spec", "definition"), MAPS, ids=ids(MAPS))
def test_entity_sets_exist(template, spec, definition):
    for entity_set, finops in (source_side(spec), destination_side(spec)):
        assert entity_set in (FINOPS if finops else SALES), f"{entity_set} is not in Microsoft's metadata"


@pytest.mark.parametrize(("template", "spec", "definition"), MAPS, ids=ids(MAPS))
def test_every_field_read_exists_at_the_source(template, spec, definition):
    entity_set, finops = source_side(spec)
    fields = readable(entity_set, finops)
    read = [*source_fields(definition), *_FILTER_FIELD.findall(spec.get("source_filter", ""))]
    if spec["change_detection"] == "watermark":
        read.append(spec.get("watermark_field") or "modifiedon")
    assert [name for name in read if name not in fields] == []


@pytest.mark.parametrize(("template", "spec", "definition"), MAPS, ids=ids(MAPS))
def test_every_field_written_exists_and_is_writable_at_the_destination(template, spec, definition):
    entity_set, finops = destination_side(spec)
    fields = set(FINOPS[entity_set].properties) if finops else set(sales_writable(entity_set))
    assert [rule.destination for rule in definition.fields if rule.destination not in fields] == []
    kept = [*spec.get("link_attributes", ()), *spec.get("destination_lookup_fields", ()),
            *spec.get("destination_api_key_fields", ()),
            *([spec["destination_id_field"]] if spec.get("destination_id_field") else [])]
    assert [name for name in kept if name not in readable(entity_set, finops)] == []


@pytest.mark.parametrize(("template", "spec", "definition"), MAPS, ids=ids(MAPS))
def test_records_are_addressed_by_the_destination_entitys_real_key(template, spec, definition):
    entity_set, finops = destination_side(spec)
    if finops:
        # F&O addresses a record by its whole key, exactly; a server-generated key is read back from the
        # record found by the lookup fields, which must be mapped.
        address = spec.get("destination_api_key_fields") or spec["destination_key_fields"]
        assert set(address) == set(FINOPS[entity_set].key)
        mapped = {rule.destination for rule in definition.fields}
        assert set(spec.get("destination_lookup_fields", ())) <= mapped
    else:
        table = SALES[entity_set]
        keys = [[table.key], *map(list, table.alternate_keys.values()),
                *template_read(name=template).get("sales_alternate_keys", {}).get(entity_set, [])]
        assert sorted(spec["destination_key_fields"]) in [sorted(key) for key in keys]


@pytest.mark.parametrize(("template", "spec", "definition"), TO_FINOPS, ids=ids(TO_FINOPS))
def test_no_null_is_sent_for_a_property_that_cannot_be_null(template, spec, definition):
    """Dataverse has no Nullable=false columns (required levels are for check_project); F&O refuses a null."""
    entity_set, _ = destination_side(spec)
    properties = FINOPS[entity_set].properties
    nullable_risk = [rule.destination for rule in definition.fields
                     if not properties[rule.destination].nullable
                     and not (rule.required or rule.omit_blank or rule.default is not None
                              or "constant" in rule.transforms)]
    assert nullable_risk == []


@pytest.mark.parametrize(("template", "spec", "definition"), TO_FINOPS, ids=ids(TO_FINOPS))
def test_enum_values_written_are_members_spelled_exactly(template, spec, definition):
    entity_set, _ = destination_side(spec)
    for rule in definition.fields:
        prop = FINOPS[entity_set].properties[rule.destination]
        if not prop.is_enum:
            continue
        values = [*rule.value_map.values(), rule.default,
                  rule.options.get("constant", {}).get("value")]
        conversion = rule.options.get("convert", {}).get("to")
        assert conversion in (None, "noyes")
        assert conversion != "noyes" or prop.type == "NoYes"
        assert [v for v in values if v is not None and v not in ENUMS[prop.type]] == [], rule.destination


@pytest.mark.parametrize(("template", "spec", "definition"), TO_SALES, ids=ids(TO_SALES))
def test_no_truncation_is_longer_than_the_sales_column(template, spec, definition):
    """F&O's metadata publishes no MaxLength (NOTES.md 1), so only Sales columns are checked."""
    entity_set, _ = destination_side(spec)
    fields = sales_writable(entity_set)
    assert [rule.destination for rule in definition.fields
            if rule.max_length and fields[rule.destination] and rule.max_length > fields[rule.destination]] == []


@pytest.mark.parametrize(("template", "spec", "definition"), TO_SALES, ids=ids(TO_SALES))
def test_binds_point_at_the_entity_set_of_their_navigation(template, spec, definition):
    entity_set, _ = destination_side(spec)
    table = SALES[entity_set]
    for rule in definition.fields:
        if not rule.destination.endswith("@odata.bind"):
            continue
        navigation = table.navigation[rule.destination.removesuffix("@odata.bind")]
        template_text = rule.options.get("format", {}).get("template", "")
        assert template_text.startswith(f"/{navigation.referenced_entity_set}("), rule.destination


@pytest.mark.parametrize(("template", "spec", "definition"), MAPS, ids=ids(MAPS))
def test_reference_lookups_name_real_sales_columns(template, spec, definition):
    for rule in definition.fields:
        options = rule.options.get("reference")
        if not options:
            continue
        on_sales = (options["system"] == "source") == (spec["direction"] == "sales_to_finops")
        assert on_sales, "reference data is read from Sales in the shipped templates"
        fields = readable(options["entity_set"], finops=False)
        named = {options["match_field"], options["return_field"], *options.get("where", {})}
        for condition in options.get("where", {}).values():
            if isinstance(condition, dict):
                assert {condition["match_field"], condition["return_field"]} <= readable(condition["entity_set"],
                                                                                        finops=False)
        assert named <= fields
