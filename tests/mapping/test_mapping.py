"""The mapping pipeline: every transform, every error and its message, the order of the steps, keys and hashes."""

from __future__ import annotations

import pickle
import uuid

import pytest

from integration.mapping import (
    Condition,
    FieldRule,
    MapDefinition,
    MappingError,
    MissingLink,
    destination_key_text,
    ineligibility,
    map_record,
    payload_hash,
    record_hash,
    source_fields,
    source_id,
    source_key,
)
from tests.mapping.resolver import DictResolver


def definition(*rules: FieldRule, conditions=(), key_fields=("id",)) -> MapDefinition:
    return MapDefinition("Things", key_fields, "guid", ("key",), (FieldRule("key", "id"), *rules), conditions)


def mapped(*rules: FieldRule, resolver: DictResolver | None = None, **record) -> dict:
    return map_record(definition(*rules), {"id": "T1", **record}, resolver or DictResolver()).payload


def mapping_error(*rules: FieldRule, resolver: DictResolver | None = None, **record) -> MappingError:
    with pytest.raises(MappingError) as caught:
        mapped(*rules, resolver=resolver, **record)
    return caught.value


# --- copy, constant, default, truncation, required: and their order ------------------------------------------------

def test_copy_takes_the_source_field():
    assert mapped(FieldRule("Name", "name"), name="Contoso")["Name"] == "Contoso"


def test_an_explicit_copy_step_is_the_same_as_none():
    assert mapped(FieldRule("Name", "name", ("copy",)), name="Contoso")["Name"] == "Contoso"


def test_a_missing_source_field_maps_to_none():
    assert mapped(FieldRule("Name", "name"))["Name"] is None


def test_constant_ignores_the_source():
    rule = FieldRule("PartyType", transforms=("constant",), options={"constant": {"value": "Organization"}})
    assert mapped(rule)["PartyType"] == "Organization"


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_default_replaces_a_blank_value(blank):
    assert mapped(FieldRule("CustomerGroupId", "group", default="10"), group=blank)["CustomerGroupId"] == "10"


def test_default_leaves_a_value_alone():
    assert mapped(FieldRule("CustomerGroupId", "group", default="10"), group="20")["CustomerGroupId"] == "20"


def test_a_blank_value_without_default_becomes_none():
    assert mapped(FieldRule("Phone", "phone"), phone="  ")["Phone"] is None


def test_max_length_truncates_strings():
    assert mapped(FieldRule("Name", "name", max_length=5), name="Contoso Ltd")["Name"] == "Conto"


def test_max_length_leaves_numbers_alone():
    assert mapped(FieldRule("Limit", "limit", max_length=2), limit=12345)["Limit"] == 12345


def test_the_default_is_applied_after_the_transforms_and_truncated_after():
    rule = FieldRule("Country", "country", ("value_map",), value_map={"Germany": ""}, default="United States",
                     max_length=6)
    assert mapped(rule, country="Germany")["Country"] == "United"


def test_required_is_checked_after_the_default():
    assert mapped(FieldRule("Group", "group", default="10", required=True))["Group"] == "10"


def test_a_required_blank_value_names_the_record_and_field():
    error = mapping_error(FieldRule("CustomerAccount", "accountnumber", required=True), accountnumber=" ")
    assert str(error) == "T1: CustomerAccount: is required but blank"
    assert (error.record_key, error.field, error.reason) == ("T1", "CustomerAccount", "is required but blank")


# --- value maps ----------------------------------------------------------------------------------------------------

COUNTRIES = {"": "USA", "United States": "USA", "US": "USA", "Germany": "DEU", "DE": "DEU"}


def country(**kwargs) -> FieldRule:
    return FieldRule("AddressCountryRegionId", "country", ("value_map",), value_map=COUNTRIES, **kwargs)


def test_value_map_matches_exactly():
    assert mapped(country(), country="Germany")["AddressCountryRegionId"] == "DEU"


def test_value_map_falls_back_to_a_case_insensitive_match():
    assert mapped(country(), country="  germany ")["AddressCountryRegionId"] == "DEU"


