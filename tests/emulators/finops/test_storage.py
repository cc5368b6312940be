"""Rows hold the table's columns and what clients wrote, nothing more; reads see every other property as its
empty value; equality filters on keys and unique indexes are answered from the index, with the scan's rows."""

from __future__ import annotations

import pytest

from connectors.emulators.finops import indexed
from connectors.emulators.finops.entities import ENTITY_SETS
from connectors.emulators.finops.tables import CUSTOMER

NO = "Microsoft.Dynamics.DataEntities.NoYes'No'"


def _stored(fo, account: str) -> dict:
    return fo.handle.emulator.app.store.tables["CustTable"].get(("usmf", account))


def test_a_row_stores_its_tables_columns_and_what_a_client_wrote(fo):
    fo.customer("C-1", SalesSegmentId="SEG", IsFinalUser="Yes")
    declared = {field.name for field in CUSTOMER.fields}
    assert set(_stored(fo, "C-1")) == declared | {"SalesSegmentId", "IsFinalUser", "_version"}
    assert fo.patch("CustomersV3(dataAreaId='usmf',CustomerAccount='C-1')",
                    {"SalesSegmentId": "", "IsFinalUser": "No"}).status_code == 204
    assert set(_stored(fo, "C-1")) == declared | {"_version"}  # back to empty: nothing left to keep


def test_filters_and_orderby_see_unwritten_properties_as_their_empty_values(fo):
    fo.customer("C-1", SalesSegmentId="B")
    fo.customer("C-2")
    fo.customer("C-3", SalesSegmentId="A", IsFinalUser="Yes")

    def accounts(query: str) -> list[str]:
        response = fo.get(f"CustomersV3?{query}")
        assert response.status_code == 200, response.text
        return [row["CustomerAccount"] for row in response.json()["value"]]

    assert accounts("$filter=SalesSegmentId eq ''") == ["C-2"]
    assert accounts(f"$filter=IsFinalUser eq {NO}") == ["C-1", "C-2"]
    assert accounts("$filter=DeliveryAddressLongitude eq 0 and CreditLimit eq 0") == ["C-1", "C-2", "C-3"]
    assert accounts("$orderby=SalesSegmentId desc,CustomerAccount") == ["C-1", "C-3", "C-2"]
    paged = fo.all_pages("CustomersV3?$orderby=SalesSegmentId&$select=CustomerAccount", Prefer="odata.maxpagesize=1")
    assert [row["CustomerAccount"] for row in paged] == ["C-2", "C-3", "C-1"]


def test_an_aliased_property_is_filtered_by_its_own_name(fo):
    fo.customer("C-1")
    fo.customer("C-2")
    for account in ("C-1", "C-2", "C-2"):
        fo.post("CDSContactPersonsV2", {"AssociatedContactType": "Customer", "AssociatedContactNumber": account})
    rows = fo.get("CDSCustomerContactPersons?$filter=CustomerAccountNumber eq 'C-2'").json()["value"]
    assert [row["CustomerAccountNumber"] for row in rows] == ["C-2", "C-2"]


