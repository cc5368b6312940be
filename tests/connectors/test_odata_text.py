"""Literals and key URLs: quotes doubled, then everything that is URL syntax percent-encoded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.odata import EnumMember, bind, equals_filter, key_path, literal, query_string


@pytest.mark.parametrize(("value", "expected"), [
    ("O'Brien", "'O''Brien'"),
    (None, "null"),
    (True, "true"),
    (3, "3"),
    (uuid.UUID("00000000-0000-0000-0000-000000000001"), "00000000-0000-0000-0000-000000000001"),
    (datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone(timedelta(hours=2))), "2024-05-01T10:00:00Z"),
    (datetime(2024, 5, 1, 12, 0, 0), "2024-05-01T12:00:00Z"),
])
def test_literals(value, expected):
    assert literal(value) == expected


def test_key_values_are_escaped_then_percent_encoded():
    assert key_path("accounts", {"accountnumber": "O'Brien & Sons #1 ?+ ü"}) == (
        "accounts(accountnumber='O''Brien%20%26%20Sons%20%231%20%3F%2B%20%C3%BC')")
    assert key_path("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": "A(1),B=2"}) == (
        "CustomersV3(dataAreaId='usmf',CustomerAccount='A%281%29%2CB%3D2')")


def test_an_enum_member_is_its_name_as_data_and_an_enum_literal_in_urls():
    member = EnumMember("Microsoft.Dynamics.DataEntities.NoYes", "Yes")
    assert member == "Yes"
    assert literal(member) == "Microsoft.Dynamics.DataEntities.NoYes'Yes'"
    assert key_path("Things", {"dataAreaId": "usmf", "Flag": member}) == (
        "Things(dataAreaId='usmf',Flag=Microsoft.Dynamics.DataEntities.NoYes'Yes')")


def test_a_single_key_value_must_be_a_guid():
    guid = uuid.uuid4()
    assert key_path("accounts", str(guid)) == f"accounts({guid})"
    assert bind("accounts", guid) == f"/accounts({guid})"
    with pytest.raises(ValueError, match="badly formed"):
        key_path("accounts", "A-1")


def test_filters_and_query_strings_encode_what_would_change_the_query():
    text = query_string({"$select": ("name", "accountnumber"),
                         "$filter": equals_filter({"name": "A&B+C", "n": 2}), "$top": None})
    assert text == "$select=name%2Caccountnumber&$filter=name%20eq%20'A%26B%2BC'%20and%20n%20eq%202"
    assert literal(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00Z"