def test_value_map_prefers_the_exact_entry_over_a_case_insensitive_one():
    rule = FieldRule("Unit", "unit", ("value_map",), value_map={"EA": "each (upper)", "ea": "each (lower)"})
    assert mapped(rule, unit="ea")["Unit"] == "each (lower)"
    assert mapped(rule, unit="EA")["Unit"] == "each (upper)"


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_a_blank_source_matches_the_blank_entry(blank):
    assert mapped(country(), country=blank)["AddressCountryRegionId"] == "USA"


def test_a_blank_source_without_a_blank_entry_stays_blank_for_the_default():
    rule = FieldRule("Type", "type", ("value_map",), value_map={"Item": 1}, value_map_default=2, default=9)
    assert mapped(rule, type="")["Type"] == 9


def test_an_unmapped_value_takes_the_value_map_default():
    assert mapped(country(value_map_default="ZZZ"), country="Mars")["AddressCountryRegionId"] == "ZZZ"


def test_an_unmapped_value_without_a_default_is_an_error():
    error = mapping_error(country(), country="Mars")
    assert str(error) == "T1: AddressCountryRegionId: no value map entry for 'Mars'"


def test_value_map_keys_match_booleans_and_numbers_by_their_text():
    rule = FieldRule("Flag", "flag", ("value_map",), value_map={"true": "Yes", "false": "No", "1": "one"})
    assert mapped(rule, flag=True)["Flag"] == "Yes"
    assert mapped(rule, flag=1)["Flag"] == "one"


# --- lookups -------------------------------------------------------------------------------------------------------

def account_resolver() -> DictResolver:
    resolver = DictResolver()
    resolver.add_link("Accounts", source_id="acc-guid-1", source_key="ACC-001",
                      destination_key={"dataAreaId": "usmf", "CustomerAccount": "ACC-001"},
                      destination_id="", attributes={"PartyNumber": "000000123"})
    resolver.add_link("Products", source_key="P00001", destination_key={"productnumber": "P00001"},
                      destination_id="prod-guid-1")
    return resolver


def lookup(returns: str, *, maps=("Accounts",), match="source_id", when_missing="wait", source="parent",
           destination="Target") -> FieldRule:
    options = {"entity_maps": list(maps), "match": match, "return": returns, "when_missing": when_missing}
    return FieldRule(destination, source, ("lookup",), options={"lookup": options})


@pytest.mark.parametrize(("returns", "expected"), [
    ("source_key", "ACC-001"),
    ("destination_key.dataAreaId", "usmf"),
    ("destination_key.CustomerAccount", "ACC-001"),
    ("attributes.PartyNumber", "000000123"),
])
def test_lookup_returns_a_part_of_the_linked_record(returns, expected):
    assert mapped(lookup(returns), resolver=account_resolver(), parent="acc-guid-1")["Target"] == expected


def test_lookup_matches_on_the_destination_id():
    rule = lookup("source_key", maps=("Products",), match="destination_id")
    assert mapped(rule, resolver=account_resolver(), parent="prod-guid-1")["Target"] == "P00001"


def test_lookup_tries_the_entity_maps_in_order():
    resolver = account_resolver()
    resolver.add_link("Contacts to customers", source_id="con-guid-1", source_key="CON-1",
                      destination_key={"dataAreaId": "demf", "CustomerAccount": "CON-1"})
    rule = lookup("destination_key.CustomerAccount", maps=("Accounts", "Contacts to customers"))
    assert mapped(rule, resolver=resolver, parent="con-guid-1")["Target"] == "CON-1"
    assert resolver.calls[-1] == ("link", ("Accounts", "Contacts to customers"), "source_id", "con-guid-1")


def test_a_blank_lookup_source_stays_blank_without_asking():
    resolver = account_resolver()
    assert mapped(lookup("source_key"), resolver=resolver, parent=None)["Target"] is None
    assert resolver.calls == []


def test_an_unlinked_parent_is_a_missing_link_that_names_it():
    with pytest.raises(MissingLink) as caught:
        mapped(lookup("attributes.PartyNumber", maps=("Accounts", "Other")), resolver=DictResolver(), parent="g-9")
    error = caught.value
    assert str(error) == "T1: Target: g-9 is not linked in Accounts or Other yet"
    assert (error.entity_maps, error.value, error.when_missing) == (("Accounts", "Other"), "g-9", "wait")


