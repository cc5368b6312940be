"""Reads: response shapes and headers, query options, single records by id and by alternate key, conditional GET."""

from __future__ import annotations

import pytest

from tests.emulators.dataverse.client import JSON, error_of


@pytest.fixture
def accounts(dv):
    rows = [dv.create("accounts", {"name": name, "accountnumber": number, "creditlimit": limit})
            for name, number, limit in (("Adatum", "A-1", 500.0), ("Blue Yonder", "B-2", 1500.0),
                                        ("Contoso", "C-3", None), ("Fabrikam", "O'Brien & Co", 2500.0))]
    return rows


def test_collection_has_odata_headers_context_and_etag_per_row(dv, accounts):
    response = dv.get("accounts?$select=name,accountnumber")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON
    assert response.headers["OData-Version"] == "4.0"
    body = response.json()
    assert body["@odata.context"] == f"{dv.api}$metadata#accounts(name,accountnumber)"
    assert list(body) == ["@odata.context", "value"]
    row = body["value"][0]
    assert list(row) == ["@odata.etag", "name", "accountnumber", "accountid"]
    assert row["@odata.etag"].startswith('W/"')


def test_full_rows_carry_system_columns_and_lookups_as_value_properties(dv, accounts):
    row = dv.get(f"accounts({accounts[0]['accountid']})").json()
    assert row["@odata.context"] == f"{dv.api}$metadata#accounts/$entity"
    assert row["versionnumber"] == int(row["@odata.etag"][3:-1])
    assert row["createdon"].endswith("Z")
    assert len(row["createdon"]) == 20
    assert row["statecode"] == 0
    assert row["statuscode"] == 1
    for lookup in ("_owningbusinessunit_value", "_parentaccountid_value", "_primarycontactid_value",
                   "_transactioncurrencyid_value"):
        assert lookup in row
    assert row["_owningbusinessunit_value"] is not None


def test_filter_orderby_and_top(dv, accounts):
    response = dv.get("accounts?$select=name&$filter=creditlimit ge 1000 and contains(name,'A')"
                      "&$orderby=creditlimit desc&$top=1")
    assert [row["name"] for row in response.json()["value"]] == ["Fabrikam"]
    assert "@odata.nextLink" not in response.json()


def test_filter_on_text_ignores_case_and_escapes_quotes(dv, accounts):
    response = dv.get("accounts?$select=accountnumber&$filter=accountnumber eq 'o''brien %26 co'")
    assert [row["accountnumber"] for row in response.json()["value"]] == ["O'Brien & Co"]


def test_unknown_property_is_400_naming_the_type(dv, accounts):
    response = dv.get("accounts?$select=Name")
    assert response.status_code == 400
    assert error_of(response)["message"] == "Could not find a property named 'Name' on type " \
                                            "'Microsoft.Dynamics.CRM.account'."


def test_bad_filter_is_400_with_dataverse_body(dv, accounts):
    response = dv.get("accounts?$filter=name eqq 'x'")
    assert response.status_code == 400
    assert error_of(response)["code"] == "0x80060888"


def test_skip_is_rejected(dv, accounts):
    response = dv.get("accounts?$top=2&$skip=2")
    assert response.status_code == 400
    assert error_of(response) == {"code": "0x80060888", "message": "Skip Clause is not supported in CRM"}


def test_fetchxml_is_refused_rather_than_ignored(dv):
    response = dv.get("accounts?fetchXml=%3Cfetch%3E%3C%2Ffetch%3E")
    assert response.status_code == 501
    assert "fetchXml" in error_of(response)["message"]


