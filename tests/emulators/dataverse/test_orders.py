"""Sales orders and invoices in Sales with the Prospect to cash solution: required columns, auto-numbers, the
price-list rule and write-in lines, closed documents, the solution's plug-ins (processing status, Freight Tax,
invoiced orders, products added to price lists) and seeded orders."""

from __future__ import annotations

import re

import pytest

from tests.emulators.dataverse.client import error_of

USA, EUROPE = "CRM Service USA (sample)", "CRM Service Europe (sample)"


def _one(dv, query: str) -> dict:
    [row] = dv.get(query).json()["value"]
    return row


@pytest.fixture
def sales(dv):
    """Two seeded products (externally maintained, in both price lists) and an account."""
    dv.handle.seed(products=2)
    return dv


def price_list(dv, name: str) -> str:
    return _one(dv, f"pricelevels?$select=name&$filter=name eq '{name}'")["pricelevelid"]


def product(dv, number: str) -> dict:
    return _one(dv, f"products?$select=productnumber,price,_defaultuomid_value&$filter=productnumber eq '{number}'")


def new_order(dv, prices: str = USA, **extra) -> dict:
    account = dv.create("accounts", {"name": "Northwind"})
    return dv.create("salesorders", {"name": "Spring order",
                                     "customerid_account@odata.bind": f"/accounts({account['accountid']})",
                                     "pricelevelid@odata.bind": f"/pricelevels({price_list(dv, prices)})", **extra})


def line(order: dict, number_or_body, quantity: float = 1, **extra) -> dict:
    body = {"salesorderid@odata.bind": f"/salesorders({order['salesorderid']})", "quantity": quantity, **extra}
    if isinstance(number_or_body, dict):
        body["productid@odata.bind"] = f"/products({number_or_body['productid']})"
    return body


def test_an_order_is_numbered_starts_as_draft_and_takes_its_price_lists_currency(sales):
    order = new_order(sales, EUROPE)
    assert re.fullmatch(r"ORD-\d{5}-[A-Z]{6}", order["ordernumber"])
    assert order["msdynce_processingstatus"] == 647390011  # Draft, as created in Sales
    euro = _one(sales, "transactioncurrencies?$select=isocurrencycode&$filter=isocurrencycode eq 'EUR'")
    assert order["_transactioncurrencyid_value"] == euro["transactioncurrencyid"]
    assert (order["statecode"], order["statuscode"]) == (0, 1)


def test_an_order_or_invoice_needs_a_name_a_customer_and_a_price_list(sales):
    account = sales.create("accounts", {"name": "Northwind"})
    customer = {"customerid_account@odata.bind": f"/accounts({account['accountid']})"}
    prices = {"pricelevelid@odata.bind": f"/pricelevels({price_list(sales, USA)})"}
    for entity_set, body, missing in (("salesorders", {"name": "X", **customer}, "pricelevelid"),
                                      ("salesorders", {"name": "X", **prices}, "customerid"),
                                      ("invoices", {**customer, **prices}, "name")):
        error = error_of(sales.post(entity_set, body))
        assert error["code"] == "0x80040200"
        assert f"the '{missing}' of a" in error["message"]
    dollars = _one(sales, "transactioncurrencies?$select=isocurrencycode&$filter=isocurrencycode eq 'USD'")
    mismatch = sales.post("invoices", {"name": "X", **customer,
                                       "pricelevelid@odata.bind": f"/pricelevels({price_list(sales, EUROPE)})",
                                       "transactioncurrencyid@odata.bind":
                                           f"/transactioncurrencies({dollars['transactioncurrencyid']})"})
    assert f"The currency of the price list '{EUROPE}' is not the currency" in error_of(mismatch)["message"]


def test_a_product_line_is_priced_from_the_orders_price_list(sales):
    order = new_order(sales, EUROPE)
    widget = product(sales, "P00001")
    created = sales.create("salesorderdetails", line(order, widget, 2))
    assert created["priceperunit"] == round(widget["price"] * 0.92, 2)  # the EUR price list item, not the list price
    assert created["_transactioncurrencyid_value"] == order["_transactioncurrencyid_value"]
    assert sales.get(f"salesorders({order['salesorderid']})").json()["totalamount"] == created["extendedamount"]


