from __future__ import annotations

import itertools
import random
from decimal import Decimal
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.emulators.odata.errors import ODataQueryError
from connectors.emulators.odata.query import (
    SYSTEM_OPTIONS,
    QueryOptions,
    order_rows,
    parse_query,
    project,
    sort_key,
    validate_properties,
)

DATAVERSE_OPTIONS = SYSTEM_OPTIONS - {"$skip"}
FINOPS_OPTIONS = {"$filter", "$count", "$orderby", "$skip", "$top", "$select", "$expand"}
PROPERTIES = {
    "accountid": "Edm.Guid",
    "name": "Edm.String",
    "creditlimit": "Edm.Decimal",
    "modifiedon": "Edm.DateTimeOffset",
    "validfromdate": "Edm.Date",
    "statecode": "Edm.Int32",
    "donotemail": "Edm.Boolean",
    "Blocked": "Enum:NoYes",
}


def rejected(query: str, allowed=DATAVERSE_OPTIONS) -> str:
    with pytest.raises(ODataQueryError) as caught:
        parse_query(query, allowed=allowed)
    return caught.value.message


# -- parse_query ------------------------------------------------------------------------------------------------


def test_every_system_option_is_read():
    options = parse_query(
        "$select=name,accountnumber&$filter=statecode eq 0&$orderby=name desc,accountid&$top=5&$count=true"
        "&$expand=primarycontactid($select=fullname)&$skiptoken=abc&$deltatoken=919042!08/22/2017",
        allowed=DATAVERSE_OPTIONS,
    )
    assert options == QueryOptions(
        select=["name", "accountnumber"],
        filter="statecode eq 0",
        orderby=[("name", True), ("accountid", False)],
        top=5,
        count=True,
        expand="primarycontactid($select=fullname)",
        skiptoken="abc",
        deltatoken="919042!08/22/2017",
    )


def test_an_empty_query_gives_the_defaults():
    assert parse_query("", allowed=DATAVERSE_OPTIONS) == QueryOptions()
    assert parse_query("?", allowed=DATAVERSE_OPTIONS) == QueryOptions()
    assert parse_query("&&", allowed=DATAVERSE_OPTIONS) == QueryOptions()


def test_a_leading_question_mark_is_ignored():
    assert parse_query("?$top=3", allowed=DATAVERSE_OPTIONS).top == 3


def test_percent_encoding_is_decoded_and_an_encoded_plus_stays_a_plus():
    query = "%24filter=" + quote("contains(telephone1,'+123') and name eq 'A&B'", safe="")
    assert parse_query(query, allowed=DATAVERSE_OPTIONS).filter == "contains(telephone1,'+123') and name eq 'A&B'"


def test_a_raw_plus_is_a_space_as_in_aspnet():
    assert parse_query("$filter=name+eq+'a+b'", allowed=DATAVERSE_OPTIONS).filter == "name eq 'a b'"


def test_what_requests_sends_round_trips():
    # requests encodes params with urlencode(quote_via=quote_plus): spaces as +, a plus as %2B.
    original = {"$filter": "name eq 'x+y' and modifiedon gt 2024-01-01T00:00:00+02:00", "$top": "7"}
    options = parse_query(urlencode(original), allowed=DATAVERSE_OPTIONS)
    assert (options.filter, options.top) == (original["$filter"], 7)


def test_utf8_text_is_decoded():
    assert parse_query("$filter=name%20eq%20%27Gr%C3%BC%C3%9Fe%27", allowed=DATAVERSE_OPTIONS).filter == (
        "name eq 'Grüße'"
    )


def test_invalid_utf8_is_rejected():
    assert rejected("$filter=name%20eq%20%27%FF%27") == (
        "The query string part 'name%20eq%20%27%FF%27' is not valid percent-encoded UTF-8."
    )


def test_other_parameters_are_kept():
    options = parse_query("cross-company=true&$filter=dataAreaId eq 'usmf'", allowed=FINOPS_OPTIONS)
    assert options.params == {"cross-company": "true"}
    assert options.filter == "dataAreaId eq 'usmf'"


def test_skip_is_rejected_where_it_is_not_allowed():
    assert rejected("$skip=10") == "The query parameter '$skip' is not supported."
    assert parse_query("$skip=10&$top=10", allowed=FINOPS_OPTIONS).skip == 10


def test_allowed_names_may_omit_the_dollar():
    assert parse_query("$top=1", allowed={"top"}).top == 1


