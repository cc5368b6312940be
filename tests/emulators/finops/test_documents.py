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


def _line_path(number: str, sequence: int) -> str:
    return (f"CDSSalesQuotationLines(dataAreaId='usmf',LineCreationSequenceNumber={sequence},"
            f"SalesQuotationNumber='{number}')")


def test_line_gets_a_lot_id_product_defaults_and_updates_the_header_total(shop):
    shop.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1", "RequestingCustomerAccountNumber": "C-1"})
    product = shop.get("SellableReleasedProducts(dataAreaId='usmf',ProductNumber='P00001')").json()
    response = shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ProductNumber": "P00001",
                                                    "RequestedSalesQuantity": 3, "LineCreationSequenceNumber": 1,
                                                    "LineDiscountAmount": 1.5})
    assert response.status_code == 201
    line = response.json()
    assert line["InventoryLotId"] == "000001"
    assert response.headers["Location"] == f"{shop.api}{_line_path('Q1', 1)}"
    assert (line["ProductName"], line["SalesUnitSymbol"]) == (product["ProductName"], product["SalesUnitSymbol"])
    assert line["SalesPrice"] == product["SalesPrice"]
    assert line["LineAmount"] == round(3 * (product["SalesPrice"] - 1.5), 2)
    second = shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ProductNumber": "P00002",
                                                  "SalesPrice": 10, "RequestedSalesQuantity": 2}).json()
    assert second["LineCreationSequenceNumber"] == 2
    assert shop.get(_quote_path("Q1")).json()["QuotationTotalAmount"] == round(line["LineAmount"] + 20, 2)
    assert shop.patch(_line_path("Q1", 2), {"RequestedSalesQuantity": 5}).status_code == 204
    assert shop.get(_line_path("Q1", 2)).json()["RequestedSalesQuantity"] == 5
    assert shop.get(_quote_path("Q1")).json()["QuotationTotalAmount"] == round(line["LineAmount"] + 50, 2)


def test_a_lines_fixed_charges_count_once_in_its_amount(shop):
    """A 10.00 discount on 3 units, sent as 3.33 per unit and a -0.01 charge, makes the line 10.00 cheaper."""
    shop.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1", "RequestingCustomerAccountNumber": "C-1"})
    line = shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ProductNumber": "P00002",
                                                "SalesPrice": 20, "RequestedSalesQuantity": 3,
                                                "LineDiscountAmount": 3.33, "FixedPriceCharges": -0.01}).json()
    assert line["LineAmount"] == 50.0
    assert shop.get(_quote_path("Q1")).json()["QuotationTotalAmount"] == 50.0


def test_quotation_lines_are_keyed_by_sequence_and_quotation_not_lot(shop):
    shop.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1", "RequestingCustomerAccountNumber": "C-1"})
    shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ProductNumber": "P00001"})
    assert shop.get(_line_path("Q1", 1)).json()["InventoryLotId"] == "000001"
    assert shop.get("CDSSalesQuotationLines(dataAreaId='usmf',InventoryLotId='000001')").status_code == 400
    assert shop.get(_line_path("Q1", 2)).status_code == 404


def test_a_second_line_with_the_same_sequence_number_is_a_duplicate(shop):
    shop.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1", "RequestingCustomerAccountNumber": "C-1"})
    line = {"SalesQuotationNumber": "Q1", "ProductNumber": "P00001", "LineCreationSequenceNumber": 1}
    assert shop.post("CDSSalesQuotationLines", line).status_code == 201
    assert infolog(shop.post("CDSSalesQuotationLines", line)) == (
        "Write failed for table row of type 'SalesQuotationLineCDSEntity'. Infolog: Info: Cannot create a record in "
        "Quotation lines (SalesQuotationLine). Quotation: Q1, 1.\nThe record already exists..")