def test_a_missing_link_says_when_the_record_is_to_be_skipped():
    with pytest.raises(MissingLink) as caught:
        mapped(lookup("source_key", when_missing="skip"), resolver=DictResolver(), parent="q-1")
    assert caught.value.when_missing == "skip"


def test_a_linked_record_without_the_attribute_is_an_error():
    error = mapping_error(lookup("attributes.Missing"), resolver=account_resolver(), parent="acc-guid-1")
    assert str(error) == "T1: Target: the linked record ACC-001 has no attributes.Missing"


def test_the_first_missing_link_in_field_order_decides():
    rules = (lookup("source_key", when_missing="skip", source="quote"),
             FieldRule("Other", "product", ("lookup",), options={"lookup": {"entity_maps": ["Products"]}}))
    with pytest.raises(MissingLink) as caught:
        mapped(*rules, resolver=DictResolver(), quote="q-1", product="p-1")
    assert (caught.value.field, caught.value.when_missing) == ("Target", "skip")


# --- reference data and legal entities -----------------------------------------------------------------------------

def currency(system="source") -> FieldRule:
    options = {"system": system, "entity_set": "transactioncurrencies", "match_field": "transactioncurrencyid",
               "return_field": "isocurrencycode"}
    return FieldRule("SalesCurrencyCode", "currency", ("reference",), options={"reference": options})


def currency_resolver() -> DictResolver:
    resolver = DictResolver()
    resolver.add_reference("source", "transactioncurrencies", {"transactioncurrencyid": "cur-1",
                                                                "isocurrencycode": "USD"})
    return resolver


def test_reference_reads_a_field_of_the_matching_row():
    resolver = currency_resolver()
    assert mapped(currency(), resolver=resolver, currency="cur-1")["SalesCurrencyCode"] == "USD"
    assert resolver.calls == [("reference", "source", "transactioncurrencies", "transactioncurrencyid", "cur-1",
                               "isocurrencycode")]


def test_reference_not_found_names_the_entity_set_and_value():
    error = mapping_error(currency(), resolver=currency_resolver(), currency="cur-9")
    assert str(error) == "T1: SalesCurrencyCode: no transactioncurrencies record with transactioncurrencyid 'cur-9'"


def test_a_blank_reference_source_stays_blank():
    assert mapped(currency(), resolver=currency_resolver(), currency=None)["SalesCurrencyCode"] is None


def legal_entity() -> FieldRule:
    return FieldRule("dataAreaId", "_owningbusinessunit_value", ("legal_entity",), required=True)


def test_legal_entity_comes_from_the_business_unit():
    resolver = DictResolver(business_units={"Contoso DE": "demf", "bu-guid-de": "demf"}, default_legal_entity="usmf")
    assert mapped(legal_entity(), resolver=resolver, _owningbusinessunit_value="bu-guid-de")["dataAreaId"] == "demf"


def test_an_unknown_or_blank_business_unit_gets_the_default_legal_entity():
    resolver = DictResolver(business_units={"Contoso DE": "demf"}, default_legal_entity="usmf")
    assert mapped(legal_entity(), resolver=resolver, _owningbusinessunit_value="bu-x")["dataAreaId"] == "usmf"
    assert mapped(legal_entity(), resolver=resolver)["dataAreaId"] == "usmf"
    assert ("legal_entity", None) in resolver.calls


def test_no_organization_mapping_is_an_error_naming_the_business_unit():
    error = mapping_error(legal_entity(), resolver=DictResolver(), _owningbusinessunit_value="bu-x")
    assert str(error) == "T1: dataAreaId: no organization mapping for business unit bu-x"


# --- format --------------------------------------------------------------------------------------------------------

def test_format_wraps_the_current_value():
    rule = FieldRule("defaultuomid@odata.bind", "uom", ("format",), options={"format": {"template": "/uoms({value})"}})
    assert mapped(rule, uom="u-1")["defaultuomid@odata.bind"] == "/uoms(u-1)"


def test_format_concatenates_record_fields_and_trims_blank_ends():
    rule = FieldRule("Name", transforms=("format",), options={"format": {"template": "{firstname} {lastname}"}})
    assert mapped(rule, firstname="Anna", lastname="Smith")["Name"] == "Anna Smith"
    assert mapped(rule, firstname=None, lastname="Smith")["Name"] == "Smith"


