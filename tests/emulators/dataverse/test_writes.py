"""Writes: create, upsert by id and by alternate key, conditional writes, delete, lookups, validation."""

from __future__ import annotations

import time

import pytest

from tests.emulators.dataverse.client import error_of

MISSING = "00000000-0000-0000-0000-0000000000aa"


def test_post_is_204_with_odata_entity_id(dv):
    response = dv.post("accounts", {"name": "Northwind"})
    assert response.status_code == 204
    assert response.content == b""
    entity_id = response.headers["OData-EntityId"]
    assert entity_id.startswith(f"{dv.api}accounts(")
    assert entity_id.endswith(")")
    assert dv.get(entity_id.removeprefix(dv.api)).json()["name"] == "Northwind"


def test_post_with_return_representation_is_201_with_the_record(dv):
    response = dv.post("accounts?$select=name,accountnumber", {"name": "Northwind"}, Prefer="return=representation")
    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == "return=representation"
    assert "OData-EntityId" not in response.headers
    body = response.json()
    assert body["@odata.context"] == f"{dv.api}$metadata#accounts(name,accountnumber)/$entity"
    assert set(body) == {"@odata.context", "@odata.etag", "name", "accountnumber", "accountid"}
    assert response.headers["ETag"] == body["@odata.etag"]
    assert body["accountnumber"].startswith("ACC-")  # the Prospect-to-cash auto-number


def test_patch_by_alternate_key_upserts_with_key_form_entity_id(dv):
    created = dv.patch("accounts(accountnumber='K-1')", {"name": "Created by upsert"})
    assert created.status_code == 204
    assert created.headers["OData-EntityId"] == f"{dv.api}accounts(accountnumber='K-1')"
    updated = dv.patch("accounts(accountnumber='K-1')", {"name": "Updated by upsert"})
    assert updated.status_code == 204
    rows = dv.get("accounts?$select=name,accountnumber&$filter=accountnumber eq 'K-1'").json()["value"]
    assert [(row["name"], row["accountnumber"]) for row in rows] == [("Updated by upsert", "K-1")]


def test_upsert_with_representation_tells_created_from_updated(dv):
    first = dv.patch("accounts(accountnumber='K-2')?$select=name", {"name": "One"}, Prefer="return=representation")
    assert first.status_code == 201
    second = dv.patch("accounts(accountnumber='K-2')?$select=name", {"name": "Two"}, Prefer="return=representation")
    assert second.status_code == 200
    assert second.json()["accountid"] == first.json()["accountid"]
    assert second.json()["@odata.etag"] != first.json()["@odata.etag"]


def test_patch_by_id_creates_a_missing_record_with_that_id(dv):
    response = dv.patch(f"accounts({MISSING})", {"name": "Resurrected"})
    assert response.status_code == 204
    assert response.headers["OData-EntityId"] == f"{dv.api}accounts({MISSING})"
    assert dv.get(f"accounts({MISSING})").json()["name"] == "Resurrected"


def test_if_match_star_prevents_create(dv):
    response = dv.patch(f"accounts({MISSING})", {"name": "x"}, **{"If-Match": "*"})
    assert response.status_code == 404
    assert error_of(response) == {"code": "0x80040217", "message": f"account With Id = {MISSING} Does Not Exist"}
    by_key = dv.patch("accounts(accountnumber='NONE')", {"name": "x"}, **{"If-Match": "*"})
    assert by_key.status_code == 404
    assert error_of(by_key)["code"] == "0x80060891"


def test_if_none_match_star_prevents_update(dv):
    dv.patch("accounts(accountnumber='K-3')", {"name": "x"})
    response = dv.patch("accounts(accountnumber='K-3')", {"name": "y"}, **{"If-None-Match": "*"})
    assert response.status_code == 412
    assert error_of(response) == {"code": "0x80040237", "message": "A record with matching key values already exists."}


