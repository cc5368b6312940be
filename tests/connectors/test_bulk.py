"""Writing many records in one request: Dataverse's bulk messages (all or nothing, the failing target named), `$batch`
with one outcome per write on both APIs (a bad write fails alone), and F&O keys looked up by natural key in bulk."""

from __future__ import annotations

import pickle

import pytest

from connectors import BulkTargetError, DuplicateError, NotFoundError, ValidationError

GROUP = {"CustomerGroupId": "10"}


def test_create_multiple_gives_one_result_per_record_in_order_with_its_id(dataverse, dv):
    results = dv.create_multiple("accounts", [{"name": f"Bulk {n}", "accountnumber": f"BK-{n}"} for n in range(3)])
    assert [result.outcome for result in results] == ["created"] * 3
    for n, result in enumerate(results):
        assert dv.get("accounts", result.key["accountid"], select=["accountnumber"])["accountnumber"] == f"BK-{n}"
    assert dataverse.stats()["requests_by_entity_set"]["accounts"] == {"POST": 1, "GET": 3}


def test_upsert_multiple_creates_and_updates_by_alternate_key_and_the_ids_are_read_back_in_one_request(dataverse,
                                                                                                      dv):
    existing = dv.upsert("accounts", {"accountnumber": "UPS-1"}, {"name": "Before"}).key["accountid"]
    keys = [{"accountnumber": f"UPS-{n}"} for n in (1, 2, 3)]
    results = dv.upsert_multiple("accounts", [(key, {"name": f"After {n}", **key}) for n, key in enumerate(keys)])
    assert [(result.outcome, result.key) for result in results] == [("upserted", key) for key in keys]
    dataverse.control("DELETE", "stats")
    ids = dv.ids_by_key("accounts", [*keys, {"accountnumber": "UPS-NONE"}])
    assert dataverse.stats()["requests"] == 1
    assert set(ids) == {("UPS-1",), ("UPS-2",), ("UPS-3",)}
    assert ids[("UPS-1",)] == existing
    assert dv.get("accounts", ids[("UPS-3",)], select=["name"])["name"] == "After 2"


def test_update_multiple_updates_by_id_and_by_alternate_key(dv):
    first = dv.upsert("accounts", {"accountnumber": "UPD-1"}, {"name": "One"}).key["accountid"]
    dv.upsert("accounts", {"accountnumber": "UPD-2"}, {"name": "Two"})
    results = dv.update_multiple("accounts", [(first, {"creditlimit": 10}),
                                              ({"accountnumber": "UPD-2"}, {"creditlimit": 20})])
    assert [(result.outcome, result.key) for result in results] == [("updated", {"accountid": first}),
                                                                     ("updated", {"accountnumber": "UPD-2"})]
    assert dv.get("accounts", {"accountnumber": "UPD-2"}, select=["creditlimit"])["creditlimit"] == 20


def test_a_refused_target_fails_the_whole_bulk_message_naming_it_and_nothing_is_written(dv):
    dv.upsert("accounts", {"accountnumber": "TAKEN"}, {"name": "Taken"})
    bodies = [{"name": "Fine", "accountnumber": "BAD-1"}, {"name": "Clash", "accountnumber": "TAKEN"}]
    with pytest.raises(BulkTargetError) as refused:
        dv.create_multiple("accounts", bodies)
    failure = refused.value
    assert (failure.index, failure.permanent) == (1, True)
    assert isinstance(failure.error, DuplicateError)
    assert "target 1" in str(failure)
    assert pickle.loads(pickle.dumps(failure)).index == 1  # noqa: S301 - it crosses Celery's process boundary
    with pytest.raises(NotFoundError):
        dv.get("accounts", {"accountnumber": "BAD-1"})
    with pytest.raises(BulkTargetError) as missing:
        dv.update_multiple("accounts", [({"accountnumber": "TAKEN"}, {"name": "Renamed"}),
                                        ({"accountnumber": "NOT-THERE"}, {"name": "Ghost"})])
    assert (missing.value.index, missing.value.key) == (1, {"accountnumber": "NOT-THERE"})
    assert isinstance(missing.value.error, NotFoundError)
    assert dv.get("accounts", {"accountnumber": "TAKEN"}, select=["name"])["name"] == "Taken"