def test_format_of_a_blank_value_is_blank():
    rule = FieldRule("Bind", "uom", ("format",), options={"format": {"template": "/uoms({value})"}}, default="x")
    assert mapped(rule, uom="")["Bind"] == "x"


# --- conversions ---------------------------------------------------------------------------------------------------

def converted(to: str, value, places=None):
    options = {"to": to} if places is None else {"to": to, "places": places}
    return mapped(FieldRule("Out", "value", ("convert",), options={"convert": options}), value=value)["Out"]


@pytest.mark.parametrize(("value", "expected"), [(True, "Yes"), (False, "No"), ("true", "Yes"), ("No", "No")])
def test_convert_to_noyes(value, expected):
    assert converted("noyes", value) == expected


@pytest.mark.parametrize(("value", "expected"), [("Yes", True), ("No", False), (True, True), ("false", False),
                                                 (1, True)])
def test_convert_to_boolean(value, expected):
    assert converted("boolean", value) is expected


@pytest.mark.parametrize(("value", "places", "expected"), [("2.345", 2, 2.34), ("2.355", 2, 2.36), (2.5, 0, 2.0),
                                                           ("10", 2, 10.0), ("1.23456", None, 1.23456)])
def test_convert_to_decimal_rounds_half_even(value, places, expected):
    assert converted("decimal", value, places) == expected


def test_convert_to_integer():
    assert converted("integer", "3") == 3
    assert converted("integer", 4.0) == 4


def test_convert_to_string():
    assert converted("string", 12) == "12"
    assert converted("string", True) == "true"


def test_convert_to_date_takes_the_utc_day():
    assert converted("date", "2024-05-01T23:30:00-02:00") == "2024-05-02"
    assert converted("date", "2024-05-01") == "2024-05-01"


def test_convert_to_datetime_gives_utc_with_z():
    assert converted("datetime", "2024-05-01T10:20:30.123+02:00") == "2024-05-01T08:20:30Z"
    assert converted("datetime", "2024-05-01") == "2024-05-01T00:00:00Z"
    assert converted("datetime", "2024-05-01T10:20:30Z") == "2024-05-01T10:20:30Z"


def test_the_finops_empty_date_converts_to_blank():
    assert converted("datetime", "1900-01-01T12:00:00Z") is None
    assert converted("date", "1900-01-01T12:00:00Z") is None


@pytest.mark.parametrize(("to", "value"), [("decimal", "abc"), ("decimal", "NaN"), ("integer", "3.5"),
                                           ("noyes", "maybe"), ("boolean", 2), ("date", "01/05/2024"),
                                           ("decimal", True)])
def test_a_value_that_will_not_convert_is_an_error_naming_it(to, value):
    error = mapping_error(FieldRule("Out", "value", ("convert",), options={"convert": {"to": to}}), value=value)
    assert str(error) == f"T1: Out: cannot convert {value!r} to {to}"


def test_a_blank_value_is_not_converted():
    assert converted("decimal", "") is None


# --- payload and keys ----------------------------------------------------------------------------------------------

def test_a_blank_odata_bind_is_left_out_of_the_payload():
    rule = FieldRule("transactioncurrencyid@odata.bind", "currency", ("format",),
                     options={"format": {"template": "/transactioncurrencies({value})"}})
    assert "transactioncurrencyid@odata.bind" not in mapped(rule, currency=None)
    assert mapped(rule, currency="c-1")["transactioncurrencyid@odata.bind"] == "/transactioncurrencies(c-1)"


def test_the_destination_key_comes_from_the_payload():
    definition_ = MapDefinition("Customers", ("accountnumber",), "accountid", ("dataAreaId", "CustomerAccount"), (
        FieldRule("CustomerAccount", "accountnumber"),
        FieldRule("dataAreaId", transforms=("constant",), options={"constant": {"value": "usmf"}}),
        FieldRule("OrganizationName", "name"),
    ))
    result = map_record(definition_, {"accountnumber": "ACC-1", "name": "Contoso"}, DictResolver())
    assert result.destination_key == {"dataAreaId": "usmf", "CustomerAccount": "ACC-1"}
    assert result.payload == {"CustomerAccount": "ACC-1", "dataAreaId": "usmf", "OrganizationName": "Contoso"}