def test_a_product_not_in_the_price_list_is_refused_until_its_item_is_added(sales):
    order = new_order(sales)
    widget = product(sales, "P00001")
    removed = sales.handle.session.delete(f"{sales.handle.origin}/_emulator/price-list-items",
                                          json={"productnumber": "P00001", "currency": "USD"}, timeout=30)
    assert removed.json() == {"removed": 1}
    refused = sales.post("salesorderdetails", line(order, widget))
    error = error_of(refused)
    assert (refused.status_code, error["code"]) == (400, "0x80040203")
    assert error["message"].startswith(f"The product 'P00001' in unit '{_unit_name(sales, widget)}' is not in the "
                                       f"price list '{USA}' of the salesorder '{order['ordernumber']}'.")
    added = sales.handle.session.post(f"{sales.handle.origin}/_emulator/price-list-items",
                                      json={"productnumber": "P00001", "pricelist": USA, "amount": 12.5}, timeout=30)
    assert added.status_code == 201
    assert (added.json()["pricelist"], added.json()["amount"]) == (USA, 12.5)
    assert sales.create("salesorderdetails", line(order, widget))["priceperunit"] == 12.5
    assert sales.handle.session.post(f"{sales.handle.origin}/_emulator/price-list-items",
                                     json={"productnumber": "P00001", "currency": "USD"}, timeout=30
                                     ).status_code == 400  # already there


def _unit_name(dv, widget: dict) -> str:
    return dv.get(f"uoms({widget['_defaultuomid_value']})?$select=name").json()["name"]


def test_write_in_lines_need_no_price_list_and_an_order_takes_one_freight_tax(sales):
    order = new_order(sales)
    freight = {"isproductoverridden": True, "productdescription": "Freight Tax", "ispriceoverridden": True,
               "priceperunit": 4.2}
    created = sales.create("salesorderdetails", line(order, None, **freight))
    assert (created["isproductoverridden"], created["extendedamount"]) == (True, 4.2)
    again = sales.post("salesorderdetails", line(order, None, **{**freight, "productdescription": "freight tax"}))
    assert error_of(again) == {"code": "0x80040265", "message": "Sales order can not contain more than one Freight tax"}
    assert sales.patch(f"salesorderdetails({created['salesorderdetailid']})", {"priceperunit": 5.0}).status_code == 204
    other = sales.create("salesorderdetails", line(order, None, isproductoverridden=True,
                                                   productdescription="Installation", priceperunit=50))
    assert other["sequencenumber"] == 2
    assert sales.get(f"salesorders({order['salesorderid']})").json()["totalamount"] == 55.0


@pytest.mark.parametrize(("entity_set", "state", "status"), [("salesorders", 3, 100001), ("salesorders", 4, 100003),
                                                             ("salesorders", 2, 4), ("invoices", 2, 100001),
                                                             ("invoices", 3, 100003)])
def test_a_closed_document_takes_no_edits_unless_the_request_reopens_it(sales, entity_set, state, status):
    order = new_order(sales)
    document = order if entity_set == "salesorders" else sales.create("invoices", {
        "name": "Invoice", "customerid_account@odata.bind": f"/accounts({order['_customerid_value']})",
        "pricelevelid@odata.bind": f"/pricelevels({order['_pricelevelid_value']})"})
    url = f"{entity_set}({document[entity_set[:-1] + 'id']})"
    assert sales.patch(url, {"statecode": state, "statuscode": status}).status_code == 204
    refused = sales.patch(url, {"description": "late change"})
    assert refused.status_code == 400
    assert error_of(refused)["message"].startswith("Cannot Update a Read-Only Entity")
    assert "so description cannot change" in error_of(refused)["message"]
    if entity_set == "salesorders":
        line_refused = sales.post("salesorderdetails", line(order, None, isproductoverridden=True,
                                                            productdescription="Late", priceperunit=1))
        assert "so its lines cannot change" in error_of(line_refused)["message"]
    assert sales.patch(url, {"statecode": state, "statuscode": status}).status_code == 204  # state only: fine
    assert sales.patch(url, {"statecode": 0, "description": "reopened"}).status_code == 204
    assert sales.get(url).json()["description"] == "reopened"


def test_an_invoice_of_an_order_makes_the_order_invoiced_and_takes_its_owner(sales):
    order = new_order(sales)
    contoso_de = _one(sales, "businessunits?$select=name&$filter=name eq 'Contoso DE'")["businessunitid"]
    sales.patch(f"salesorders({order['salesorderid']})",
                {"owningbusinessunit@odata.bind": f"/businessunits({contoso_de})"})
    invoice = sales.create("invoices", {
        "name": "Invoice of the spring order", "invoicenumber": "CIV-000001",
        "customerid_account@odata.bind": f"/accounts({order['_customerid_value']})",
        "pricelevelid@odata.bind": f"/pricelevels({order['_pricelevelid_value']})",
        "salesorderid@odata.bind": f"/salesorders({order['salesorderid']})"})
    assert invoice["_owningbusinessunit_value"] == contoso_de
    assert invoice["invoicenumber"] == "CIV-000001"  # F&O's number kept
    after = sales.get(f"salesorders({order['salesorderid']})?$select=statecode,statuscode").json()
    assert (after["statecode"], after["statuscode"]) == (4, 100003)
    gadget = product(sales, "P00002")
    detail = sales.create("invoicedetails", {"invoiceid@odata.bind": f"/invoices({invoice['invoiceid']})",
                                             "productid@odata.bind": f"/products({gadget['productid']})",
                                             "quantity": 1, "msdynce_invoicenumber": "CIV-000001"})
    assert detail["priceperunit"] == gadget["price"]
    unlinked = sales.create("invoices", {"name": "Free text", "customerid_account@odata.bind":
                                         f"/accounts({order['_customerid_value']})",
                                         "pricelevelid@odata.bind": f"/pricelevels({order['_pricelevelid_value']})"})
    assert unlinked["_salesorderid_value"] is None
    assert re.fullmatch(r"INV-\d{5}-[A-Z]{6}", unlinked["invoicenumber"])


