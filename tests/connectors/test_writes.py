"""Writes: Dataverse alternate-key upserts in each mode, lookups by @odata.bind, F&O create-or-update by
composite key, and records whose key the service generates."""

from __future__ import annotations

import threading
import uuid

import pytest

from connectors import ConflictError, DuplicateError, NotFoundError, ValidationError

GROUP = {"CustomerGroupId": "10"}


def test_dataverse_upsert_says_whether_it_created_or_updated(dv):
    created = dv.upsert("accounts", {"accountnumber": "UP-1"}, {"name": "First"})
    assert created.outcome == "created"
    assert uuid.UUID(created.key["accountid"])
    assert created.etag.startswith('W/"')
    updated = dv.upsert("accounts", {"accountnumber": "UP-1"}, {"name": "Second"}, select=["name"])
    assert updated.outcome == "updated"
    assert updated.key == created.key
    assert updated.attributes["name"] == "Second"
    assert updated.etag != created.etag


def test_dataverse_update_only_never_resurrects_a_deleted_record(dv):
    with pytest.raises(NotFoundError):
        dv.upsert("accounts", {"accountnumber": "GONE-1"}, {"name": "Ghost"}, mode="update")
    with pytest.raises(NotFoundError):
        dv.get("accounts", {"accountnumber": "GONE-1"})


def test_dataverse_create_only_refuses_an_existing_key(dv):
    dv.upsert("accounts", {"accountnumber": "ONCE-1"}, {"name": "Once"}, mode="create")
    with pytest.raises(DuplicateError):
        dv.upsert("accounts", {"accountnumber": "ONCE-1"}, {"name": "Twice"}, mode="create")
    assert dv.get("accounts", {"accountnumber": "ONCE-1"}, select=["name"])["name"] == "Once"


def test_dataverse_optimistic_update_and_delete_need_the_current_etag(dv):
    first = dv.upsert("accounts", {"accountnumber": "ETAG-1"}, {"name": "v1"})
    second = dv.upsert("accounts", {"accountnumber": "ETAG-1"}, {"name": "v2"}, etag=first.etag)
    assert second.outcome == "updated"
    with pytest.raises(ConflictError):
        dv.upsert("accounts", {"accountnumber": "ETAG-1"}, {"name": "v3"}, etag=first.etag)
    with pytest.raises(ConflictError):
        dv.delete("accounts", first.key["accountid"], etag=first.etag)
    dv.delete("accounts", first.key["accountid"], etag=second.etag)
    with pytest.raises(NotFoundError):
        dv.get("accounts", first.key["accountid"])


def test_dataverse_create_by_post_returns_the_new_id(dv):
    result = dv.create("accounts", {"name": "Posted", "accountnumber": "POST-2"})
    assert result.outcome == "created"
    assert dv.get("accounts", result.key["accountid"], select=["accountnumber"])["accountnumber"] == "POST-2"


def test_dataverse_lookups_are_written_with_odata_bind(dv):
    account = dv.upsert("accounts", {"accountnumber": "PARENT-1"}, {"name": "Parent"})
    by_key = dv.create("contacts", {"firstname": "Ann", "lastname": "Key",
                                    "parentcustomerid_account@odata.bind": dv.bind("accounts",
                                                                                   {"accountnumber": "PARENT-1"})})
    by_id = dv.create("contacts", {"firstname": "Bob", "lastname": "Id",
                                   "parentcustomerid_account@odata.bind": dv.bind("accounts",
                                                                                  account.key["accountid"])})
    for contact in (by_key, by_id):
        row = dv.get("contacts", contact.key["contactid"], select=["_parentcustomerid_value"])
        assert row["_parentcustomerid_value"] == account.key["accountid"]


@pytest.mark.parametrize("value", ["O'Brien Sons", "Zoë Ünïcode 東京", "Hash#1", "Quest?ion", "Plus+Sign",
                                   "Comma,Paren(1)", "Semi;Eq=1", "Space  Two", "Dollar$At@"])
def test_dataverse_key_values_are_escaped_in_key_urls(dv, value):
    created = dv.upsert("accounts", {"accountnumber": value}, {"name": f"Account {value}"})
    assert created.outcome == "created"
    assert dv.get("accounts", {"accountnumber": value}, select=["accountnumber"])["accountnumber"] == value
    again = dv.upsert("accounts", {"accountnumber": value}, {"name": "Renamed"})
    assert again.outcome == "updated"
    assert again.key == created.key


@pytest.mark.parametrize("value", ["O'Brien & Sons", "A/B", "50%", "x:y", "<tag>", "star*", "back\\slash"])
def test_dataverse_key_values_it_cannot_take_are_refused_before_sending(dataverse, dv, value):
    with pytest.raises(ValidationError, match="cannot take in a key URL"):
        dv.upsert("accounts", {"accountnumber": value}, {"name": "x"})
    with pytest.raises(ValidationError):
        dv.bind("accounts", {"accountnumber": value})
    assert dataverse.stats()["requests"] == 0