def test_a_blank_destination_key_field_is_an_error():
    definition_ = MapDefinition("Customers", ("id",), "", ("dataAreaId", "CustomerAccount"),
                                (FieldRule("CustomerAccount", "id"), FieldRule("dataAreaId", "company")))
    with pytest.raises(MappingError) as caught:
        map_record(definition_, {"id": "ACC-1"}, DictResolver())
    assert str(caught.value) == "ACC-1: dataAreaId: is part of the destination key but blank"


def test_source_key_of_one_field_is_its_text():
    assert source_key(definition(), {"id": "ACC-1"}) == "ACC-1"
    assert source_key(definition(), {"id": 42}) == "42"


def test_source_key_of_several_fields_is_a_json_list():
    definition_ = definition(key_fields=("dataAreaId", "ProductNumber"))
    assert source_key(definition_, {"dataAreaId": "usmf", "ProductNumber": "P1"}) == '["usmf","P1"]'


def test_a_blank_source_key_field_is_an_error_naming_the_record_by_its_id():
    with pytest.raises(MappingError) as caught:
        source_key(definition(), {"guid": "g-1", "id": ""})
    assert str(caught.value) == "g-1: id: is part of the key but blank"


def test_source_id():
    assert source_id(definition(), {"guid": "g-1"}) == "g-1"
    assert source_id(definition(), {}) == ""
    assert source_id(MapDefinition("P", ("id",), "", ("k",), ()), {"id": "x"}) == ""


def test_destination_key_text():
    assert destination_key_text({"productnumber": "P1"}) == "P1"
    assert destination_key_text({"dataAreaId": "usmf", "CustomerAccount": "A"}) == \
        destination_key_text({"CustomerAccount": "A", "dataAreaId": "usmf"}) == \
        '{"CustomerAccount":"A","dataAreaId":"usmf"}'
    assert destination_key_text({"a": "x", "n": 1}) == destination_key_text({"a": "x", "n": "1"})


def test_payload_hash_ignores_key_order_and_sees_values():
    assert payload_hash({"a": 1, "b": "x"}) == payload_hash({"b": "x", "a": 1})
    assert payload_hash({"a": 1, "b": "x"}) != payload_hash({"a": 1, "b": "y"})


def test_record_hash_ignores_annotations_and_row_versions():
    row = {"ProductNumber": "P1", "SalesPrice": 10.5}
    noisy = {**row, "@odata.etag": 'W/"JzAsMSc="', "versionnumber": 7,
             "SalesPrice@OData.Community.Display.V1.FormattedValue": "$10.50"}
    assert record_hash(noisy) == record_hash(row)
    assert record_hash({**row, "SalesPrice": 11}) != record_hash(row)


# --- conditions ----------------------------------------------------------------------------------------------------

def eligible(condition: Condition, **record) -> str | None:
    return ineligibility(definition(conditions=(condition,)), record)


@pytest.mark.parametrize(("condition", "record", "reason"), [
    (Condition("statecode", "eq", 1), {"statecode": 1}, None),
    (Condition("statecode", "eq", 1), {"statecode": 0}, "statecode is 0, not 1"),
    (Condition("country", "eq", "US"), {"country": "us"}, None),
    (Condition("country", "ne", "US"), {"country": "Us "}, "country is 'US'"),
    (Condition("country", "ne", "US"), {"country": "DE"}, None),
    (Condition("code", "in", ["a", "B"]), {"code": "b"}, None),
    (Condition("code", "in", ["a", "B"]), {"code": "c"}, "code is 'c', not one of ['a', 'B']"),
    (Condition("code", "not_in", ["a"]), {"code": "A"}, "code is 'A'"),
    (Condition("code", "not_in", ["a"]), {"code": "z"}, None),
    (Condition("accountnumber", "not_blank"), {"accountnumber": " "}, "accountnumber is blank"),
    (Condition("accountnumber", "not_blank"), {"accountnumber": "A1"}, None),
    (Condition("parent", "blank"), {"parent": "g"}, "parent is not blank"),
    (Condition("parent", "blank"), {}, None),
    (Condition("msdynce_isactivecustomer", "true"), {"msdynce_isactivecustomer": True}, None),
    (Condition("msdynce_isactivecustomer", "true"), {"msdynce_isactivecustomer": None},
     "msdynce_isactivecustomer is None, not true"),
    (Condition("msdynce_isactivecustomer", "false"), {"msdynce_isactivecustomer": None}, None),
    (Condition("msdynce_isactivecustomer", "false"), {"msdynce_isactivecustomer": False}, None),
    (Condition("msdynce_isactivecustomer", "false"), {"msdynce_isactivecustomer": True},
     "msdynce_isactivecustomer is True, not false"),
    (Condition("IsSalesStopped", "false"), {"IsSalesStopped": "No"}, None),
    (Condition("flag", "true"), {"flag": "maybe"}, "flag is 'maybe', not true"),
])
def test_conditions(condition, record, reason):
    assert eligible(condition, **record) == reason