def test_stale_etag_on_patch_and_delete_is_412_version_mismatch(dv):
    account = dv.create("accounts", {"name": "Versioned"})
    url = f"accounts({account['accountid']})"
    assert dv.patch(url, {"name": "v2"}, **{"If-Match": account["@odata.etag"]}).status_code == 204
    stale = dv.patch(url, {"name": "v3"}, **{"If-Match": account["@odata.etag"]})
    assert stale.status_code == 412
    assert error_of(stale) == {"code": "0x80060882", "message": "The version of the existing record doesn't match "
                                                                "the RowVersion property provided."}
    stale_delete = dv.delete(url, **{"If-Match": account["@odata.etag"]})
    assert stale_delete.status_code == 412
    assert error_of(stale_delete)["code"] == "0x80060882"
    current = dv.get(url).json()["@odata.etag"]
    assert dv.delete(url, **{"If-Match": current}).status_code == 204


def test_post_with_a_taken_alternate_key_is_412_duplicate_record_entity_key(dv):
    dv.post("accounts", {"name": "First", "accountnumber": "DUP-1"})
    response = dv.post("accounts", {"name": "Second", "accountnumber": "dup-1"})
    assert response.status_code == 412
    error = error_of(response)
    assert error["code"] == "0x80060892"
    assert error["message"].startswith("A record that has the attribute values accountnumber already exists.")


def test_post_with_a_taken_id_is_412_duplicate_record(dv):
    account = dv.create("accounts", {"name": "First"})
    response = dv.post("accounts", {"name": "Again", "accountid": account["accountid"]})
    assert response.status_code == 412
    assert error_of(response)["code"] == "0x80040237"


def test_delete_is_204_then_404(dv):
    account = dv.create("accounts", {"name": "Short-lived"})
    url = f"accounts({account['accountid']})"
    response = dv.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    assert dv.delete(url).status_code == 404


@pytest.mark.parametrize("value", ["A/1", "A%261", "A*1", "A%3C1", "A:1", "A%251", "A%5C1"])
def test_key_values_with_characters_iis_refuses_are_400(dv, value):
    response = dv.patch(f"accounts(accountnumber='{value}')", {"name": "x"})
    assert response.status_code == 400
    assert error_of(response)["message"] == "Bad Request - Error in query syntax."


def test_bind_by_relative_absolute_and_alternate_key_urls(dv):
    parent = dv.create("accounts", {"name": "Parent", "accountnumber": "P-1"})
    for bind in (f"/accounts({parent['accountid']})", f"{dv.api}accounts({parent['accountid']})",
                 "/accounts(accountnumber='P-1')", f"accounts({parent['accountid']})"):
        child = dv.create("accounts?$select=_parentaccountid_value", {"name": "Child",
                                                                      "parentaccountid@odata.bind": bind})
        assert child["_parentaccountid_value"] == parent["accountid"], bind


def test_polymorphic_lookup_uses_the_typed_navigation_property(dv):
    account = dv.create("accounts", {"name": "Employer"})
    person = dv.create("contacts", {"lastname": "Boss"})
    employee = dv.create("contacts", {"firstname": "Ann", "lastname": "Lee",
                                      "parentcustomerid_account@odata.bind": f"/accounts({account['accountid']})"})
    assert employee["_parentcustomerid_value"] == account["accountid"]
    assert employee["fullname"] == "Ann Lee"
    assert employee["msdynce_iscompanyanaccount"] is True
    moved = dv.patch(f"contacts({employee['contactid']})?$select=msdynce_iscompanyanaccount,_parentcustomerid_value",
                     {"parentcustomerid_contact@odata.bind": f"/contacts({person['contactid']})"},
                     Prefer="return=representation").json()
    assert moved["_parentcustomerid_value"] == person["contactid"]
    assert moved["msdynce_iscompanyanaccount"] is False
    untyped = dv.post("contacts", {"lastname": "X",
                                   "parentcustomerid@odata.bind": f"/accounts({account['accountid']})"})
    assert untyped.status_code == 400
    assert error_of(untyped)["code"] == "0x80048d19"
    assert "An undeclared property 'parentcustomerid'" in error_of(untyped)["message"]


def test_bind_to_a_missing_record_is_404_naming_it(dv):
    response = dv.post("accounts", {"name": "Orphan", "parentaccountid@odata.bind": f"/accounts({MISSING})"})
    assert response.status_code == 404
    assert error_of(response) == {"code": "0x80040217", "message": f"account With Id = {MISSING} Does Not Exist"}