def test_dataverse_write_each_gives_one_outcome_per_write_and_a_bad_write_fails_alone(dataverse, dv):
    operations = [dv.upsert_operation("accounts", {"accountnumber": f"EACH-{n}"}, {"name": f"Each {n}"})
                  for n in range(4)]
    operations[1] = dv.upsert_operation("accounts", {"accountnumber": "EACH-1"}, {"name": "x" * 161})
    outcomes = dv.write_each(operations)
    assert [outcome.ok for outcome in outcomes] == [True, False, True, True]
    assert isinstance(outcomes[1].error, ValidationError)
    assert "'name'" in outcomes[1].error.message
    assert [dv.result_of(outcomes[n]).outcome for n in (0, 2, 3)] == ["created"] * 3
    assert dataverse.stats()["requests_by_entity_set"]["$batch"] == {"POST": 1}


def test_finops_write_each_sends_one_change_set_per_write_so_a_bad_write_fails_alone(finops, fo):
    key_fields = ("dataAreaId", "CustomerAccount")
    operations = [fo.create_operation("CustomersV3", {"CustomerAccount": f"FE-{n}", "OrganizationName": f"FE {n}",
                                                      **GROUP}, key_fields=key_fields) for n in range(3)]
    operations[1] = fo.create_operation("CustomersV3", {"CustomerAccount": "FE-1", "OrganizationName": "Bad",
                                                        "CustomerGroupId": "NO-SUCH"}, key_fields=key_fields)
    outcomes = fo.write_each(operations)
    assert [outcome.ok for outcome in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, ValidationError)
    assert "NO-SUCH" in outcomes[1].error.message
    assert fo.result_of(outcomes[2]).key == {"dataAreaId": "usmf", "CustomerAccount": "FE-2"}
    assert fo.get("CustomersV3", {"CustomerAccount": "FE-0"})
    with pytest.raises(NotFoundError):
        fo.get("CustomersV3", {"CustomerAccount": "FE-1"})
    assert finops.stats()["requests_by_entity_set"]["$batch"] == {"POST": 1}


def test_finops_keys_are_found_by_natural_key_in_bulk_and_address_their_records_with_no_further_read(finops, fo):
    finops.seed(CDSContactPersons=4)
    people = list(fo.rows("CDSContactPersonsV2", filter="dataAreaId eq 'usmf'"))
    key_fields = ("dataAreaId", "ContactPersonPartyNumber", "AssociatedContactType", "AssociatedContactNumber")
    finops.control("DELETE", "stats")
    matches = [{"ContactPersonId": person["ContactPersonId"].lower()} for person in people]  # case as F&O ignores it
    found = fo.find_keys("CDSContactPersonsV2", [*matches, {"ContactPersonId": "NOBODY"}], key_fields=key_fields)
    assert finops.stats()["requests"] == 1
    assert set(found) == {(match["ContactPersonId"],) for match in matches}
    assert found.ambiguous == {}
    first = found[(matches[0]["ContactPersonId"],)]
    assert first == {name: people[0][name] for name in key_fields}
    stored = {name: str(value) for name, value in first.items()}  # as a link holds it: plain JSON text
    fo.upsert("CDSContactPersonsV2", stored, {"EmploymentProfession": "Buyer"}, exists=True)
    assert finops.stats()["requests_by_entity_set"]["CDSContactPersonsV2"] == {"GET": 1, "PATCH": 1}


def test_finops_lookups_by_many_natural_keys_are_split_to_keep_urls_short(finops, fo):
    matches = [{"CustomerAccount": f"NOT-A-CUSTOMER-{n:04d}"} for n in range(150)]
    found = fo.find_keys("CustomersV3", matches, key_fields=("dataAreaId", "CustomerAccount"))
    assert found == {}
    stats = finops.stats()
    assert 2 <= stats["requests"] <= 6