@pytest.mark.parametrize(("entity_set", "text", "company", "expected"), [
    ("CDSContactPersonsV2", "dataAreaId eq 'usmf' and ContactPersonId eq 'X'", None, ("primary", None)),
    ("CDSContactPersonsV2", "ContactPersonId eq 'X'", "usmf", ("primary", None)),
    ("CDSContactPersonsV2", "ContactPersonId eq 'X'", None, None),  # every company: no index covers it
    ("CustomersV3", "PartyNumber eq '000000001' and CreditLimit gt 0", "usmf", ("unique", "party")),
    ("CDSSalesQuotationLines", "SalesQuotationNumber eq 'Q1' and LineCreationSequenceNumber eq 2", "usmf",
     ("unique", "sequence")),
    ("CDSSalesQuotationLines", "SalesQuotationNumber eq 'Q1'", "usmf", ("multi", "quotation")),
    ("CDSCustomerContactPersons", "CustomerAccountNumber eq 'C-1' and ContactPersonPartyNumber eq '1'", "usmf",
     ("unique", "customer")),
    ("CustomersV3", "CustomerAccount eq 'C-1' or CustomerAccount eq 'C-2'", "usmf", None),
    ("CustomersV3", "CustomerAccount eq 'C-*'", "usmf", None),  # a wildcard is a pattern
    ("CustomersV3", "(CustomerAccount eq 'C-1')", "usmf", ("primary", None)),
    # A batch's lookups: one read per branch of the disjunction, when every branch is of equalities.
    ("CDSContactPersonsV2", "dataAreaId eq 'usmf' and (ContactPersonId eq 'A' or ContactPersonId eq 'B')", None,
     ("primary", None)),
    ("CDSSalesQuotationLines", "(SalesQuotationNumber eq 'Q1' and LineCreationSequenceNumber eq 1) or "
                               "(SalesQuotationNumber eq 'Q2' and LineCreationSequenceNumber eq 2)", "usmf", None),
    ("CDSSalesQuotationLines", "((SalesQuotationNumber eq 'Q1' and LineCreationSequenceNumber eq 1) or "
                               "(SalesQuotationNumber eq 'Q2' and LineCreationSequenceNumber eq 2))", "usmf",
     ("unique", "sequence")),
    ("CDSContactPersonsV2", "dataAreaId eq 'usmf' and (ContactPersonId eq 'A' or FirstName eq 'B')", None, None),
    ("CDSContactPersonsV2", "dataAreaId eq 'usmf' and (ContactPersonId eq 'A') and (ContactPersonId eq 'B')", None,
     ("primary", None)),
])
def test_the_index_read_is_chosen_from_the_filters_top_level_equalities(entity_set, text, company, expected):
    """A top-level `or` is left to the scan (the test below compares with it through `text or text`)."""
    plan = indexed.plan(ENTITY_SETS[entity_set], text, company)
    assert (None if plan is None else (plan.kind, plan.index)) == expected


def test_equality_filters_answered_from_an_index_return_the_scans_rows(fo):
    fo.handle.seed(CDSContactPersons=60, CDSSalesQuotationHeaders=8)
    contacts = fo.all_pages("CDSContactPersonsV2?cross-company=true")
    quote = fo.all_pages("CDSSalesQuotationLines?cross-company=true")[0]
    picked = contacts[7]
    queries = [
        ("CDSContactPersonsV2", f"dataAreaId eq '{picked['dataAreaId']}' and ContactPersonId eq "
                                f"'{picked['ContactPersonId'].lower()}'", True),
        ("CDSContactPersonsV2", f"ContactPersonId eq '{picked['ContactPersonId']}'", False),
        ("CDSContactPersonsV2", f"dataAreaId eq 'DEMF' and ContactPersonId eq '{picked['ContactPersonId']}'", False),
        ("CDSContactPersonsV2", f"dataAreaId eq '{picked['dataAreaId']}' and ContactPersonId eq "
                                f"'{picked['ContactPersonId']}' and FirstName eq 'nobody'", True),
        ("CustomersV3", f"dataAreaId eq '{picked['dataAreaId']}' and CustomerAccount eq "
                        f"'{picked['AssociatedContactNumber']}'", True),
        # Several branches, one of them twice and one matching nothing: each row once, in key order.
        ("CDSContactPersonsV2", f"dataAreaId eq '{picked['dataAreaId']}' and (" + " or ".join(
            f"ContactPersonId eq '{contact['ContactPersonId']}'" for contact in
            [*contacts[20:5:-3], contacts[8], {"ContactPersonId": "NOBODY"}]
            if contact.get("dataAreaId", picked["dataAreaId"]) == picked["dataAreaId"]) + ")", True),
        ("CDSSalesQuotationLines", f"dataAreaId eq '{quote['dataAreaId']}' and SalesQuotationNumber eq "
                                   f"'{quote['SalesQuotationNumber']}'", True),
    ]
    for entity_set, text, cross_company in queries:
        scope = "cross-company=true&" if cross_company else ""
        by_index = fo.all_pages(f"{entity_set}?{scope}$filter={text}", Prefer="odata.maxpagesize=2")
        by_scan = fo.all_pages(f"{entity_set}?{scope}$filter={text} or {text}", Prefer="odata.maxpagesize=2")
        assert by_index == by_scan, text
        assert fo.get(f"{entity_set}/$count?{scope}$filter={text}").text == str(len(by_scan))
    found = fo.get(f"CDSContactPersonsV2?cross-company=true&$filter={queries[0][1]}").json()["value"]
    assert [row["ContactPersonPartyNumber"] for row in found] == [picked["ContactPersonPartyNumber"]]
    lines = fo.get(f"CDSSalesQuotationLines?cross-company=true&$filter={queries[-1][1]}").json()["value"]
    assert len(lines) >= 1
