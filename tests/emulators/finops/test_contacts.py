"""Contact persons: one stored table under four entity sets, each with Microsoft's own key, and the customer
a contact belongs to named by party (V1, ContactPersons) or by type and account (V2)."""

from __future__ import annotations

import pytest

from tests.emulators.finops.conftest import infolog

CUSTOMER_TYPE = "Microsoft.Dynamics.DataEntities.smmContactPersonCDSAssociatedContactType'Customer'"


def _v2_path(party: str, account: str, company: str = "usmf") -> str:
    return (f"CDSContactPersonsV2(dataAreaId='{company}',ContactPersonPartyNumber='{party}',"
            f"AssociatedContactType={CUSTOMER_TYPE},AssociatedContactNumber='{account}')")


@pytest.fixture
def customer(fo) -> dict:
    return fo.customer("C-1")


def _contact(fo, **fields) -> dict:
    response = fo.post("CDSContactPersonsV2", {"AssociatedContactType": "Customer", "AssociatedContactNumber": "C-1",
                                               "FirstName": "Ines", "LastName": "Keller", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_v2_creates_reads_and_updates_by_its_four_part_key(fo, customer):
    response = fo.post("CDSContactPersonsV2", {"AssociatedContactType": "Customer", "AssociatedContactNumber": "C-1",
                                               "ContactPersonId": "CON-1", "FirstName": "Ines", "LastName": "Keller",
                                               "EmploymentProfession": "Buyer"})
    assert response.status_code == 201, response.text
    contact = response.json()
    party = contact["ContactPersonPartyNumber"]
    assert len(party) == 9
    assert party.isdigit()
    assert response.headers["Location"] == f"{fo.api}{_v2_path(party, 'C-1')}"
    assert fo.get(_v2_path(party, "C-1")).json()["ContactPersonId"] == "CON-1"
    assert fo.patch(_v2_path(party, "C-1"), {"EmploymentProfession": "CFO"}).status_code == 204
    assert fo.get(_v2_path(party, "C-1")).json()["EmploymentProfession"] == "CFO"
    assert fo.get(_v2_path(party, "C-2")).status_code == 404


def test_the_same_contact_reads_through_v1_and_contact_persons_by_their_keys(fo, customer):
    contact = _contact(fo, ContactPersonId="CON-1", EmploymentProfession="Buyer")
    party = contact["ContactPersonPartyNumber"]
    v1 = fo.get(f"CDSContactPersons(dataAreaId='usmf',ContactPersonPartyNumber='{party}',"
                f"AssociatedPartyNumber='{customer['PartyNumber']}')")
    assert v1.status_code == 200
    assert (v1.json()["FirstName"], v1.json()["EmploymentProfession"]) == ("Ines", "Buyer")
    assert "ContactPersonId" not in v1.json()  # V1 has no contact ID
    by_id = fo.get("ContactPersons(dataAreaId='usmf',ContactPersonId='CON-1')").json()
    assert (by_id["AssociatedPartyNumber"], by_id["ContactPersonPartyNumber"]) == (customer["PartyNumber"], party)
    assert fo.patch("ContactPersons(dataAreaId='usmf',ContactPersonId='CON-1')",
                    {"EmploymentJobTitle": "Head of purchasing"}).status_code == 204
    assert fo.get("ContactPersons(dataAreaId='usmf',ContactPersonId='CON-1')").json()["EmploymentJobTitle"] == \
        "Head of purchasing"
    pair = fo.get(f"CDSCustomerContactPersons(dataAreaId='usmf',ContactPersonPartyNumber='{party}',"
                  "CustomerAccountNumber='C-1')").json()
    assert pair["CustomerAccountNumber"] == "C-1"  # stored as AssociatedContactNumber, an alias


def test_v1_names_the_customer_by_party_and_v2_gets_its_account(fo, customer):
    response = fo.post("CDSContactPersons", {"AssociatedPartyNumber": customer["PartyNumber"], "LastName": "Ode"})
    assert response.status_code == 201, response.text
    party = response.json()["ContactPersonPartyNumber"]
    assert response.headers["Location"].endswith(
        f"CDSContactPersons(dataAreaId='usmf',ContactPersonPartyNumber='{party}',"
        f"AssociatedPartyNumber='{customer['PartyNumber']}')")
    assert fo.get(_v2_path(party, "C-1")).json()["ContactPersonId"] == "000001"  # from the number sequence
    assert "The value '999' in field 'Associated party' is not found in the related table 'Customers'." in infolog(
        fo.post("CDSContactPersons", {"AssociatedPartyNumber": "999", "LastName": "Nobody"}))


def test_contact_id_is_generated_when_blank_and_unique_per_company(fo, customer):
    assert _contact(fo)["ContactPersonId"] == "000001"
    assert _contact(fo, ContactPersonId="CON-7")["ContactPersonId"] == "CON-7"
    assert infolog(fo.post("CDSContactPersonsV2", {"AssociatedContactType": "Customer",
                                                   "AssociatedContactNumber": "C-1", "ContactPersonId": "CON-7"})) \
        == ("Write failed for table row of type 'SmmContactPersonCDSV2Entity'. Infolog: Info: Cannot create a "
            "record in Contact persons (ContactPerson). Contact ID: CON-7.\nThe record already exists..")
    fo.customer("D-1", company="demf")
    assert _contact(fo, dataAreaId="demf", AssociatedContactNumber="D-1", ContactPersonId="CON-7")[
        "dataAreaId"] == "demf"


def test_v2_associated_customer_must_exist_in_the_company(fo, customer):
    fo.customer("D-1", company="demf")
    message = infolog(fo.post("CDSContactPersonsV2", {"AssociatedContactType": "Customer",
                                                      "AssociatedContactNumber": "D-1", "LastName": "Elsewhere"}))
    assert message == ("Write failed for table row of type 'SmmContactPersonCDSV2Entity'. Infolog: Warning: The "
                       "value 'D-1' in field 'Associated contact number' is not found in the related table "
                       "'Customers'.; Warning: validateField failed on field "
                       "'SmmContactPersonCDSV2Entity.AssociatedContactNumber'.")
    assert "models contact persons of customers only" in infolog(fo.post("CDSContactPersonsV2", {
        "AssociatedContactType": "Vendor", "AssociatedContactNumber": "V-1"}))


def test_v2_key_takes_the_enum_as_an_enum_literal_only(fo, customer):
    party = _contact(fo)["ContactPersonPartyNumber"]
    plain = fo.get(_v2_path(party, "C-1").replace(CUSTOMER_TYPE, "'Customer'"))
    assert plain.status_code == 400
    assert plain.json()["error"]["innererror"]["message"] == (
        "The key value 'Customer' of 'AssociatedContactType' is not a valid "
        "Microsoft.Dynamics.DataEntities.smmContactPersonCDSAssociatedContactType literal.")
    assert fo.get(_v2_path(party, "C-1").replace("'Customer'", "'customer'")).status_code == 400


def test_contacts_found_by_company_and_contact_id_as_a_connector_looks_them_up(fo, customer):
    for n in range(5):
        _contact(fo, ContactPersonId=f"CON-{n}")
    rows = fo.get("CDSContactPersonsV2?cross-company=true&$filter=dataAreaId eq 'usmf' and ContactPersonId eq "
                  "'con-3'&$select=ContactPersonId,ContactPersonPartyNumber").json()["value"]
    assert [row["ContactPersonId"] for row in rows] == ["CON-3"]