def test_line_for_an_unknown_product_or_quotation_fails(shop):
    shop.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1", "RequestingCustomerAccountNumber": "C-1"})
    message = infolog(shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ProductNumber": "NOPE"}))
    assert "The value 'NOPE' in field 'Product number' is not found in the related table 'Released products'." \
        in message
    message = infolog(shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q9", "ProductNumber": "P00001"}))
    assert "The value 'Q9' in field 'Quotation' is not found in the related table 'Sales quotations'." in message
    assert "Field 'Item number' must be filled in." in infolog(
        shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1"}))


def test_deleting_a_header_with_lines_is_refused_until_the_lines_are_gone(shop):
    shop.post("CDSSalesQuotationHeaders", {"SalesQuotationNumber": "Q1", "RequestingCustomerAccountNumber": "C-1"})
    shop.post("CDSSalesQuotationLines", {"SalesQuotationNumber": "Q1", "ProductNumber": "P00001"})
    assert "It has 1 lines; delete them first." in infolog(shop.delete(_quote_path("Q1")))
    assert shop.delete(_line_path("Q1", 1)).status_code == 204
    assert shop.delete(_quote_path("Q1")).status_code == 204


def test_order_number_is_generated_and_customer_flags_are_derived(shop):
    shop.customer("C-2", IsExternallyMaintained="No")
    order = shop.post("CDSSalesOrderHeaders", {"dataAreaId": "usmf", "OrderingCustomerAccountNumber": "C-1",
                                               "InvoiceCustomerAccountNumber": "C-2"}).json()
    assert order["SalesOrderNumber"] == "SO-000001"
    assert order["OrderingCustomerIsExternallyMaintained"] == "Yes"
    assert order["InvoiceCustomerIsExternallyMaintained"] == "No"
    assert (order["SalesOrderProcessingStatus"], order["SalesOrderStatus"]) == ("Active", "Backorder")
    line = shop.post("CDSSalesOrderLines", {"SalesOrderNumber": "SO-000001", "ProductNumber": "P00002",
                                            "OrderedSalesQuantity": 2, "SalesPrice": 100}).json()
    assert (line["CurrencyCode"], line["SalesOrderLineStatus"], line["LineAmount"]) == ("USD", "Backorder", 200)
    assert (line["OrderingCustomerIsExternallyMaintained"], line["InvoiceCustomerIsExternallyMaintained"]) == \
        ("Yes", "No")  # the CDS line repeats its header's flags
    header = shop.get("CDSSalesOrderHeaders(dataAreaId='usmf',SalesOrderNumber='SO-000001')").json()
    assert (header["OrderTotalAmount"], header["AreTotalsUpdated"]) == (0, "No")  # until Calculate sales totals


def test_order_lines_are_one_table_under_cds_and_lot_keys(shop):
    shop.post("CDSSalesOrderHeaders", {"SalesOrderNumber": "SO-1", "OrderingCustomerAccountNumber": "C-1"})
    created = shop.post("SalesOrderLines", {"SalesOrderNumber": "SO-1", "ItemNumber": "P00001",
                                            "OrderedSalesQuantity": 4})
    assert created.status_code == 201
    lot = created.json()["InventoryLotId"]
    assert created.headers["Location"] == f"{shop.api}SalesOrderLines(dataAreaId='usmf',InventoryLotId='{lot}')"
    by_sequence = "CDSSalesOrderLines(dataAreaId='usmf',SalesOrderNumber='SO-1',LineCreationSequenceNumber=1)"
    assert shop.patch(by_sequence, {"OrderedSalesQuantity": 6}).status_code == 204
    cds = shop.get(by_sequence).json()
    assert (cds["ProductNumber"], cds["OrderedSalesQuantity"]) == ("P00001", 6)
    assert "InventoryLotId" not in cds  # the CDS line entity has neither
    assert "ItemNumber" not in cds
    assert shop.get(f"SalesOrderLines(dataAreaId='usmf',InventoryLotId='{lot}')").json()["OrderedSalesQuantity"] == 6
    header = shop.get("SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='SO-1')?$expand=SalesOrderLines").json()
    assert [row["InventoryLotId"] for row in header["SalesOrderLines"]] == [lot]


def test_released_products_are_planted_through_the_control_api_and_stopped_ones_are_not_sellable(fo):
    planted = fo.plant("InventTable", dataAreaId="usmf", ProductNumber="X-100", ProductName="Rack mount",
                       ProductType="Item", SalesUnitSymbol="pcs", SalesPrice=49.5)
    assert planted.status_code == 201, planted.text
    assert (planted.json()["row"]["ItemNumber"], planted.json()["row"]["InventoryUnitSymbol"]) == ("X-100", "pcs")
    sellable = fo.get("SellableReleasedProducts(dataAreaId='usmf',ProductNumber='X-100')").json()
    assert (sellable["CurrencyCode"], sellable["SalesUnitDecimalPrecision"], sellable["SalesPrice"]) == \
        ("USD", 0, 49.5)
    assert fo.patch("ReleasedProductsV2(dataAreaId='usmf',ItemNumber='X-100')", {"SalesPrice": 55}).status_code == 204
    assert fo.get("SellableReleasedProducts(dataAreaId='usmf',ProductNumber='X-100')").json()["SalesPrice"] == 55
    assert fo.plant("InventTable", ProductNumber="X-200", IsSalesStopped="Yes").status_code == 201
    assert fo.get("SellableReleasedProducts(dataAreaId='usmf',ProductNumber='X-200')").status_code == 404
    assert fo.get("SellableReleasedProducts/$count").text == "1"
    assert fo.get("CDSReleasedDistinctProducts/$count").text == "2"


def test_entity_sets_outside_microsofts_metadata_are_not_served(fo):
    for path in ("ReleasedProductCreationsV2", "Currencies"):
        assert fo.post(path, {"ProductNumber": "X-1"}).status_code == 404
        assert fo.get(path).status_code == 404


def test_planted_rows_go_through_the_tables_validation(fo):
    response = fo.plant("InventTable", ProductNumber="X-1", SalesUnitSymbol="crate")
    assert response.status_code == 400
    assert "The value 'crate' in field 'Sales unit' is not found in the related table 'Units'." in \
        response.json()["error"]
    assert fo.plant("UnitOfMeasure", UnitSymbol="crate", DecimalPrecision=0).status_code == 201
    assert fo.plant("InventTable", ProductNumber="X-1", SalesUnitSymbol="crate").status_code == 201
    assert fo.plant("InventTable", ProductNumber="X-1").status_code == 400  # already there
    assert fo.plant("Nowhere", X=1).status_code == 400
    assert "no column 'Nickname'" in fo.plant("InventTable", Nickname="x").json()["error"]