def test_every_condition_must_hold_and_the_first_failure_is_given():
    conditions = (Condition("statecode", "eq", 1), Condition("only_external", "true"))
    definition_ = definition(conditions=conditions)
    assert ineligibility(definition_, {"statecode": 1, "only_external": True}) is None
    assert ineligibility(definition_, {"statecode": 1, "only_external": False}) == "only_external is False, not true"


# --- malformed definitions are refused when built ------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"transforms": ("uppercase",)}, "unknown transform 'uppercase'"),
    ({"transforms": ("constant",)}, "constant needs value"),
    ({"transforms": ("reference",), "options": {"reference": {"system": "source"}}},
     "reference needs entity_set, match_field, return_field"),
    ({"transforms": ("lookup",), "options": {"lookup": {"entity_maps": ["A"], "return": "parent"}}},
     "invalid lookup options"),
    ({"transforms": ("lookup",), "options": {"lookup": {"entity_maps": ["A"], "when_missing": "later"}}},
     "invalid lookup options"),
    ({"transforms": ("convert",), "options": {"convert": {"to": "money"}}}, "unknown conversion 'money'"),
    ({"transforms": ("format",), "options": {"format": {"template": "{}"}}}, "plain field names"),
    ({"transforms": ("value_map",)}, "a value map needs entries or a default"),
    ({"options": {"constant": {"value": 1}}}, "not among its transforms"),
    ({"max_length": 0}, "max_length must be positive"),
])
def test_a_malformed_field_rule_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FieldRule("Out", **kwargs)


def test_an_unknown_condition_op_is_refused():
    with pytest.raises(ValueError, match="unknown op 'like'"):
        Condition("name", "like", "x")


def test_a_destination_field_mapped_twice_is_refused():
    with pytest.raises(ValueError, match="mapped twice"):
        MapDefinition("X", ("id",), "", ("k",), (FieldRule("k", "a"), FieldRule("k", "b")))


def test_a_definition_needs_keys():
    with pytest.raises(ValueError, match="key fields are required"):
        MapDefinition("X", (), "", ("k",), ())


# --- errors travel -------------------------------------------------------------------------------------------------

def round_trip(error: Exception) -> Exception:
    return pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, as a Celery result backend would hold


def test_mapping_errors_survive_pickling():
    error = round_trip(MappingError("ACC-1", "Name", "is required but blank"))
    assert (str(error), error.field) == ("ACC-1: Name: is required but blank", "Name")
    missing = round_trip(MissingLink("C-1", "AssociatedPartyNumber", ("Accounts",), "g", "wait"))
    assert (missing.entity_maps, missing.value, missing.when_missing, str(missing)) == \
        (("Accounts",), "g", "wait", "C-1: AssociatedPartyNumber: g is not linked in Accounts yet")


# --- what a definition reads and needs -----------------------------------------------------------------------------

def test_source_fields_lists_every_field_read_once():
    definition_ = definition(
        FieldRule("Name", transforms=("format",), options={"format": {"template": "{first} {last} {value}"}}),
        FieldRule("Again", "id"),
        conditions=(Condition("state", "eq", 1),),
    )
    assert source_fields(definition_) == ("id", "guid", "state", "first", "last")


# --- omit_blank, per_unit, reference scopes --------------------------------------------------------------------

def test_a_blank_value_is_left_out_when_the_rule_says_so():
    definition = MapDefinition("Quotes", ("number",), "", ("Number",), (
        FieldRule("Number", "number"), FieldRule("ExpiryDate", "expires", omit_blank=True),
        FieldRule("Note", "note")))
    payload = map_record(definition, {"number": "Q1", "expires": None, "note": None}, DictResolver()).payload
    assert payload == {"Number": "Q1", "Note": None}