@pytest.mark.parametrize("value", ["O'Brien & Sons", "Zoë-東京", "Hash#1?+", "A/B:C"])
def test_finops_key_values_are_escaped_in_key_urls(fo, value):
    key = {"dataAreaId": "usmf", "CustomerAccount": value}
    created = fo.upsert("CustomersV3", key, {"OrganizationName": "Escaped", **GROUP}, exists=False)
    assert created.outcome == "created"
    assert fo.get("CustomersV3", key, select=["CustomerAccount"])["CustomerAccount"] == value
    assert fo.upsert("CustomersV3", key, {"OrganizationName": "Renamed"}, exists=True).outcome == "updated"
    assert fo.get("CustomersV3", key, select=["OrganizationName"])["OrganizationName"] == "Renamed"


def test_finops_upsert_falls_back_when_the_hint_is_wrong(finops, fo):
    key = {"dataAreaId": "usmf", "CustomerAccount": "HINT-1"}
    created = fo.upsert("CustomersV3", key, {"OrganizationName": "Hinted", **GROUP}, exists=True)
    assert created.outcome == "created"  # PATCH answered 404, so it was created
    assert created.attributes["PartyNumber"]  # a server-generated field, returned by the create
    assert created.key == key
    updated = fo.upsert("CustomersV3", key, {"OrganizationName": "Hinted again", **GROUP}, exists=False)
    assert updated.outcome == "updated"  # POST answered "already exists", so it was updated
    unknown = fo.upsert("CustomersV3", key, {"OrganizationName": "No hint"})
    assert unknown.outcome == "updated"
    stats = finops.stats()["requests_by_entity_set"]["CustomersV3"]
    assert stats == {"GET": 1, "PATCH": 3, "POST": 2}  # one read, once per process, learns the key's types


def test_finops_writes_land_in_the_company_of_the_key(fo):
    key = {"dataAreaId": "demf", "CustomerAccount": "DE-NEW-1"}
    fo.upsert("CustomersV3", key, {"OrganizationName": "Deutsch", **GROUP}, exists=False)
    assert fo.get("CustomersV3", key, select=["dataAreaId"])["dataAreaId"] == "demf"
    with pytest.raises(NotFoundError):
        fo.get("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": "DE-NEW-1"})


def test_finops_default_company_completes_a_key_without_one(fo):
    fo.upsert("CustomersV3", {"CustomerAccount": "DEFAULT-1"}, {"OrganizationName": "Default", **GROUP})
    assert fo.get("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": "DEFAULT-1"})


def test_finops_upsert_by_natural_key_finds_the_generated_key(finops, fo):
    finops.seed(CDSContactPersons=2)
    existing = next(fo.rows("CDSContactPersonsV2", filter="dataAreaId eq 'usmf'"))
    key_fields = ("dataAreaId", "ContactPersonPartyNumber", "AssociatedContactType", "AssociatedContactNumber")
    updated = fo.upsert_by_filter("CDSContactPersonsV2", {"ContactPersonId": existing["ContactPersonId"]},
                                  {"EmploymentProfession": "Buyer"}, key_fields=key_fields)
    assert updated.outcome == "updated"
    assert updated.key == {name: existing[name] for name in key_fields}
    assert fo.get("CDSContactPersonsV2", updated.key, select=["EmploymentProfession"])["EmploymentProfession"] == \
        "Buyer"
    created = fo.upsert_by_filter("CDSContactPersonsV2", {"ContactPersonId": "CON-NEW-1"},
                                  {"AssociatedContactType": "Customer",
                                   "AssociatedContactNumber": existing["AssociatedContactNumber"], "LastName": "New"},
                                  key_fields=key_fields)
    assert created.outcome == "created"
    assert created.key["ContactPersonPartyNumber"]  # generated by the service, returned by the create


def test_finops_learns_enum_key_fields_once_and_addresses_records_by_them(finops, fo):
    """A key read back from storage holds "Customer" as plain text; F&O needs the enum literal in a key URL."""
    finops.seed(CDSContactPersons=1)
    row = next(fo.rows("CDSContactPersonsV2", filter="dataAreaId eq 'usmf'"))
    key = {name: row[name] for name in ("dataAreaId", "ContactPersonPartyNumber", "AssociatedContactType",
                                        "AssociatedContactNumber")}
    fo.upsert("CDSContactPersonsV2", key, {"EmploymentProfession": "Owner"}, exists=True)
    fo.upsert("CDSContactPersonsV2", key, {"EmploymentProfession": "Founder"}, exists=True)
    assert fo.get("CDSContactPersonsV2", key)["EmploymentProfession"] == "Founder"
    gets = finops.stats()["requests_by_entity_set"]["CDSContactPersonsV2"]["GET"]
    assert gets == 3  # the rows read above, one full-metadata read to learn the types, the last get