def _unit_group_and_unit(dv, symbol: str = "ea") -> dict:
    group = _one(dv, "uomschedules?$select=name")["uomscheduleid"]
    unit = _one(dv, f"uoms?$select=name&$filter=name eq '{symbol}'")["uomid"]
    return {"defaultuomscheduleid@odata.bind": f"/uomschedules({group})", "defaultuomid@odata.bind": f"/uoms({unit})"}


def test_an_externally_maintained_product_joins_the_first_valid_price_list_of_its_currency(dv):
    euro = _one(dv, "transactioncurrencies?$select=isocurrencycode&$filter=isocurrencycode eq 'EUR'")
    body = {"name": "Speaker", "productnumber": "S-1", "price": 80, "msdynce_ismaintainedexternally": True,
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({euro['transactioncurrencyid']})",
            **_unit_group_and_unit(dv)}
    created = dv.create("products", body)
    items = dv.get(f"productpricelevels?$select=amount,_pricelevelid_value&$filter=_productid_value eq "
                   f"{created['productid']}").json()["value"]
    assert [(item["_pricelevelid_value"], item["amount"]) for item in items] == [(price_list(dv, EUROPE), 80)]
    dv.patch(f"products({created['productid']})", {"price": 95})
    assert dv.get(f"productpricelevels({items[0]['productpricelevelid']})").json()["amount"] == 95
    earlier = dv.create("pricelevels", {"name": "A first EUR list", "transactioncurrencyid@odata.bind":
                                        f"/transactioncurrencies({euro['transactioncurrencyid']})"})
    second = dv.create("products", {**body, "productnumber": "S-2"})
    placed = _one(dv, f"productpricelevels?$select=_pricelevelid_value&$filter=_productid_value eq "
                      f"{second['productid']}")
    assert placed["_pricelevelid_value"] == earlier["pricelevelid"]  # alphabetical by name
    in_sales = dv.create("products", {**body, "productnumber": "S-3", "msdynce_ismaintainedexternally": False})
    assert dv.get(f"productpricelevels?$filter=_productid_value eq {in_sales['productid']}").json()["value"] == []


def test_an_externally_maintained_product_without_a_price_list_in_its_currency_is_refused(dv):
    pound = dv.create("transactioncurrencies", {"isocurrencycode": "GBP", "currencyname": "Pound",
                                                "currencysymbol": "£", "exchangerate": 0.8, "currencyprecision": 2,
                                                "currencytype": 0})
    refused = dv.post("products", {"name": "Mixer", "productnumber": "M-1", "price": 10,
                                   "msdynce_ismaintainedexternally": True, **_unit_group_and_unit(dv),
                                   "transactioncurrencyid@odata.bind":
                                       f"/transactioncurrencies({pound['transactioncurrencyid']})"})
    assert error_of(refused)["code"] == "0x80040265"
    assert "no valid price list in the currency 'GBP'" in error_of(refused)["message"]
    assert dv.get("products?$filter=productnumber eq 'M-1'").json()["value"] == []


def test_seeded_orders_have_only_priced_external_products_and_a_processing_status_for_their_state(dv):
    created = dv.handle.seed(salesorders=20, invoices=5, seed=2)
    assert (created["salesorders"], created["invoices"]) == (20, 5)
    orders = [row for page in dv.all_pages(
        "salesorders?$select=statecode,msdynce_processingstatus,_pricelevelid_value"
        "&$expand=order_details($select=isproductoverridden,_productid_value,_uomid_value,priceperunit)")
        for row in page]
    processing = {0: {647390011, 647390000}, 1: {647390001}, 2: {647390010}, 3: {647390007, 647390008},
                  4: {647390003}}
    for order in orders:
        assert order["msdynce_processingstatus"] in processing[order["statecode"]]
        for detail in order["order_details"]:
            assert detail["isproductoverridden"] is False
            items = dv.get(f"productpricelevels?$select=amount,_uomid_value&$filter=_pricelevelid_value eq "
                           f"{order['_pricelevelid_value']} and _productid_value eq {detail['_productid_value']}"
                           ).json()["value"]
            assert [(item["_uomid_value"], item["amount"]) for item in items] == [(detail["_uomid_value"],
                                                                                  detail["priceperunit"])]