def test_per_unit_options_are_checked_when_the_rule_is_built():
    with pytest.raises(ValueError, match="per_unit part"):
        FieldRule("Discount", "discount", ("per_unit",), options={"per_unit": {"quantity_field": "qty",
                                                                               "part": "half"}})
    with pytest.raises(ValueError, match="per_unit needs quantity_field"):
        FieldRule("Discount", "discount", ("per_unit",), options={"per_unit": {"part": "unit"}})


def test_a_reference_scope_needs_a_whole_lookup():
    with pytest.raises(ValueError, match="reference where _group needs"):
        FieldRule("Unit", "unit", ("reference",), options={"reference": {
            "system": "source", "entity_set": "uoms", "match_field": "name", "return_field": "uomid",
            "where": {"_group": {"entity_set": "uomschedules", "value": "Default Unit"}}}})


def test_a_reference_scope_whose_own_record_is_missing_fails_naming_it():
    rule = FieldRule("Unit", "unit", ("reference",), options={"reference": {
        "system": "source", "entity_set": "uoms", "match_field": "name", "return_field": "uomid",
        "where": {"_group": {"entity_set": "uomschedules", "match_field": "name", "value": "Default Unit",
                             "return_field": "uomscheduleid"}}}})
    definition = MapDefinition("Lines", ("id",), "", ("Id",), (FieldRule("Id", "id"), rule))
    with pytest.raises(MappingError) as caught:
        map_record(definition, {"id": "1", "unit": "ea"}, DictResolver())
    assert caught.value.reason == "no uomschedules record with name 'Default Unit'"


# --- lookups by key fields, derived ids, line amounts back (two-way flows) ----------------------------------------

def customer_resolver() -> DictResolver:
    resolver = DictResolver()
    resolver.add_link("Accounts", source_id="acc-guid-1", source_key="ACC-001",
                      destination_key={"dataAreaId": "usmf", "CustomerAccount": "ACC-001"})
    resolver.add_link("Orders", source_key='["usmf","SO-1"]', destination_key={"ordernumber": "SO-1"},
                      destination_id="order-guid-1")
    return resolver


def by_key(returns: str, key_fields, *, match: str = "destination_key", maps=("Accounts",),
           when_missing: str = "wait") -> FieldRule:
    return FieldRule("Target", transforms=("lookup",), options={"lookup": {
        "entity_maps": list(maps), "match": match, "key_fields": key_fields, "return": returns,
        "when_missing": when_missing}})


def test_a_lookup_by_destination_key_pairs_the_key_fields_with_the_records_own():
    """An F&O order names its customer by OrderingCustomerAccountNumber; the Accounts link by CustomerAccount."""
    rule = by_key("source_id", {"dataAreaId": "dataAreaId", "CustomerAccount": "OrderingCustomerAccountNumber"})
    assert mapped(rule, resolver=customer_resolver(), dataAreaId="usmf",
                  OrderingCustomerAccountNumber="ACC-001")["Target"] == "acc-guid-1"


def test_a_lookup_by_source_key_spells_several_fields_as_the_links_do():
    rule = by_key("destination_id", ["dataAreaId", "SalesOrderNumber"], match="source_key", maps=("Orders",))
    assert mapped(rule, resolver=customer_resolver(), dataAreaId="usmf",
                  SalesOrderNumber="SO-1")["Target"] == "order-guid-1"


def test_a_lookup_by_key_fields_with_one_blank_field_stays_blank_without_asking():
    resolver = customer_resolver()
    rule = by_key("source_id", {"dataAreaId": "dataAreaId", "CustomerAccount": "Account"})
    assert mapped(rule, resolver=resolver, dataAreaId="usmf", Account="")["Target"] is None
    assert resolver.calls == []


def test_a_lookup_that_may_miss_leaves_the_field_blank():
    rule = by_key("source_id", {"dataAreaId": "dataAreaId", "CustomerAccount": "Account"}, when_missing="blank")
    assert mapped(rule, resolver=customer_resolver(), dataAreaId="usmf", Account="CON-9")["Target"] is None