def test_writing_a_lookup_value_property_directly_is_400(dv):
    response = dv.post("accounts", {"name": "x", "_parentaccountid_value": MISSING})
    assert response.status_code == 400
    assert error_of(response)["message"] == ("CRM do not support direct update of Entity Reference properties, Use "
                                             "Navigation properties instead.")


def test_unknown_field_is_400_naming_the_property_and_the_type(dv):
    response = dv.post("accounts", {"name": "x", "Name": "y"})
    assert response.status_code == 400
    assert error_of(response) == {"code": "0x80060888", "message": "The property 'Name' does not exist on type "
                                  "'Microsoft.Dynamics.CRM.account'. Make sure to only use property names that are "
                                  "defined by the type or mark the type as open type."}


def test_too_long_text_is_a_validation_error_naming_the_column(dv):
    response = dv.post("accounts", {"name": "x", "accountnumber": "A" * 21})
    assert response.status_code == 400
    assert error_of(response) == {"code": "0x80044331", "message": "A validation error occurred.  The length of the "
                                  "'accountnumber' attribute of the 'account' entity exceeded the maximum allowed "
                                  "length of '20'."}


def test_text_in_a_decimal_column_is_400_naming_the_column(dv):
    response = dv.post("accounts", {"name": "x", "creditlimit": "lots"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "0x80048d19"
    assert "Cannot convert the literal 'lots' to the expected type 'Edm.Decimal'" in error["message"]
    assert "'creditlimit'" in error["message"]


def test_a_choice_value_out_of_range_is_400(dv):
    response = dv.post("accounts", {"name": "x", "customertypecode": 99})
    assert response.status_code == 400
    assert error_of(response)["code"] == "0x8004431a"


def test_every_write_bumps_version_etag_and_modifiedon(dv):
    account = dv.create("accounts", {"name": "Clock"})
    time.sleep(1.05)
    after = dv.patch(f"accounts({account['accountid']})", {"name": "Clock"}, Prefer="return=representation").json()
    assert after["versionnumber"] > account["versionnumber"]
    assert after["@odata.etag"] == f'W/"{after["versionnumber"]}"'
    assert after["modifiedon"] > account["modifiedon"]
    assert after["createdon"] == account["createdon"]


def test_products_are_created_draft_and_price_list_is_set_by_update_only(dv):
    price_list = dv.get("pricelevels?$select=name&$filter=name eq 'CRM Service USA (sample)'").json()["value"][0]
    product = dv.create("products", {"name": "Widget", "productnumber": "W-1"})
    assert (product["statecode"], product["statuscode"]) == (2, 0)
    ignored = dv.create("products?$select=_pricelevelid_value", {
        "name": "Gadget", "productnumber": "G-1",
        "pricelevelid@odata.bind": f"/pricelevels({price_list['pricelevelid']})"})
    assert ignored["_pricelevelid_value"] is None  # not valid for create: Dataverse ignores it
    updated = dv.patch(f"products({product['productid']})?$select=_pricelevelid_value,statecode",
                       {"pricelevelid@odata.bind": f"/pricelevels({price_list['pricelevelid']})", "statecode": 0},
                       Prefer="return=representation").json()
    assert updated["_pricelevelid_value"] == price_list["pricelevelid"]
    assert updated["statecode"] == 0
    active = dv.create("products", {"name": "Active", "productnumber": "A-1", "statecode": 0})
    assert (active["statecode"], active["statuscode"]) == (0, 1)


def test_quote_lines_recompute_the_quote_totals_and_external_products_flag(dv):
    dv.handle.seed(products=2)
    products = dv.get("products?$select=price,msdynce_ismaintainedexternally").json()["value"]
    quote = dv.create("quotes", {"name": "Q"})
    assert quote["quotenumber"].startswith("QUO-")
    assert quote["totalamount"] == 0
    line_url = f"/quotes({quote['quoteid']})"
    dv.post("quotedetails", {"quoteid@odata.bind": line_url, "quantity": 2,
                             "productid@odata.bind": f"/products({products[0]['productid']})"})
    after_one = dv.get(f"quotes({quote['quoteid']})").json()
    assert after_one["totalamount"] == round(2 * products[0]["price"], 2)
    assert after_one["msdynce_hasexternallymaintainedproductsonly"] is True
    write_in = dv.create("quotedetails", {"quoteid@odata.bind": line_url, "isproductoverridden": True,
                                          "productdescription": "Freight", "priceperunit": 10, "quantity": 1})
    assert write_in["sequencenumber"] == 2
    after_two = dv.get(f"quotes({quote['quoteid']})").json()
    assert after_two["totalamount"] == round(2 * products[0]["price"] + 10, 2)
    assert after_two["msdynce_hasexternallymaintainedproductsonly"] is False
    assert after_two["versionnumber"] > after_one["versionnumber"]
    dv.delete(f"quotedetails({write_in['quotedetailid']})")
    assert dv.get(f"quotes({quote['quoteid']})").json()["msdynce_hasexternallymaintainedproductsonly"] is True


def test_deleting_a_header_deletes_its_lines(dv):
    dv.handle.seed(quotes=3)
    quote = dv.get("quotes?$select=name&$top=1&$expand=quote_details($select=quantity)").json()["value"][0]
    assert quote["quote_details"]
    dv.delete(f"quotes({quote['quoteid']})")
    for line in quote["quote_details"]:
        assert dv.get(f"quotedetails({line['quotedetailid']})").status_code == 404


def test_single_column_put_and_delete(dv):
    account = dv.create("accounts", {"name": "Columns", "telephone1": "555"})
    url = f"accounts({account['accountid']})/telephone1"
    assert dv.handle.session.put(dv.url(url), json={"value": "777"}, headers=dv.headers()).status_code == 204
    assert dv.get(url).json()["value"] == "777"
    assert dv.delete(url).status_code == 204
    assert dv.get(url).status_code == 204


def test_malformed_json_body_is_400_not_a_stack_trace(dv):
    response = dv.handle.session.post(dv.url("accounts"), data=b"{not json",
                                      headers=dv.headers(**{"Content-Type": "application/json"}))
    assert response.status_code == 400
    assert error_of(response)["code"] == "0x80048d19"
    assert dv.post("accounts", {"name": "still serving"}).status_code == 204


def test_lines_refuse_draft_products_until_they_are_published(dv):
    quote = dv.create("quotes", {"name": "Q"})
    draft = dv.create("products", {"name": "Fresh", "productnumber": "F-1", "price": 5})
    line = {"quoteid@odata.bind": f"/quotes({quote['quoteid']})", "quantity": 1,
            "productid@odata.bind": f"/products({draft['productid']})"}
    refused = dv.post("quotedetails", line)
    assert refused.status_code == 400
    assert error_of(refused) == {"code": "0x80040203", "message": "The product 'Fresh' is in the Draft state. Only "
                                 "active products can be added to a quote, order or invoice."}
    dv.patch(f"products({draft['productid']})", {"statecode": 0})
    assert dv.post("quotedetails", line).status_code == 204


def test_a_quote_customer_is_bound_through_the_typed_navigation_property(dv):
    contact = dv.create("contacts", {"lastname": "Buyer", "msdynce_isactivecustomer": True})
    quote = dv.create("quotes?$select=_customerid_value",
                      {"name": "For a person", "customerid_contact@odata.bind": f"/contacts({contact['contactid']})"})
    assert quote["_customerid_value"] == contact["contactid"]
    annotated = dv.get(f"quotes({quote['quoteid']})?$select=_customerid_value",
                       Prefer='odata.include-annotations="Microsoft.Dynamics.CRM.*"').json()
    assert annotated["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"
    assert annotated["_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "customerid_contact"


def test_if_none_match_null_on_a_write_is_no_condition(dv):
    dv.patch("accounts(accountnumber='N-1')", {"name": "one"})
    response = dv.patch("accounts(accountnumber='N-1')", {"name": "two"}, **{"If-None-Match": "null"})
    assert response.status_code == 204