def test_unknown_system_options_are_rejected():
    assert rejected("$search=contoso") == "The query parameter '$search' is not supported."
    assert rejected("$Filter=name eq 'x'") == "The query parameter '$Filter' is not supported."
    assert rejected("$skiptoken=x", allowed=FINOPS_OPTIONS) == "The query parameter '$skiptoken' is not supported."


def test_repeated_options_are_rejected():
    assert rejected("$top=1&$top=2") == "The query parameter '$top' is specified more than once."
    assert rejected("$top=1&%24top=2") == "The query parameter '$top' is specified more than once."
    assert rejected("cross-company=true&cross-company=false", FINOPS_OPTIONS) == (
        "The query parameter 'cross-company' is specified more than once."
    )


@pytest.mark.parametrize("value", ["-1", "1.5", "ten", "1e3", "+5", ""])
def test_top_and_skip_must_be_non_negative_integers(value):
    for name in ("$top", "$skip"):
        message = rejected(f"{name}={quote(value)}", FINOPS_OPTIONS)
        if value:
            assert message == f"The value '{value}' of {name} is not valid; use a non-negative integer."
        else:
            assert message == f"The query parameter '{name}' has no value."


def test_top_zero_is_allowed():
    assert parse_query("$top=0", allowed=DATAVERSE_OPTIONS).top == 0


@pytest.mark.parametrize("value", ["True", "1", "yes", "false "])
def test_count_must_be_true_or_false(value):
    assert rejected(f"$count={quote(value)}") == f"The value '{value}' of $count is not valid; use true or false."


def test_count_false_is_read():
    assert parse_query("$count=false", allowed=DATAVERSE_OPTIONS).count is False


@pytest.mark.parametrize(
    ("value", "item"),
    [
        ("name up", "name up"),
        ("name asc desc", "name asc desc"),
        ("name ASC", "name ASC"),
        ("name,,accountid", ""),
        ("primarycontactid/fullname", "primarycontactid/fullname"),
        ("name asc,", ""),
    ],
)
def test_malformed_orderby_is_rejected(value, item):
    assert rejected(f"$orderby={quote(value)}") == (
        f"The $orderby item '{item}' is malformed; expected 'Property [asc|desc]'."
    )


def test_orderby_directions_default_to_ascending():
    options = parse_query("$orderby=name asc, modifiedon desc ,statecode", allowed=DATAVERSE_OPTIONS)
    assert options.orderby == [("name", False), ("modifiedon", True), ("statecode", False)]


def test_select_items_must_be_names_and_star_means_all():
    assert rejected("$select=name,") == "The $select item '' is not a property name."
    assert rejected("$select=name;accountid") == "The $select item 'name;accountid' is not a property name."
    assert parse_query("$select=*", allowed=DATAVERSE_OPTIONS).select is None
    assert parse_query("$select= name , accountid ", allowed=DATAVERSE_OPTIONS).select == ["name", "accountid"]


def test_a_system_option_without_a_value_is_rejected():
    assert rejected("$filter=") == "The query parameter '$filter' has no value."
    assert rejected("$select") == "The query parameter '$select' has no value."


# -- validate_properties ------------------------------------------------------------------------------------------


def test_validate_properties_names_the_first_unknown_one():
    validate_properties(["name", "statecode"], PROPERTIES, "Microsoft.Dynamics.CRM.account")
    with pytest.raises(ODataQueryError) as caught:
        validate_properties(["name", "Name", "nope"], PROPERTIES, "Microsoft.Dynamics.CRM.account")
    assert caught.value.message == "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'."


# -- ordering -----------------------------------------------------------------------------------------------------

ROWS = [
    {"accountid": "a1", "name": "beta", "creditlimit": 10, "modifiedon": "2024-05-01T10:20:30.5Z", "statecode": 0},
    {"accountid": "a2", "name": "Alpha", "creditlimit": None, "modifiedon": "2024-05-01T10:20:30Z", "statecode": 1},
    {"accountid": "a3", "name": "alpha", "creditlimit": Decimal("2.5"), "modifiedon": None, "statecode": 0},
    {"accountid": "a4", "name": "Gamma", "creditlimit": 10.0, "modifiedon": "2024-05-01T12:00:00+02:00",
     "statecode": 1},
]


def ids(rows) -> list[str]:
    return [row["accountid"] for row in rows]


def test_strings_order_without_regard_to_case_and_ties_keep_their_order():
    assert ids(order_rows(ROWS, [("name", False)], PROPERTIES)) == ["a2", "a3", "a1", "a4"]
    assert ids(order_rows(ROWS, [("name", True)], PROPERTIES)) == ["a4", "a1", "a2", "a3"]