def test_key_fields_are_what_the_definition_reads():
    rule = by_key("source_id", {"dataAreaId": "dataAreaId", "CustomerAccount": "OrderingCustomerAccountNumber"})
    assert source_fields(definition(rule)) == ("id", "guid", "dataAreaId", "OrderingCustomerAccountNumber")


@pytest.mark.parametrize("options", [
    {"entity_maps": ["A"], "match": "destination_key"},  # a destination key lookup needs its key fields
    {"entity_maps": ["A"], "match": "source_id", "key_fields": ["a"]},
    {"entity_maps": ["A"], "match": "source_key", "key_fields": []},
])
def test_malformed_key_field_lookups_are_refused(options):
    with pytest.raises(ValueError, match="invalid lookup options"):
        FieldRule("Out", transforms=("lookup",), options={"lookup": options})


def derived(*transforms: str, **lookup) -> FieldRule:
    options = {"derived_id": {"template": "order line {company}/{number}/{line}"}}
    if lookup:
        options["lookup"] = lookup
    return FieldRule("Id", transforms=transforms, options=options)


def test_a_derived_id_is_a_name_based_guid_the_same_at_every_run():
    first = mapped(derived("derived_id"), company="usmf", number="SO-1", line=1)["Id"]
    assert first == mapped(derived("derived_id"), company="usmf", number="SO-1", line=1)["Id"]
    assert first != mapped(derived("derived_id"), company="usmf", number="SO-1", line=2)["Id"]
    assert str(uuid.UUID(first)) == first


def test_a_derived_id_keeps_the_id_a_lookup_found():
    resolver = DictResolver()
    resolver.add_link("Lines", source_key="line-guid-1", source_id="line-guid-1",
                      destination_key={"company": "usmf", "number": "SO-1", "line": 1})
    rule = derived("lookup", "derived_id", entity_maps=["Lines"], match="destination_key",
                   key_fields=["company", "number", "line"], **{"return": "source_id", "when_missing": "blank"})
    assert mapped(rule, resolver=resolver, company="usmf", number="SO-1", line=1)["Id"] == "line-guid-1"
    assert mapped(rule, resolver=resolver, company="usmf", number="SO-1", line=2)["Id"] == mapped(
        derived("derived_id"), company="usmf", number="SO-1", line=2)["Id"]


def test_a_derived_id_from_a_blank_field_is_an_error_naming_it():
    assert mapping_error(derived("derived_id"), company="usmf", number="", line=1).reason == \
        "cannot derive an id: number is blank"


@pytest.mark.parametrize(("unit", "quantity", "rounding", "line"), [
    (3.33, 3, -0.01, 10.0), (3.33, 3, 0, 9.99), (0, 5, 0, 0.0), (12.5, 2, None, 25.0)])
def test_per_unit_line_gives_back_the_amount_for_the_whole_line(unit, quantity, rounding, line):
    """p2c-templates 2.6: (3 x 3.33) + 0.01 = 10.00, the reverse of the per-unit discount and its charge."""
    rule = FieldRule("Discount", "unit", ("per_unit",), options={"per_unit": {
        "quantity_field": "qty", "part": "line", "rounding_field": "charge"}})
    assert mapped(rule, unit=unit, qty=quantity, charge=rounding)["Discount"] == line


def test_per_unit_line_names_its_rounding_field_and_only_it_does():
    with pytest.raises(ValueError, match="per_unit part"):
        FieldRule("D", "u", ("per_unit",), options={"per_unit": {"quantity_field": "q", "part": "line"}})
    with pytest.raises(ValueError, match="per_unit part"):
        FieldRule("D", "u", ("per_unit",), options={"per_unit": {"quantity_field": "q", "part": "unit",
                                                                 "rounding_field": "c"}})


@pytest.mark.parametrize(("condition", "value", "reason"), [
    (Condition("OrderHeaderTaxAmount", "ne", 0), 0.0, "OrderHeaderTaxAmount is 0"),
    (Condition("OrderHeaderTaxAmount", "ne", 0), 2.5, None),
    (Condition("Quantity", "eq", 1), 1.0, None),
    (Condition("Quantity", "in", [1, 2]), 2.0, None),
    (Condition("Code", "eq", "1"), 1.0, "Code is 1.0, not '1'"),  # text against a number: as text
])
def test_numbers_compare_as_numbers_in_conditions(condition, value, reason):
    assert eligible(condition, **{condition.field: value}) == reason
