"""Reference data after a reset, and seeded data: realistic, related, in both companies, deterministic."""

from __future__ import annotations

from connectors.emulators.fakedata import UNITS
from connectors.emulators.microsoft_metadata import finops_entities

ALL = {"cross-company": "true"}


def _without_etags(rows: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "@odata.etag"} for row in rows]


def test_reset_leaves_legal_entities_customer_groups_payment_terms_and_units(fo):
    entities = fo.get("LegalEntities").json()["value"]
    assert [(e["LegalEntityId"], e["Name"]) for e in entities] == [("demf", "Contoso Entertainment System Germany"),
                                                                   ("usmf", "Contoso Entertainment System USA")]
    assert "AccountingCurrency" not in entities[0]  # stored for the logic, but LegalEntities does not expose it
    groups = fo.all_pages("CustomerGroups?cross-company=true&$select=dataAreaId,CustomerGroupId,PaymentTermId")
    assert [(g["dataAreaId"], g["CustomerGroupId"]) for g in groups] == [
        (company, group) for company in ("demf", "usmf") for group in ("10", "20", "30", "90")]
    terms = {term["Name"] for term in fo.get("PaymentTerms").json()["value"]}
    assert {group["PaymentTermId"] for group in groups} <= terms == {"Net10", "Net30", "Net45"}
    units = fo.get("UnitsOfMeasure").json()["value"]
    assert sorted((u["UnitSymbol"], u["UnitDescription"], u["DecimalPrecision"]) for u in units) == sorted(UNITS)
    assert fo.get("CustomersV3/$count?cross-company=true").text == "0"


def test_seeding_is_deterministic_for_a_seed(fo):
    fo.handle.seed(CustomersV3=20, CDSSalesQuotationHeaders=4, seed=7)
    first = _without_etags(fo.all_pages("CustomersV3?cross-company=true"))
    quotes = _without_etags(fo.all_pages("CDSSalesQuotationLines?cross-company=true"))
    fo.handle.reset()
    fo.handle.seed(CustomersV3=20, CDSSalesQuotationHeaders=4, seed=7)
    assert _without_etags(fo.all_pages("CustomersV3?cross-company=true")) == first
    assert _without_etags(fo.all_pages("CDSSalesQuotationLines?cross-company=true")) == quotes
    fo.handle.reset()
    fo.handle.seed(CustomersV3=20, seed=8)
    assert _without_etags(fo.all_pages("CustomersV3?cross-company=true")) != first


def test_seeded_customers_are_split_over_both_companies_with_realistic_fields(fo):
    assert fo.handle.seed(CustomersV3=10) == {"CustomersV3": 10}
    rows = fo.all_pages("CustomersV3?cross-company=true")
    assert sorted({row["dataAreaId"] for row in rows}) == ["demf", "usmf"]
    usmf = [row for row in rows if row["dataAreaId"] == "usmf"]
    assert len(usmf) == 5
    assert all(row["CustomerAccount"].startswith("US-") and row["SalesCurrencyCode"] == "USD" for row in usmf)
    assert all(len(row["PartyNumber"]) == 9 and row["PartyNumber"].isdigit() for row in rows)
    assert all(row["CustomerGroupId"] in ("10", "20", "30") and "@" in row["PrimaryContactEmail"] for row in rows)
    assert all(len(row["AddressCountryRegionId"]) == 3 and len(row["AddressCountryRegionISOCode"]) == 2
               for row in rows)
    assert {row["OnHoldStatus"] for row in rows} == {"No"}


def test_seeded_products_are_released_in_both_companies_in_their_currencies(fo):
    fo.handle.seed(SellableReleasedProducts=3, seed=1)
    rows = fo.all_pages("SellableReleasedProducts?cross-company=true")
    by_company = {(row["dataAreaId"], row["ProductNumber"]): row for row in rows}
    assert sorted(by_company) == [(c, f"P0000{n}") for c in ("demf", "usmf") for n in (1, 2, 3)]
    us, de = by_company["usmf", "P00001"], by_company["demf", "P00001"]
    assert (us["CurrencyCode"], de["CurrencyCode"]) == ("USD", "EUR")
    assert de["SalesPrice"] == round(us["SalesPrice"] * 0.92, 2)
    assert us["ProductName"] == de["ProductName"]
    assert us["SalesUnitSymbol"] in {symbol for symbol, _, _ in UNITS}
    assert list(us) == ["@odata.etag", *finops_entities()["SellableReleasedProducts"].properties]
    assert us["FieldServiceProductType"] == "Inventory"  # never written: the enum's member of value 0
    released = fo.get("ReleasedProductsV2(dataAreaId='usmf',ItemNumber='P00001')").json()
    assert released["ProductNumber"] == "P00001"
    assert "ProductName" not in released  # ReleasedProductsV2 has no ProductName (reference 2.2)