def test_count_true_adds_odata_count_capped_at_5000(dv):
    dv.handle.seed(accounts=5003)
    body = dv.get("accounts?$select=name&$count=true&$top=1").json()
    assert body["@odata.count"] == 5000
    assert list(body)[:3] == ["@odata.context", "@odata.count", "value"]
    annotated = dv.get("accounts?$select=name&$count=true&$top=1", Prefer='odata.include-annotations="*"').json()
    assert annotated["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is True


def test_count_segment_is_plain_text(dv, accounts):
    response = dv.get("accounts/$count")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "4"


def test_get_by_alternate_key_with_escaped_quote_and_encoded_space(dv, accounts):
    response = dv.get("accounts(accountnumber='B-2')?$select=name")
    assert response.json()["name"] == "Blue Yonder"
    dv.create("accounts", {"name": "Spaced", "accountnumber": "S P'Q"})
    response = dv.get("accounts(accountnumber='S%20P''Q')?$select=name")
    assert response.status_code == 200
    assert response.json()["name"] == "Spaced"
    assert response.json()["@odata.context"] == f"{dv.api}$metadata#accounts(name)/$entity"


def test_missing_record_by_id_is_404_object_does_not_exist(dv):
    missing = "00000000-0000-0000-0000-000000000001"
    response = dv.get(f"accounts({missing})")
    assert response.status_code == 404
    assert error_of(response) == {"code": "0x80040217", "message": f"account With Id = {missing} Does Not Exist"}


def test_missing_record_by_key_is_404_record_not_found_by_key(dv):
    response = dv.get("accounts(accountnumber='NOPE')")
    assert response.status_code == 404
    assert error_of(response) == {"code": "0x80060891",
                                  "message": "A record with the specified key values does not exist in account entity"}


def test_unknown_entity_set_is_404_resource_not_found(dv):
    response = dv.get("Account")
    assert response.status_code == 404
    assert error_of(response) == {"code": "0x8006088a", "message": "Resource not found for the segment 'Account'."}


def test_key_on_a_column_without_alternate_key_is_400_entity_key_not_defined(dv, accounts):
    response = dv.get("accounts(name='Adatum')")
    assert response.status_code == 400
    assert error_of(response) == {"code": "0x80060890", "message": "The specified key attributes are not a defined "
                                                                   "key for the account entity"}


def test_conditional_get_is_304_while_unchanged_and_if_none_match_null_is_ignored(dv, accounts):
    account = accounts[0]
    url = f"accounts({account['accountid']})?$select=name"
    first = dv.get(url)
    assert first.status_code == 200
    assert first.headers["ETag"] == account["@odata.etag"]
    unchanged = dv.get(url, **{"If-None-Match": account["@odata.etag"]})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    dv.patch(f"accounts({account['accountid']})", {"name": "Adatum Corp"})
    changed = dv.get(url, **{"If-None-Match": account["@odata.etag"]})
    assert changed.status_code == 200
    assert changed.json()["name"] == "Adatum Corp"


def test_expand_single_valued_lookup_and_polymorphic_navigation(dv, accounts):
    account = accounts[1]
    contact = dv.create("contacts", {"firstname": "Ines", "lastname": "Ito",
                                     "parentcustomerid_account@odata.bind": f"/accounts({account['accountid']})"})
    body = dv.get(f"contacts({contact['contactid']})?$select=fullname"
                  "&$expand=parentcustomerid_account($select=name),parentcustomerid_contact($select=fullname)").json()
    assert body["parentcustomerid_account"]["name"] == "Blue Yonder"
    assert body["parentcustomerid_account"]["accountid"] == account["accountid"]
    assert body["parentcustomerid_contact"] is None
    assert body["@odata.context"].endswith("#contacts(fullname,parentcustomerid_account(name),"
                                           "parentcustomerid_contact(fullname))/$entity")


def test_lookup_annotations_only_when_asked(dv, accounts):
    account = accounts[0]
    contact = dv.create("contacts", {"lastname": "Keller",
                                     "parentcustomerid_account@odata.bind": f"/accounts({account['accountid']})"})
    plain = dv.get(f"contacts({contact['contactid']})?$select=_parentcustomerid_value").json()
    assert set(plain) == {"@odata.context", "@odata.etag", "_parentcustomerid_value", "contactid"}
    response = dv.get(f"contacts({contact['contactid']})?$select=_parentcustomerid_value",
                      Prefer='odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"')
    assert response.headers["Preference-Applied"] == \
        'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
    assert response.json()["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    everything = dv.get(f"contacts({contact['contactid']})?$select=_parentcustomerid_value,statecode",
                        Prefer='odata.include-annotations="*"').json()
    assert everything["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"] == "Adatum"
    assert everything["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"


def test_expand_of_a_column_is_400(dv, accounts):
    response = dv.get("accounts?$expand=name")
    assert response.status_code == 400
    assert "Only navigation properties can be expanded" in error_of(response)["message"]


def test_single_column_read(dv, accounts):
    response = dv.get(f"accounts({accounts[0]['accountid']})/name")
    assert response.json() == {"@odata.context": f"{dv.api}$metadata#accounts({accounts[0]['accountid']})/name",
                               "value": "Adatum"}


def test_who_am_i_and_service_document(dv):
    who = dv.get("WhoAmI").json()
    assert set(who) == {"@odata.context", "BusinessUnitId", "UserId", "OrganizationId"}
    names = {item["name"] for item in dv.get("").json()["value"]}
    assert {"accounts", "contacts", "products", "quotes", "quotedetails", "salesorders", "invoices"} <= names
    metadata = dv.get("$metadata")
    assert metadata.headers["Content-Type"] == "application/xml"
    assert b'<EntitySet Name="accounts"' in metadata.content


def test_modifiedon_watermark_filter_with_an_unquoted_datetime(dv, accounts):
    stamp = dv.get(f"accounts({accounts[0]['accountid']})?$select=modifiedon").json()["modifiedon"]
    later = dv.get(f"accounts?$select=name&$filter=modifiedon ge {stamp}&$orderby=modifiedon,accountid").json()
    assert len(later["value"]) == 4
    assert dv.get("accounts?$select=name&$filter=modifiedon gt 2099-01-01T00:00:00Z").json()["value"] == []