def test_nulls_come_first_ascending_and_last_descending():
    assert ids(order_rows(ROWS, [("creditlimit", False)], PROPERTIES)) == ["a2", "a3", "a1", "a4"]
    assert ids(order_rows(ROWS, [("creditlimit", True)], PROPERTIES)) == ["a1", "a4", "a3", "a2"]


def test_datetimes_order_as_instants():
    # "…30.5Z" sorts before "…30Z" as text; 12:00+02:00 is 10:00Z, the earliest.
    assert ids(order_rows(ROWS, [("modifiedon", False)], PROPERTIES)) == ["a3", "a4", "a2", "a1"]


def test_later_keys_break_ties_of_earlier_ones_in_their_own_direction():
    assert ids(order_rows(ROWS, [("statecode", False), ("name", True)], PROPERTIES)) == ["a1", "a3", "a4", "a2"]
    assert ids(order_rows(ROWS, [("statecode", True), ("creditlimit", False)], PROPERTIES)) == ["a2", "a4", "a3", "a1"]


def test_no_orderby_keeps_the_input_order():
    assert ids(order_rows(ROWS, [], PROPERTIES)) == ["a1", "a2", "a3", "a4"]


def test_dates_booleans_and_enums_order():
    rows = [
        {"accountid": "1", "validfromdate": "2024-02-01", "donotemail": True, "Blocked": "Yes"},
        {"accountid": "2", "validfromdate": "2023-12-31", "donotemail": False, "Blocked": "no"},
    ]
    assert ids(order_rows(rows, [("validfromdate", False)], PROPERTIES)) == ["2", "1"]
    assert ids(order_rows(rows, [("donotemail", False)], PROPERTIES)) == ["2", "1"]
    assert ids(order_rows(rows, [("Blocked", False)], PROPERTIES)) == ["2", "1"]


ORDER_ROWS = st.lists(
    st.fixed_dictionaries({
        "statecode": st.one_of(st.none(), st.integers(0, 2)),
        "name": st.one_of(st.none(), st.sampled_from(["a", "A", "b", "B", "c"])),
        "creditlimit": st.one_of(st.none(), st.integers(0, 3), st.sampled_from([0.5, Decimal("1.5")])),
    }),
    max_size=30,
)
ORDERBY = st.lists(
    st.tuples(st.sampled_from(["statecode", "name", "creditlimit"]), st.booleans()), min_size=1, max_size=3,
    unique_by=lambda item: item[0],
)


@given(ORDER_ROWS, ORDERBY)
def test_sort_key_and_order_rows_agree_and_are_stable(rows, orderby):
    rows = [{**row, "n": n} for n, row in enumerate(rows)]
    by_passes = order_rows(rows, orderby, PROPERTIES)
    by_key = sorted(rows, key=sort_key(orderby, PROPERTIES))
    assert [row["n"] for row in by_passes] == [row["n"] for row in by_key]


@given(ORDER_ROWS, ORDERBY)
def test_order_rows_matches_a_reference_ordering(rows, orderby):
    rows = [{**row, "n": n} for n, row in enumerate(rows)]
    shuffled = rows[:]
    random.Random(len(rows)).shuffle(shuffled)

    def reference_before(a, b) -> bool:
        for name, descending in orderby:
            x, y = a[name], b[name]
            x = x.lower() if isinstance(x, str) else x
            y = y.lower() if isinstance(y, str) else y
            if x == y:
                continue
            if x is None or y is None:
                return (x is None) != descending
            return (x < y) != descending
        return False

    ordered = order_rows(shuffled, orderby, PROPERTIES)
    for a, b in itertools.pairwise(ordered):
        assert not reference_before(b, a)


# -- project ------------------------------------------------------------------------------------------------------

ROW = {
    "@odata.etag": 'W/"12"',
    "accountid": "a1",
    "name": "Contoso",
    "statecode": 0,
    "statecode@OData.Community.Display.V1.FormattedValue": "Active",
    "creditlimit": 5,
    "_version": 12,
}


def test_project_keeps_selected_and_always_properties_in_row_order():
    result = project(ROW, ["statecode", "name"], always=("accountid", "@odata.etag"))
    assert list(result.items()) == [
        ("@odata.etag", 'W/"12"'),
        ("accountid", "a1"),
        ("name", "Contoso"),
        ("statecode", 0),
        ("statecode@OData.Community.Display.V1.FormattedValue", "Active"),
    ]


def test_project_returns_a_missing_selected_property_as_null():
    assert project(ROW, ["name", "telephone1"], always=())["telephone1"] is None


def test_project_without_select_copies_the_row():
    result = project(ROW, None, always=("accountid",))
    assert result == ROW
    assert result is not ROW
