"""Source values the database cannot store: cleaned out of a record's data, refused in its key or id."""

from __future__ import annotations

from integration.mapping import FieldRule, MapDefinition
from integration.storable import ID_LENGTH, KEY_LENGTH, clean_text, identity_text, prepare

ACCOUNTS = MapDefinition("Accounts", ("accountnumber",), "accountid", ("CustomerAccount",),
                         (FieldRule("CustomerAccount", "accountnumber"),))
GUID = "5f0c3b1e-0000-4000-8000-000000000001"


def test_nul_characters_are_removed_from_values_and_field_names_anywhere_and_the_fields_are_named():
    record = {"accountid": GUID, "accountnumber": "ACC-1", "name": "Con\x00toso", "na\x00me2": "x",
              "address": {"lines": ["1 Main\x00 St"]}}

    prepared = prepare(ACCOUNTS, record)

    assert prepared.refusal is None
    assert prepared.record == {"accountid": GUID, "accountnumber": "ACC-1", "name": "Contoso", "name2": "x",
                               "address": {"lines": ["1 Main St"]}}
    assert prepared.cleaned == ("name", "name2", "address/lines/0")
    assert "name, name2, address/lines/0" in prepared.note
    assert record["name"] == "Con\x00toso"  # the source record is left as it was read


def test_a_lone_surrogate_becomes_the_replacement_character():
    assert clean_text("Caf\ud800e") == "Caf\ufffde"
    assert clean_text("Café 😀") == "Café 😀"  # a proper pair is text like any other


def test_a_clean_record_is_stored_as_it_is_and_says_nothing():
    record = {"accountid": GUID, "accountnumber": "ACC-1", "name": "Contoso", "creditlimit": 10.5, "flag": True}

    prepared = prepare(ACCOUNTS, record)

    assert prepared.record == record
    assert (prepared.cleaned, prepared.note, prepared.refusal) == ((), "", None)


def test_a_key_with_a_nul_character_is_refused_naming_the_field_never_cleaned():
    prepared = prepare(ACCOUNTS, {"accountid": GUID, "accountnumber": "ACC\x00-1", "name": "Contoso"})

    field, reason = prepared.refusal
    assert field == "accountnumber"
    assert "ACC\\u0000-1" in reason
    assert "fix it in the source" in reason


def test_a_key_or_id_longer_than_its_column_is_refused():
    too_long = prepare(ACCOUNTS, {"accountid": GUID, "accountnumber": "A" * (KEY_LENGTH + 1)})
    long_id = prepare(ACCOUNTS, {"accountid": "x" * (ID_LENGTH + 1), "accountnumber": "ACC-1"})

    assert too_long.refusal == ("accountnumber", f"is {KEY_LENGTH + 1} characters long; p2c stores keys of at "
                                                 f"most {KEY_LENGTH}")
    assert long_id.refusal[0] == "accountid"


def test_an_identity_is_spelled_out_and_two_long_ones_never_share_a_row():
    first, second = "A" * 500 + "1", "A" * 500 + "2"

    assert identity_text("ACC\x00-1") == "ACC\\u0000-1"
    assert identity_text("ACC-1") == "ACC-1"
    assert len(identity_text(first)) == KEY_LENGTH
    assert identity_text(first) != identity_text(second)