def test_seeded_quotations_have_one_to_five_lines_and_their_total(fo):
    created = fo.handle.seed(CDSSalesQuotationHeaders=6)
    assert created["CDSSalesQuotationHeaders"] == 6
    assert created["CustomersV3"] >= 2
    assert created["SellableReleasedProducts"] >= 2
    headers = fo.all_pages("CDSSalesQuotationHeaders?cross-company=true&$expand=CDSSalesQuotationLines")
    assert len(headers) == 6
    for header in headers:
        lines = header["CDSSalesQuotationLines"]
        assert 1 <= len(lines) <= 5
        assert [line["LineCreationSequenceNumber"] for line in lines] == list(range(1, len(lines) + 1))
        assert header["QuotationTotalAmount"] == round(sum(line["LineAmount"] for line in lines), 2)
        assert header["SalesQuotationStatus"] in ("Created", "Sent", "Confirmed")


def test_seeded_invoices_belong_to_invoiced_orders_of_externally_maintained_customers(fo):
    fo.handle.seed(SalesInvoiceHeadersV2=3)
    invoices = fo.all_pages("SalesInvoiceHeadersV2?cross-company=true&$expand=SalesInvoiceLinesV2")
    assert len(invoices) == 3
    for invoice in invoices:
        company = invoice["dataAreaId"]
        order = fo.get(f"CDSSalesOrderHeaders(dataAreaId='{company}',SalesOrderNumber='{invoice['SalesOrderNumber']}')"
                       "?cross-company=true").json()
        assert order["OrderingCustomerIsExternallyMaintained"] == "Yes"
        assert order["SalesOrderProcessingStatus"] == "Invoiced"
        assert invoice["InvoiceDate"].endswith("T12:00:00Z")
        assert len(invoice["SalesInvoiceLinesV2"]) >= 1
        assert invoice["TotalInvoiceAmount"] == order["OrderTotalAmount"]


def test_seeded_orders_are_taken_from_active_to_invoiced_with_consistent_statuses(fo):
    created = fo.handle.seed(CDSSalesOrderHeaders=30, seed=4)
    assert created["CDSSalesOrderHeaders"] == 30
    orders = fo.all_pages("CDSSalesOrderHeaders?cross-company=true&$expand=CDSSalesOrderLines")
    assert len(orders) == 30
    assert all(order["SalesOrderNumber"].startswith("SO-") for order in orders)
    assert {order["SalesOrderProcessingStatus"] for order in orders} >= {"Active", "Confirmed", "Delivered",
                                                                         "PartiallyInvoiced", "Invoiced"}
    expected_status = {"Active": "Backorder", "Confirmed": "Backorder", "Delivered": "Delivered",
                       "Invoiced": "Invoiced"}
    invoiced = set()
    for order in orders:
        processing = order["SalesOrderProcessingStatus"]
        if processing in expected_status:
            assert order["SalesOrderStatus"] == expected_status[processing]
        lines = order["CDSSalesOrderLines"]
        assert {line["SalesOrderProcessingStatus"] for line in lines} == {processing}
        if processing == "Invoiced":
            assert {line["SalesOrderLineStatus"] for line in lines} == {"Invoiced"}
        if processing != "Active":
            assert order["AreTotalsUpdated"] == "Yes"
            assert order["OrderTotalAmount"] == round(sum(line["LineAmount"] for line in lines)
                                                      + order["OrderTotalTaxAmount"], 2)
        if processing in ("PartiallyInvoiced", "Invoiced"):
            invoiced.add((order["dataAreaId"], order["SalesOrderNumber"]))
    invoices = fo.all_pages("SalesInvoiceHeadersV2?cross-company=true")
    assert {(invoice["dataAreaId"], invoice["SalesOrderNumber"]) for invoice in invoices} == invoiced
    assert created["SalesInvoiceHeadersV2"] == len(invoices)


def test_seeded_orders_are_the_same_for_a_seed(fo):
    fo.handle.seed(CDSSalesOrderHeaders=8, seed=9)
    first = _without_etags(fo.all_pages("SalesInvoiceV2Lines?cross-company=true"))
    orders = _without_etags(fo.all_pages("CDSSalesOrderLines?cross-company=true"))
    fo.handle.reset()
    fo.handle.seed(CDSSalesOrderHeaders=8, seed=9)
    assert _without_etags(fo.all_pages("SalesInvoiceV2Lines?cross-company=true")) == first
    assert _without_etags(fo.all_pages("CDSSalesOrderLines?cross-company=true")) == orders


def test_seeding_an_unknown_entity_set_is_refused(fo):
    response = fo.handle.session.post(f"{fo.handle.origin}/_emulator/seed", json={"Vendors": 3}, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": "cannot seed unknown entity set 'Vendors'"}
