"""What Dataverse refuses, refused with its error shapes: names the type does not declare, binds through names that
are not navigation properties or to tables the environment lacks, missing system-required columns, units outside
their unit group; and what it ignores (values of read-only columns) ignored."""

from __future__ import annotations

import pytest

from tests.emulators.dataverse.client import error_of

UNDECLARED = ("An undeclared property '{name}' which only has property annotations in the payload but no property "
              "value was found in the payload.")


@pytest.mark.parametrize("query", ["$filter=Name eq 'x'", "$orderby=Name", "$select=name,Name"])
def test_an_unknown_property_in_a_query_option_is_400_naming_the_type(dv, query):
    response = dv.get(f"accounts?{query}")
    assert response.status_code == 400
    assert error_of(response) == {"code": "0x80060888",
                                  "message": "Could not find a property named 'Name' on type "
                                             "'Microsoft.Dynamics.CRM.account'."}


def test_a_lookups_companion_name_column_is_not_a_web_api_property(dv):
    response = dv.get("accounts?$select=name,createdbyname")
    assert response.status_code == 400
    assert "'createdbyname'" in error_of(response)["message"]


@pytest.mark.parametrize("name", ["parentcustomerid", "_parentcustomerid_value"])
def test_a_bind_through_a_name_that_is_not_a_navigation_property_is_refused(dv, name):
    account = dv.create("accounts", {"name": "Employer"})
    response = dv.post("contacts", {"lastname": "X", f"{name}@odata.bind": f"/accounts({account['accountid']})"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "0x80048d19"
    assert UNDECLARED.format(name=name) in error["message"]


def test_navigation_names_are_case_sensitive_as_the_metadata_gives_them(dv):
    dv.handle.seed(quotes=1, salesorders=10)
    quote_line = dv.get("quotedetails?$select=quotedetailid&$top=1").json()["value"][0]["quotedetailid"]
    active = "salesorders?$select=salesorderid&$filter=statecode eq 0&$top=1"  # a closed order takes no lines
    order = dv.get(active).json()["value"][0]["salesorderid"]
    line = {"salesorderid@odata.bind": f"/salesorders({order})", "isproductoverridden": True,
            "productdescription": "Freight", "quantity": 1, "priceperunit": 5}
    lowercase = dv.post("salesorderdetails", {**line, "quotedetailid@odata.bind": f"/quotedetails({quote_line})"})
    assert lowercase.status_code == 400
    assert UNDECLARED.format(name="quotedetailid") in error_of(lowercase)["message"]
    created = dv.create("salesorderdetails?$select=_quotedetailid_value",
                        {**line, "QuoteDetailId@odata.bind": f"/quotedetails({quote_line})"})
    assert created["_quotedetailid_value"] == quote_line


def test_a_bind_to_a_table_the_emulator_does_not_serve_is_refused_but_the_lookup_reads(dv):
    response = dv.post("accounts", {"name": "Owned",
                                    "ownerid@odata.bind": "/systemusers(00000000-0000-0000-0000-0000000000aa)"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "0x80048d19"
    assert error["message"].endswith("Resource not found for the segment 'systemusers'.")
    row = dv.get("accounts?$select=_ownerid_value,_createdby_value").json()
    assert row["value"] == []  # readable columns; the refused create wrote nothing


def test_values_of_read_only_columns_are_ignored_not_refused(dv):
    account = dv.create("accounts", {"name": "Plain"})
    contact = dv.create("contacts", {"firstname": "Ada", "lastname": "Lovelace", "fullname": "Someone Else",
                                     "msdynce_iscompanyanaccount": True, "versionnumber": 1,
                                     "createdon": "2001-01-01T00:00:00Z",
                                     "parentcustomerid_account@odata.bind": f"/accounts({account['accountid']})"})
    assert contact["fullname"] == "Ada Lovelace"
    assert contact["msdynce_iscompanyanaccount"] is True  # computed by the solution's plug-in, not taken
    assert contact["createdon"] != "2001-01-01T00:00:00Z"
    assert contact["versionnumber"] > 1
    response = dv.patch(f"contacts({contact['contactid']})", {"fullname": "Renamed"})
    assert response.status_code == 204
    assert dv.get(f"contacts({contact['contactid']})?$select=fullname").json()["fullname"] == "Ada Lovelace"


def test_a_read_only_value_still_has_to_be_of_its_type(dv):
    response = dv.post("contacts", {"lastname": "Typed", "fullname": 12})
    assert response.status_code == 400
    assert "Cannot convert the literal '12' to the expected type 'Edm.String'" in error_of(response)["message"]


def test_a_missing_system_required_column_is_refused_on_create(dv):
    response = dv.post("products", {"name": "No number"})
    assert response.status_code == 400
    assert error_of(response) == {"code": "0x80040200", "message": "Required field missing. The 'productnumber' "
                                  "attribute of the 'product' entity is system required and has no value."}
    line = dv.post("quotedetails", {"isproductoverridden": True, "productdescription": "Orphan", "quantity": 1})
    assert error_of(line)["message"].startswith("Required field missing. The 'quoteid' attribute")


def test_application_required_columns_are_not_enforced_by_the_web_api(dv):
    product = dv.create("products", {"productnumber": "NAMELESS-1"})  # name is ApplicationRequired
    assert product["name"] is None
    quote = dv.create("quotes", {"description": "no name, customer or price list"})
    assert quote["quotenumber"].startswith("QUO-")


@pytest.fixture
def weights(dv):
    """A second unit group with one unit, next to the reference data's "Default Unit"."""
    group = dv.create("uomschedules", {"name": "Weight", "baseuomname": "kilogram"})
    unit = dv.create("uoms", {"name": "tonne", "quantity": 1000,
                              "uomscheduleid@odata.bind": f"/uomschedules({group['uomscheduleid']})"})
    default_group = dv.get("uomschedules?$filter=name eq 'Default Unit'").json()["value"][0]["uomscheduleid"]
    default_unit = dv.get("uoms?$filter=name eq 'ea'").json()["value"][0]["uomid"]
    return {"group": default_group, "unit": default_unit, "other_unit": unit["uomid"]}


def test_a_products_default_unit_must_be_in_its_unit_group(dv, weights):
    product = {"name": "Bolt", "productnumber": "BOLT-1",
               "defaultuomscheduleid@odata.bind": f"/uomschedules({weights['group']})"}
    response = dv.post("products", {**product, "defaultuomid@odata.bind": f"/uoms({weights['other_unit']})"})
    assert response.status_code == 400
    assert error_of(response) == {"code": "0x80043b16", "message": "The unit does not exist in the specified unit "
                                  "schedule. Product 'BOLT-1': the unit 'tonne' is not in the unit group "
                                  "'Default Unit'."}
    created = dv.create("products", {**product, "defaultuomid@odata.bind": f"/uoms({weights['unit']})"})
    moved = dv.patch(f"products({created['productid']})",
                     {"defaultuomid@odata.bind": f"/uoms({weights['other_unit']})"})
    assert error_of(moved)["code"] == "0x80043b16"


def test_a_lines_unit_must_be_in_its_products_unit_group(dv, weights):
    product = dv.create("products", {"name": "Nut", "productnumber": "NUT-1", "statecode": 0,
                                     "defaultuomscheduleid@odata.bind": f"/uomschedules({weights['group']})",
                                     "defaultuomid@odata.bind": f"/uoms({weights['unit']})"})
    quote = dv.create("quotes", {"name": "Q"})
    line = {"quoteid@odata.bind": f"/quotes({quote['quoteid']})", "quantity": 2,
            "productid@odata.bind": f"/products({product['productid']})"}
    response = dv.post("quotedetails", {**line, "uomid@odata.bind": f"/uoms({weights['other_unit']})"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "0x80043b14"
    assert error["message"].startswith("The specified unit is not valid for this product. ")
    assert "'tonne'" in error["message"]
    assert "'NUT-1'" in error["message"]
    defaulted = dv.create("quotedetails?$select=_uomid_value", line)
    assert defaulted["_uomid_value"] == weights["unit"]


def test_expanding_a_navigation_to_a_table_the_emulator_does_not_serve_is_501(dv):
    response = dv.get("accounts?$expand=createdby")
    assert response.status_code == 501
    assert "systemuser" in error_of(response)["message"]
