"""Reference data after a reset, and seeded data: realistic, related, deterministic, and safe to seed twice."""

from __future__ import annotations

from collections import Counter

from connectors.emulators.fakedata import LEGAL_ENTITIES, UNITS, product_catalog


def _all(dv, query: str) -> list[dict]:
    return [row for page in dv.all_pages(query) for row in page]


def test_reset_leaves_the_reference_data_the_maps_need(dv):
    currencies = _all(dv, "transactioncurrencies?$select=isocurrencycode,currencyname")
    assert sorted(row["isocurrencycode"] for row in currencies) == ["EUR", "USD"]
    units = {row["name"]: row for row in _all(dv, "businessunits?$select=name,_parentbusinessunitid_value")}
    assert set(units) == {"Contoso", *(entity["BusinessUnit"] for entity in LEGAL_ENTITIES)}
    assert units["Contoso US"]["_parentbusinessunitid_value"] == units["Contoso"]["businessunitid"]
    schedule = _all(dv, "uomschedules?$select=name")
    assert [row["name"] for row in schedule] == ["Default Unit"]
    uoms = _all(dv, "uoms?$select=name,_uomscheduleid_value")
    assert {row["name"] for row in uoms} == {"Primary Unit", *(symbol for symbol, _, _ in UNITS)}
    assert {row["_uomscheduleid_value"] for row in uoms} == {schedule[0]["uomscheduleid"]}
    price_lists = _all(dv, "pricelevels?$select=name&$expand=transactioncurrencyid($select=isocurrencycode)")
    assert {row["name"]: row["transactioncurrencyid"]["isocurrencycode"] for row in price_lists} == \
        {"CRM Service USA (sample)": "USD", "CRM Service Europe (sample)": "EUR"}
    for entity_set in ("accounts", "contacts", "products", "quotes", "salesorders", "invoices"):
        assert dv.get(f"{entity_set}/$count").text == "0"


def test_seed_creates_related_records_in_a_realistic_mix(dv):
    created = dv.handle.seed(contacts=200, quotes=40, seed=3)
    assert created["contacts"] == 200
    assert created["accounts"] >= 1
    assert created["quotes"] == 40
    assert 40 <= created["quotedetails"] <= 200
    contacts = _all(dv, "contacts?$select=msdynce_iscompanyanaccount,msdynce_contactnumber,fullname"
                        "&$filter=msdynce_contactnumber ne null")
    with_account = sum(row["msdynce_iscompanyanaccount"] for row in contacts)
    assert 0.7 < with_account / len(contacts) < 0.9
    assert all(row["msdynce_contactnumber"].startswith("CON-") for row in contacts)
    quotes = _all(dv, "quotes?$select=statecode,totalamount,msdynce_hasexternallymaintainedproductsonly"
                      "&$expand=quote_details($select=extendedamount,_productid_value,isproductoverridden)")
    assert len(Counter(row["statecode"] for row in quotes)) >= 3
    for quote in quotes:
        assert 1 <= len(quote["quote_details"]) <= 5
        assert quote["totalamount"] == round(sum(line["extendedamount"] for line in quote["quote_details"]), 2)
        external = all(line["_productid_value"] for line in quote["quote_details"])
        assert quote["msdynce_hasexternallymaintainedproductsonly"] is external


def test_seeded_products_are_the_shared_catalog(dv):
    dv.handle.seed(products=5, seed=11)
    rows = _all(dv, "products?$select=productnumber,name,price,statecode,msdynce_ismaintainedexternally"
                    "&$orderby=productnumber")
    catalog = product_catalog(11, 5)
    assert [(row["productnumber"], row["name"], row["price"]) for row in rows] == \
        [(spec.number, spec.name, spec.price) for spec in catalog]
    assert all(row["statecode"] == 0 and row["msdynce_ismaintainedexternally"] for row in rows)
    price_items = _all(dv, "productpricelevels?$select=amount")
    assert len(price_items) == 10


def test_the_same_seed_gives_the_same_data_after_a_reset(dv):
    def snapshot():
        return [(row["accountid"], row["accountnumber"], row["name"])
                for row in _all(dv, "accounts?$select=accountnumber,name")]

    dv.handle.seed(accounts=20, seed=5)
    first = snapshot()
    dv.handle.reset()
    dv.handle.seed(accounts=20, seed=5)
    assert snapshot() == first
    dv.handle.reset()
    dv.handle.seed(accounts=20, seed=6)
    assert snapshot() != first


def test_seeding_twice_adds_more_without_breaking_keys(dv):
    dv.handle.seed(accounts=10, products=3, seed=5)
    again = dv.handle.seed(accounts=10, products=3, seed=5)
    assert again == {"accounts": 10, "products": 3, "productpricelevels": 6}
    numbers = [row["accountnumber"] for row in _all(dv, "accounts?$select=accountnumber")]
    assert len(numbers) == len(set(numbers)) == 20
    products = [row["productnumber"] for row in _all(dv, "products?$select=productnumber&$orderby=productnumber")]
    assert products == [spec.number for spec in product_catalog(5, 6)]


def test_quote_lines_alone_are_spread_over_quotes(dv):
    created = dv.handle.seed(quotedetails=9)
    assert created["quotedetails"] == 9
    quotes = _all(dv, "quotes?$select=totalamount&$expand=quote_details($select=extendedamount)")
    assert sum(len(quote["quote_details"]) for quote in quotes) == 9
    for quote in quotes:
        assert quote["totalamount"] == round(sum(line["extendedamount"] for line in quote["quote_details"]), 2)


def test_orders_and_invoices_are_seeded_with_their_lines(dv):
    created = dv.handle.seed(salesorders=5, invoices=5)
    assert created["salesorders"] == created["invoices"] == 5
    orders = _all(dv, "salesorders?$select=ordernumber&$expand=order_details($select=quantity)")
    assert all(order["ordernumber"].startswith("ORD-") and order["order_details"] for order in orders)
    invoices = _all(dv, "invoices?$select=invoicenumber&$expand=invoice_details($select=quantity)")
    assert all(invoice["invoicenumber"].startswith("INV-") and invoice["invoice_details"] for invoice in invoices)


def test_seeding_an_unknown_entity_set_is_refused(dv):
    response = dv.handle.session.post(f"{dv.handle.origin}/_emulator/seed", json={"widgets": 3}, timeout=30)
    assert response.status_code == 400
    assert "widgets" in response.json()["error"]
