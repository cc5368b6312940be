"""The entity logic behind the P2C entity sets: generated numbers, defaults, totals, and related-record checks."""

from __future__ import annotations

import pytest

from tests.emulators.finops.conftest import infolog


@pytest.fixture
def shop(fo):
    """One externally maintained customer and two products in usmf."""
    fo.customer("C-1", IsExternallyMaintained="Yes", DeliveryAddressCity="Seattle", AddressCity="Redmond")
    fo.handle.seed(SellableReleasedProducts=2)
    return fo


def _quote_path(number: str) -> str:
    return f"CDSSalesQuotationHeaders(dataAreaId='usmf',SalesQuotationNumber='{number}')"


def test_quotation_takes_the_callers_number_and_defaults_from_the_customer(shop):
    body = shop.post("CDSSalesQuotationHeaders", {"dataAreaId": "usmf", "SalesQuotationNumber": "QUO-01001-ABCDEF",
                                                  "RequestingCustomerAccountNumber": "C-1"}).json()
    assert body["SalesQuotationNumber"] == "QUO-01001-ABCDEF"
    assert body["InvoiceCustomerAccountNumber"] == "C-1"
    assert body["CurrencyCode"] == "USD"
    assert body["DeliveryAddressCity"] == "Seattle"
    assert body["SalesQuotationStatus"] == "Created"
    assert body["QuotationTotalAmount"] == 0


def test_quotation_number_is_generated_when_absent(shop):
    first = shop.post("CDSSalesQuotationHeaders", {"RequestingCustomerAccountNumber": "C-1"}).json()
    second = shop.post("CDSSalesQuotationHeaders", {"RequestingCustomerAccountNumber": "C-1"}).json()
    assert (first["SalesQuotationNumber"], second["SalesQuotationNumber"]) == ("000001", "000002")


def test_quotation_needs_a_customer_of_its_company(shop):
    shop.customer("D-1", company="demf")
    message = infolog(shop.post("CDSSalesQuotationHeaders", {"RequestingCustomerAccountNumber": "D-1"}))
    assert "The value 'D-1' in field 'Customer account' is not found in the related table 'Customers'." in message
    assert "Field 'Customer account' must be filled in." in infolog(shop.post("CDSSalesQuotationHeaders", {}))


def test_line_gets_a_lot_id_product_defaults_and_updates_the_header_total(shop):
    shop.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1", "RequestingCustomerAccountNumber": "C-1"})
    product = shop.get("SellableReleasedProducts(dataAreaId='usmf',ProductNumber='P00001')").json()
    response = shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ProductNumber": "P00001",
                                                    "RequestedSalesQuantity": 3, "LineCreationSequenceNumber": 1,
                                                    "LineDiscountAmount": 1.5})
    assert response.status_code == 201
    line = response.json()
    assert line["InventoryLotId"] == "000001"
    assert response.headers["Location"] == \
        f"{shop.api}CDSSalesQuotationLines(dataAreaId='usmf',InventoryLotId='000001')"
    assert (line["ItemNumber"], line["SalesUnitSymbol"]) == ("P00001", product["SalesUnitSymbol"])
    assert line["SalesPrice"] == product["SalesPrice"]
    assert line["LineAmount"] == round(3 * (product["SalesPrice"] - 1.5), 2)
    second = shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ItemNumber": "P00002",
                                                  "SalesPrice": 10, "RequestedSalesQuantity": 2}).json()
    assert second["LineCreationSequenceNumber"] == 2
    assert shop.get(_quote_path("Q1")).json()["QuotationTotalAmount"] == round(line["LineAmount"] + 20, 2)
    shop.patch(f"CDSSalesQuotationLines(dataAreaId='usmf',InventoryLotId='{second['InventoryLotId']}')",
               {"RequestedSalesQuantity": 5})
    assert shop.get(_quote_path("Q1")).json()["QuotationTotalAmount"] == round(line["LineAmount"] + 50, 2)


def test_a_second_line_with_the_same_sequence_number_is_a_duplicate(shop):
    shop.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1", "RequestingCustomerAccountNumber": "C-1"})
    line = {"SalesQuotationNumber": "Q1", "ItemNumber": "P00001", "LineCreationSequenceNumber": 1}
    assert shop.post("CDSSalesQuotationLines", line).status_code == 201
    assert infolog(shop.post("CDSSalesQuotationLines", line)) == (
        "Write failed for table row of type 'SalesQuotationLineCDSEntity'. Infolog: Info: Cannot create a record in "
        "Quotation lines (SalesQuotationLine). Quotation: Q1, 1.\nThe record already exists..")