def test_finops_two_writers_of_one_new_contact_person_create_it_once_and_both_succeed(finops, fo):
    finops.seed(CustomersV3=1)
    customer = next(fo.rows("CustomersV3", filter="dataAreaId eq 'usmf'"))
    key_fields = ("dataAreaId", "ContactPersonPartyNumber", "AssociatedContactType", "AssociatedContactNumber")
    body = {"AssociatedContactType": "Customer", "AssociatedContactNumber": customer["CustomerAccount"],
            "FirstName": "Ann", "LastName": "Lee"}
    finops.configure(latency_ms=300)  # both look-ups answer "none" before either create arrives
    start, results, errors = threading.Barrier(2), [], []

    def write(job_title: str) -> None:
        start.wait()
        try:
            results.append(fo.upsert_by_filter("CDSContactPersonsV2", {"ContactPersonId": "RACE-1"},
                                               {**body, "EmploymentProfession": job_title}, key_fields=key_fields,
                                               company="usmf"))
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(title,)) for title in ("Buyer", "CFO")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    finops.configure(latency_ms=0)

    assert errors == []
    assert sorted(result.outcome for result in results) == ["created", "updated"]
    assert finops.stats()["requests_by_entity_set"]["CDSContactPersonsV2"]["POST"] == 2  # the race did happen
    persons = list(fo.rows("CDSContactPersonsV2", filter="ContactPersonId eq 'RACE-1'"))
    assert len(persons) == 1
    assert results[0].key == results[1].key == {name: persons[0][name] for name in key_fields}


def test_finops_key_fields_cannot_change_and_the_update_says_so(fo):
    key = {"dataAreaId": "usmf", "CustomerAccount": "KEY-OLD"}
    fo.upsert("CustomersV3", key, {"OrganizationName": "Keyed", **GROUP}, exists=False)

    with pytest.raises(ValidationError, match="part of the key"):
        fo.update("CustomersV3", key, {"CustomerAccount": "KEY-NEW", "OrganizationName": "Renamed"})

    assert fo.get("CustomersV3", key, select=["OrganizationName"])["OrganizationName"] == "Keyed"
    updated = fo.update("CustomersV3", key, {"CustomerAccount": "key-old", "OrganizationName": "Same key"})
    assert updated.outcome == "updated"  # the same key in another case is no change
    assert fo.get("CustomersV3", key, select=["OrganizationName"])["OrganizationName"] == "Same key"


def test_finops_quotation_line_upsert_by_its_real_key(finops, fo):
    finops.seed(CDSSalesQuotationHeaders=1)
    line = next(fo.rows("CDSSalesQuotationLines"))
    key = {"dataAreaId": line["dataAreaId"], "LineCreationSequenceNumber": line["LineCreationSequenceNumber"],
           "SalesQuotationNumber": line["SalesQuotationNumber"]}
    result = fo.upsert("CDSSalesQuotationLines", key, {"RequestedSalesQuantity": 3})
    assert result.outcome == "updated"
    assert result.key == key
    assert fo.get("CDSSalesQuotationLines", key, select=["RequestedSalesQuantity"])["RequestedSalesQuantity"] == 3
    added = fo.upsert("CDSSalesQuotationLines", {**key, "LineCreationSequenceNumber": 99},
                      {"ProductNumber": line["ProductNumber"]})
    assert added.outcome == "created"  # PATCH answered 404, so it was created under that key


def test_finops_a_created_record_teaches_its_enum_keys_for_later_updates(finops, fo):
    """A fresh process that creates a contact person and later updates it by the stored key needs no extra read."""
    finops.seed(CustomersV3=1)
    customer = next(fo.rows("CustomersV3", filter="dataAreaId eq 'usmf'"))
    key_fields = ("dataAreaId", "ContactPersonPartyNumber", "AssociatedContactType", "AssociatedContactNumber")
    created = fo.upsert_by_filter("CDSContactPersonsV2", {"ContactPersonId": "CON-TEACH-1"},
                                  {"AssociatedContactType": "Customer", "LastName": "New",
                                   "AssociatedContactNumber": customer["CustomerAccount"]}, key_fields=key_fields)
    stored = {name: str(value) for name, value in created.key.items()}  # as a link holds it: plain JSON text
    finops.control("DELETE", "stats")
    fo.upsert("CDSContactPersonsV2", stored, {"LastName": "Updated"}, exists=True)
    assert finops.stats()["requests_by_entity_set"]["CDSContactPersonsV2"] == {"PATCH": 1}
