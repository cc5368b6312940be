"""The template's field names agree with the two APIs as the emulators declare them (both follow the reference):
every field read exists at the source, every field written is writable at the destination, and no truncation
is longer than the destination holds."""

from __future__ import annotations

import pytest

from connectors.emulators.dataverse.schema import ENTITY_SETS as SALES
from connectors.emulators.finops.entities import ENTITY_SETS as FINOPS
from integration.mapping import source_fields
from integration.services.templates import template_definitions, template_read

TEMPLATE = template_read(name="prospect_to_cash")
MAPS = list(zip(TEMPLATE["entity_maps"], template_definitions(template=TEMPLATE), strict=True))


def sides(spec):
    if spec["direction"] == "finops_to_sales":
        return FINOPS[spec["source_entity_set"]], SALES[spec["destination_entity_set"]]
    return SALES[spec["source_entity_set"]], FINOPS[spec["destination_entity_set"]]


def writable(entity_set) -> dict[str, int | None]:
    """Writable field -> its maximum length (None: not a limited string)."""
    if entity_set in SALES.values():
        fields = {c.name: c.max_length for c in entity_set.columns.values() if not c.read_only}
        return fields | {f"{nav}@odata.bind": None for nav in entity_set.bindable}
    return {name: entity_set.field(name).size for name in entity_set.properties}


@pytest.mark.parametrize(("spec", "definition"), MAPS, ids=[spec["name"] for spec, _ in MAPS])
def test_every_field_read_exists_at_the_source(spec, definition):
    source, _ = sides(spec)
    assert [name for name in source_fields(definition) if name not in source.properties] == []


@pytest.mark.parametrize(("spec", "definition"), MAPS, ids=[spec["name"] for spec, _ in MAPS])
def test_every_field_written_is_writable_at_the_destination(spec, definition):
    _, destination = sides(spec)
    fields = writable(destination)
    assert [rule.destination for rule in definition.fields if rule.destination not in fields] == []
    for name in (*spec["destination_key_fields"], *spec.get("destination_lookup_fields", ())):
        assert name in fields
    kept = [*spec.get("link_attributes", ()), *spec.get("destination_api_key_fields", ()),
            *([spec["destination_id_field"]] if spec.get("destination_id_field") else [])]
    assert [name for name in kept if name not in destination.properties] == []


@pytest.mark.parametrize(("spec", "definition"), MAPS, ids=[spec["name"] for spec, _ in MAPS])
def test_no_truncation_is_longer_than_the_destination_field(spec, definition):
    _, destination = sides(spec)
    fields = writable(destination)
    too_long = [rule.destination for rule in definition.fields
                if rule.max_length and fields[rule.destination] and rule.max_length > fields[rule.destination]]
    assert too_long == []


def test_reference_lookups_name_sales_reference_fields():
    for _, definition in MAPS:
        for rule in definition.fields:
            options = rule.options.get("reference")
            if options:
                entity_set = SALES[options["entity_set"]]
                assert {options["match_field"], options["return_field"]} <= set(entity_set.properties)