def test_line_for_an_unknown_product_or_quotation_fails(shop):
    shop.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1", "RequestingCustomerAccountNumber": "C-1"})
    message = infolog(shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ProductNumber": "NOPE"}))
    assert "The value 'NOPE' in field 'Product number' is not found in the related table 'Released products'." \
        in message
    message = infolog(shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q9", "ItemNumber": "P00001"}))
    assert "The value 'Q9' in field 'Quotation' is not found in the related table 'Sales quotations'." in message
    assert "Field 'Item number' must be filled in." in infolog(
        shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1"}))


def test_deleting_a_header_with_lines_is_refused_until_the_lines_are_gone(shop):
    shop.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1", "RequestingCustomerAccountNumber": "C-1"})
    line = shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ItemNumber": "P00001"}).json()
    assert "It has 1 lines; delete them first." in infolog(shop.delete(_quote_path("Q1")))
    assert shop.delete(f"CDSSalesQuotationLines(dataAreaId='usmf',InventoryLotId='{line['InventoryLotId']}')") \
        .status_code == 204
    assert shop.delete(_quote_path("Q1")).status_code == 204


def test_order_number_is_generated_and_customer_flags_are_derived(shop):
    shop.customer("C-2", IsExternallyMaintained="No")
    order = shop.post("CDSSalesOrderHeaders", {"dataAreaId": "usmf", "OrderingCustomerAccountNumber": "C-1",
                                               "InvoiceCustomerAccountNumber": "C-2"}).json()
    assert order["SalesOrderNumber"] == "000001"
    assert order["OrderingCustomerIsExternallyMaintained"] == "Yes"
    assert order["InvoiceCustomerIsExternallyMaintained"] == "No"
    assert order["SalesOrderProcessingStatus"] == "Active"
    line = shop.post("CDSSalesOrderLines", {"SalesOrderNumber": "000001", "ItemNumber": "P00002",
                                            "OrderedSalesQuantity": 2, "SalesPrice": 100}).json()
    assert (line["CurrencyCode"], line["SalesOrderLineStatus"], line["LineAmount"]) == ("USD", "Backorder", 200)
    header = shop.get("CDSSalesOrderHeaders(dataAreaId='usmf',SalesOrderNumber='000001')").json()
    assert (header["OrderTotalAmount"], header["AreTotalsUpdated"]) == (200, "Yes")


def test_contact_person_gets_party_numbers_and_needs_a_customer_party(shop):
    party = shop.get("CustomersV3(dataAreaId='usmf',CustomerAccount='C-1')").json()["PartyNumber"]
    response = shop.post("CDSContactPersons", {"AssociatedPartyNumber": party, "ContactPersonId": "CON-01000-BVRCPS",
                                               "FirstName": "Ines", "LastName": "Keller",
                                               "IsContactPersonExternallyMaintained": "Yes"})
    assert response.status_code == 201
    contact = response.json()
    assert len(contact["ContactPersonPartyNumber"]) == 9
    assert response.headers["Location"].endswith(
        f"CDSContactPersons(dataAreaId='usmf',ContactPersonPartyNumber='{contact['ContactPersonPartyNumber']}',"
        f"AssociatedPartyNumber='{party}')")
    assert "The value '999' in field 'Associated party' is not found in the related table 'Customers'." in infolog(
        shop.post("CDSContactPersons", {"AssociatedPartyNumber": "999", "LastName": "Nobody"}))
    assert "Contact ID: CON-01000-BVRCPS.\nThe record already exists.." in infolog(
        shop.post("CDSContactPersons", {"AssociatedPartyNumber": party, "ContactPersonId": "CON-01000-BVRCPS"}))


def test_released_product_created_then_stopped_leaves_the_sellable_set(fo):
    response = fo.post("ReleasedProductCreationsV2", {"dataAreaId": "usmf", "ProductNumber": "X-100",
                                                      "ProductName": "Rack mount", "ProductType": "Item",
                                                      "SalesUnitSymbol": "pcs", "SalesPrice": 49.5})
    assert response.status_code == 201
    created = response.json()
    assert (created["ItemNumber"], created["InventoryUnitSymbol"], created["SearchName"]) == \
        ("X-100", "pcs", "Rack mount")
    sellable = fo.get("SellableReleasedProducts(dataAreaId='usmf',ProductNumber='X-100')").json()
    assert (sellable["CurrencyCode"], sellable["SalesUnitDecimalPrecision"], sellable["SalesPrice"]) == \
        ("USD", 0, 49.5)
    assert fo.patch("ReleasedProductsV2(dataAreaId='usmf',ItemNumber='X-100')",
                    {"IsSalesStopped": "Yes"}).status_code == 204
    assert fo.get("SellableReleasedProducts(dataAreaId='usmf',ProductNumber='X-100')").status_code == 404
    assert fo.get("SellableReleasedProducts/$count").text == "0"
    assert "ProductName" not in fo.get("ReleasedProductsV2(dataAreaId='usmf',ItemNumber='X-100')").json()


def test_product_units_must_exist(fo):
    message = infolog(fo.post("ReleasedProductCreationsV2", {"ProductNumber": "X-1", "SalesUnitSymbol": "crate"}))
    assert "The value 'crate' in field 'Sales unit' is not found in the related table 'Units'." in message
