"""The served tables come from Microsoft's metadata, and the emulator's hand-written behaviour touches real columns
only: `require` fails for a column the metadata lacks, and seeding stores nothing the entity types do not have."""

from __future__ import annotations

import pytest

from connectors.emulators.dataverse.schema import ENTITY_SETS, require
from connectors.emulators.microsoft_metadata import dataverse_tables

INTERNAL = ("_version",)  # the store's row version (rendered as versionnumber)


def test_every_table_of_the_metadata_is_served_with_its_key_and_primary_name():
    tables = dataverse_tables()
    assert set(ENTITY_SETS) == set(tables)
    for name, table in tables.items():
        entity_set = ENTITY_SETS[name]
        assert (entity_set.logical, entity_set.key, entity_set.primary_name) == (
            table.logical_name, table.key, table.primary_name)


def test_lookups_are_read_as_value_properties_and_bound_by_the_recorded_navigation_names():
    quote = ENTITY_SETS["quotes"]
    assert quote.properties["_customerid_value"] == "Edm.Guid"
    assert "customerid" not in quote.properties
    assert {nav: target for nav, (_, target) in quote.bindable.items() if nav.startswith("customerid")} == {
        "customerid_account": "accounts", "customerid_contact": "contacts"}
    assert "QuoteDetailId" in ENTITY_SETS["salesorderdetails"].bindable
    assert "SalesOrderDetailId" in ENTITY_SETS["invoicedetails"].bindable


def test_a_column_of_unknown_type_is_a_read_only_string():
    column = ENTITY_SETS["accounts"].columns["adx_createdbyusername"]
    assert (column.edm, column.attribute_type, column.read_only) == ("Edm.String", None, True)


def test_the_prospect_to_cash_solution_columns_are_served():
    assert ENTITY_SETS["contacts"].columns["msdynce_contactnumber"].solution == "msdynce_ProspectToCashIntegration"
    assert ENTITY_SETS["salesorders"].columns["msdynce_processingstatus"].options[647390001] == "Confirmed"


def test_require_fails_for_a_column_the_metadata_lacks():
    require("products", "productnumber", "_defaultuomid_value")
    with pytest.raises(AssertionError, match="products has no nosuchcolumn"):
        require("products", "productnumber", "nosuchcolumn")
    with pytest.raises(AssertionError, match="widgets"):
        require("widgets", "name")


def test_reference_data_and_seeds_store_only_real_columns(dv):
    dv.handle.seed(accounts=20, contacts=30, products=5, quotes=5, quotedetails=5, salesorders=5, invoices=5)
    records = dv.handle.emulator.app.records
    unknown = set()
    for name, entity_set in ENTITY_SETS.items():
        allowed = set(entity_set.properties) | {lookup.type_field for lookup in entity_set.lookups.values()}
        for row in records.table(name).scan():
            unknown |= {f"{name}.{field}" for field in row if field not in allowed and field not in INTERNAL}
    assert unknown == set()
