"""A sales order's life in F&O through the control API: confirmation, sales totals, packing slips, invoices in
full and in part, free-text invoices, with the statuses of Microsoft's status table (p2c-templates 6.3)."""

from __future__ import annotations

import pytest
import requests

from connectors.emulators.microsoft_metadata import finops_entities
from tests.emulators.finops.conftest import infolog

ORDER = "CDSSalesOrderHeaders(dataAreaId='usmf',SalesOrderNumber='{}')"


def control(fo, action: str, body: dict | None = None) -> requests.Response:
    return fo.handle.session.post(f"{fo.handle.origin}/_emulator/{action}", json=body or {}, timeout=60)


def posted(fo, action: str, number: str, **body) -> dict:
    response = control(fo, f"orders/{action}", {"dataAreaId": "usmf", "SalesOrderNumber": number, **body})
    assert response.status_code == 200, response.text
    return response.json()


def refusal(response: requests.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    return response.json()["error"]


@pytest.fixture
def shop(fo):
    """usmf (8% sales tax) with an externally maintained customer and two released products."""
    fo.customer("C-1", IsExternallyMaintained="Yes", InvoiceAddressCity="Redmond")
    fo.handle.seed(SellableReleasedProducts=2)
    return fo


def order(fo, *lines: tuple[str, float, float], **header) -> str:
    """An order of C-1 with lines (product, quantity, unit price); returns its number."""
    created = fo.post("CDSSalesOrderHeaders", {"dataAreaId": "usmf", "OrderingCustomerAccountNumber": "C-1",
                                               **header})
    assert created.status_code == 201, created.text
    number = created.json()["SalesOrderNumber"]
    for product, quantity, price in lines:
        line = fo.post("CDSSalesOrderLines", {"dataAreaId": "usmf", "SalesOrderNumber": number,
                                              "ProductNumber": product, "OrderedSalesQuantity": quantity,
                                              "SalesPrice": price})
        assert line.status_code == 201, line.text
    return number


def header(fo, number: str) -> dict:
    return fo.get(ORDER.format(number)).json()


def test_confirming_an_order_makes_it_confirmed_with_a_confirmation(shop):
    number = order(shop, ("P00001", 2, 50))
    view = posted(shop, "confirm", number)
    assert view["document_status"] == "Confirmation"
    assert (view["order"]["SalesOrderProcessingStatus"], view["order"]["SalesOrderStatus"]) == ("Confirmed",
                                                                                               "Backorder")
    assert header(shop, number)["SalesOrderProcessingStatus"] == "Confirmed"
    line = shop.get(f"CDSSalesOrderLines(dataAreaId='usmf',SalesOrderNumber='{number}',"
                    "LineCreationSequenceNumber=1)").json()
    assert (line["SalesOrderProcessingStatus"], line["SalesOrderLineStatus"]) == ("Confirmed", "Backorder")


def test_an_order_without_lines_or_a_missing_one_cannot_be_confirmed(shop):
    number = order(shop)
    assert "has no lines to confirm" in refusal(control(shop, "orders/confirm", {"dataAreaId": "usmf",
                                                                                   "SalesOrderNumber": number}))
    assert "SO-999999 does not exist" in refusal(control(shop, "orders/confirm", {
        "dataAreaId": "usmf", "SalesOrderNumber": "SO-999999"}), 404)
    assert "SalesOrderNumber is required" in refusal(control(shop, "orders/confirm", {"dataAreaId": "usmf"}))


def test_totals_wait_for_calculate_sales_totals_and_include_charges_and_all_tax(shop):
    number = order(shop, ("P00001", 2, 50), ("P00002", 1, 30))
    posted(shop, "header-charges", number, charges=20, tax=1.25)
    stale = header(shop, number)
    assert (stale["AreTotalsUpdated"], stale["OrderTotalAmount"]) == ("No", 0)
    calculated = posted(shop, "calculate-totals", number)["calculated"][0]["order"]
    # lines 100 + 30, tax 8% of each line (8.00 + 2.40) plus the header charges' tax 1.25, charges 20
    assert calculated["AreTotalsUpdated"] == "Yes"
    assert (calculated["OrderTotalTaxAmount"], calculated["OrderHeaderTaxAmount"]) == (11.65, 1.25)
    assert calculated["OrderTotalChargesAmount"] == 20
    assert calculated["OrderTotalAmount"] == 161.65
    lines = shop.get(f"CDSSalesOrderLines?$filter=SalesOrderNumber eq '{number}'").json()["value"]
    assert [(line["TotalTaxAmount"], line["AreTotalsCalculated"], line["AreSalesOrderTotalsUpdated"])
            for line in lines] == [(8.0, "Yes", "Yes"), (2.4, "Yes", "Yes")]
    v2 = shop.get(f"SalesOrderHeadersV2(dataAreaId='usmf',SalesOrderNumber='{number}')").json()
    assert (v2["AreTotalsCalculated"], v2["OrderTotalAmount"]) == ("Yes", 161.65)


def test_a_change_to_an_order_makes_its_totals_stale_until_the_batch_runs_again(shop):
    first, second = order(shop, ("P00001", 1, 10)), order(shop, ("P00002", 1, 10))
    assert len(control(shop, "orders/calculate-totals").json()["calculated"]) == 2  # every stale order
    assert shop.patch(ORDER.format(first), {"CustomersOrderReference": "PO-7"}).status_code == 204
    assert header(shop, first)["AreTotalsUpdated"] == "No"
    assert header(shop, second)["AreTotalsUpdated"] == "Yes"
    line = shop.get(f"CDSSalesOrderLines?$filter=SalesOrderNumber eq '{first}'").json()["value"][0]
    assert line["AreSalesOrderTotalsUpdated"] == "No"
    recalculated = control(shop, "orders/calculate-totals", {"dataAreaId": "usmf"}).json()["calculated"]
    assert [view["order"]["SalesOrderNumber"] for view in recalculated] == [first]
    shop.post("CDSSalesOrderLines", {"SalesOrderNumber": second, "ProductNumber": "P00001", "SalesPrice": 5})
    assert header(shop, second)["AreTotalsUpdated"] == "No"


def test_statuses_and_totals_written_by_a_client_are_the_applications_own(shop):
    number = order(shop, ("P00001", 1, 10), SalesOrderProcessingStatus="Invoiced", OrderTotalAmount=999)
    assert (header(shop, number)["SalesOrderProcessingStatus"], header(shop, number)["OrderTotalAmount"]) == \
        ("Active", 0)
    assert shop.patch(ORDER.format(number), {"SalesOrderStatus": "Invoiced", "AreTotalsUpdated": "Yes"}
                      ).status_code == 204
    assert (header(shop, number)["SalesOrderStatus"], header(shop, number)["AreTotalsUpdated"]) == ("Backorder",
                                                                                                   "No")


def test_packing_slips_deliver_in_part_then_in_full(shop):
    number = order(shop, ("P00001", 4, 10), ("P00002", 1, 10))
    posted(shop, "confirm", number)
    partly = posted(shop, "packing-slip", number, quantities={"1": 3})
    assert partly["document_status"] == "PackingSlip"
    assert (partly["order"]["SalesOrderProcessingStatus"], partly["order"]["SalesOrderStatus"]) == (
        "PartiallyDelivered", "Backorder")
    assert partly["posted"]["1"] == {"ordered": 4, "delivered": 3, "invoiced": 0}
    assert "has 1 left to deliver, not 2" in refusal(control(shop, "orders/packing-slip", {
        "dataAreaId": "usmf", "SalesOrderNumber": number, "quantities": {"1": 2}}))
    fully = posted(shop, "packing-slip", number)  # all that is left
    assert (fully["order"]["SalesOrderProcessingStatus"], fully["order"]["SalesOrderStatus"]) == ("Delivered",
                                                                                                  "Delivered")
    assert [line["SalesOrderLineStatus"] for line in fully["lines"]] == ["Delivered", "Delivered"]
    assert "has nothing to deliver" in refusal(control(shop, "orders/packing-slip", {
        "dataAreaId": "usmf", "SalesOrderNumber": number}))


def test_a_full_invoice_creates_the_invoice_rows_and_invoices_the_order(shop):
    number = order(shop, ("P00001", 2, 50), ("P00002", 3, 20), CustomersOrderReference="PO-1",
                   SalesOrderOriginCode="SalesOrder")
    shop.patch(f"CDSSalesOrderLines(dataAreaId='usmf',SalesOrderNumber='{number}',LineCreationSequenceNumber=2)",
               {"LineDiscountAmount": 3.33, "FixedPriceCharges": -0.01})
    posted(shop, "header-charges", number, charges=10)  # tax 8%: 0.80
    posted(shop, "confirm", number)
    result = posted(shop, "invoice", number, InvoiceDate="2025-03-31")
    invoice = result["invoice"]
    assert invoice["InvoiceNumber"].startswith("CIV-")
    assert invoice["LedgerVoucher"].startswith("SIV-")
    assert invoice["InvoiceDate"] == "2025-03-31T12:00:00Z"
    assert (invoice["SalesOrderNumber"], invoice["InvoiceCustomerAccountNumber"]) == (number, "C-1")
    assert (invoice["CustomersOrderReference"], invoice["SalesOrderOriginCode"]) == ("PO-1", "SalesOrder")
    assert invoice["InvoiceAddressCity"] == "Redmond"
    lines = invoice["SalesInvoiceLinesV2"]
    assert [(line["LineCreationSequenceNumber"], line["InvoicedQuantity"], line["LineAmount"]) for line in lines] \
        == [(1, 2, 100.0), (2, 3, 50.0)]  # 3 x (20 - 3.33) - 0.01: the Sales line's 10.00 discount
    assert [line["LineTotalTaxAmount"] for line in lines] == [8.0, 4.0]
    assert lines[1]["LineTotalDiscountAmount"] == 9.99
    assert (invoice["TotalChargeAmount"], invoice["InvoiceHeaderTaxAmount"]) == (10, 0.8)
    assert invoice["TotalTaxAmount"] == 12.8
    assert invoice["TotalInvoiceAmount"] == 172.8  # 150 + 10 charges + 12.80 tax
    view = result["order"]
    assert view["document_status"] == "Invoice"
    assert (view["order"]["SalesOrderProcessingStatus"], view["order"]["SalesOrderStatus"]) == ("Invoiced",
                                                                                                "Invoiced")
    assert [line["SalesOrderLineStatus"] for line in view["lines"]] == ["Invoiced", "Invoiced"]
    keys = (f"dataAreaId='usmf',InvoiceNumber='{invoice['InvoiceNumber']}',InvoiceDate=2025-03-31T12:00:00Z,"
            f"LedgerVoucher='{invoice['LedgerVoucher']}'")
    read = shop.get(f"SalesInvoiceHeadersV2({keys})?$expand=SalesInvoiceLinesV2").json()
    assert read["TotalInvoiceAmount"] == 172.8
    assert len(read["SalesInvoiceLinesV2"]) == 2


def test_partial_invoices_move_the_order_through_partially_invoiced_to_invoiced(shop):
    number = order(shop, ("P00001", 4, 10), ("P00002", 2, 10))
    posted(shop, "header-charges", number, charges=5, tax=0.4)
    posted(shop, "confirm", number)
    first = posted(shop, "invoice", number, quantities={"1": 1, "2": 2})
    assert [(line["LineCreationSequenceNumber"], line["InvoicedQuantity"])
            for line in first["invoice"]["SalesInvoiceLinesV2"]] == [(1, 1), (2, 2)]
    assert (first["invoice"]["TotalChargeAmount"], first["invoice"]["InvoiceHeaderTaxAmount"]) == (5, 0.4)
    view = first["order"]
    assert (view["order"]["SalesOrderProcessingStatus"], view["order"]["SalesOrderStatus"]) == (
        "PartiallyInvoiced", "Backorder")  # line 1 is still open
    assert [line["SalesOrderLineStatus"] for line in view["lines"]] == ["Backorder", "Invoiced"]
    assert view["posted"]["1"] == {"ordered": 4, "delivered": 1, "invoiced": 1}
    posted(shop, "packing-slip", number)  # the rest of line 1 leaves: the order is delivered, invoiced in part
    assert (header(shop, number)["SalesOrderProcessingStatus"], header(shop, number)["SalesOrderStatus"]) == (
        "PartiallyInvoiced", "Delivered")
    confirmed_again = posted(shop, "confirm", number)
    assert confirmed_again["document_status"] == "Invoice"  # a later confirmation does not set it back
    second = posted(shop, "invoice", number)
    assert [(line["LineCreationSequenceNumber"], line["InvoicedQuantity"])
            for line in second["invoice"]["SalesInvoiceLinesV2"]] == [(1, 3)]
    assert second["invoice"]["TotalChargeAmount"] == 0  # the header charges went with the first invoice
    assert second["invoice"]["InvoiceNumber"] != first["invoice"]["InvoiceNumber"]
    assert second["invoice"]["LedgerVoucher"] != first["invoice"]["LedgerVoucher"]
    assert second["order"]["order"]["SalesOrderProcessingStatus"] == "Invoiced"
    assert "has nothing to invoice" in refusal(control(shop, "orders/invoice", {"dataAreaId": "usmf",
                                                                                 "SalesOrderNumber": number}))
    invoices = shop.get(f"SalesInvoiceHeadersV2?$filter=SalesOrderNumber eq '{number}'").json()["value"]
    assert len(invoices) == 2
    assert "header charges were booked" in refusal(control(shop, "orders/header-charges", {
        "dataAreaId": "usmf", "SalesOrderNumber": number, "charges": 1}))


def test_invoicing_more_than_is_left_or_an_unknown_line_is_refused(shop):
    number = order(shop, ("P00001", 2, 10))
    body = {"dataAreaId": "usmf", "SalesOrderNumber": number}
    assert "has 2 left to invoice, not 3" in refusal(control(shop, "orders/invoice", {**body, "quantities": {"1": 3}}))
    assert "has no line 7 to invoice" in refusal(control(shop, "orders/invoice", {**body, "quantities": {"7": 1}}))
    assert "must be a number >= 0" in refusal(control(shop, "orders/invoice", {**body, "quantities": {"1": -1}}))
    assert "InvoiceDate must be an ISO date" in refusal(control(shop, "orders/invoice", {**body,
                                                                                          "InvoiceDate": "soon"}))
    assert shop.get("SalesInvoiceHeadersV2/$count").text == "0"  # nothing of a refused posting stays


def test_a_delivered_line_cannot_shrink_below_what_left_or_be_deleted(shop):
    number = order(shop, ("P00001", 3, 10))
    posted(shop, "packing-slip", number, quantities={"1": 2})
    path = f"CDSSalesOrderLines(dataAreaId='usmf',SalesOrderNumber='{number}',LineCreationSequenceNumber=1)"
    assert "cannot be less than the 2 already delivered" in infolog(shop.patch(path, {"OrderedSalesQuantity": 1}))
    assert "has been delivered or invoiced and cannot be deleted" in infolog(shop.delete(path))
    assert shop.patch(path, {"OrderedSalesQuantity": 2}).status_code == 204
    assert header(shop, number)["SalesOrderProcessingStatus"] == "Delivered"  # 2 of 2 delivered now


def test_cancelling_an_order_cancels_its_lines(shop):
    number = order(shop, ("P00001", 1, 10), ("P00002", 1, 10))
    view = posted(shop, "cancel", number)
    assert (view["order"]["SalesOrderProcessingStatus"], view["order"]["SalesOrderStatus"]) == ("Canceled",
                                                                                                "Canceled")
    assert {line["SalesOrderLineStatus"] for line in view["lines"]} == {"Canceled"}
    assert "is canceled and cannot be confirmed" in refusal(control(shop, "orders/confirm", {
        "dataAreaId": "usmf", "SalesOrderNumber": number}))
    delivered = order(shop, ("P00001", 1, 10))
    posted(shop, "packing-slip", delivered)
    assert "cannot be canceled" in refusal(control(shop, "orders/cancel", {"dataAreaId": "usmf",
                                                                           "SalesOrderNumber": delivered}))


def test_a_free_text_invoice_has_no_sales_order(shop):
    response = control(shop, "invoices/free-text", {
        "dataAreaId": "usmf", "InvoiceCustomerAccountNumber": "C-1", "InvoiceDate": "2025-02-01",
        "lines": [{"ProductDescription": "Consulting", "SalesPrice": 120, "InvoicedQuantity": 2},
                  {"ProductDescription": "Travel", "SalesPrice": 40}]})
    assert response.status_code == 200, response.text
    invoice = response.json()["invoice"]
    assert invoice["SalesOrderNumber"] == ""
    assert [(line["LineCreationSequenceNumber"], line["ProductDescription"], line["LineAmount"])
            for line in invoice["SalesInvoiceLinesV2"]] == [(1, "Consulting", 240.0), (2, "Travel", 40.0)]
    assert (invoice["TotalTaxAmount"], invoice["TotalInvoiceAmount"]) == (22.4, 302.4)
    assert "Customer NOPE does not exist" in refusal(control(shop, "invoices/free-text", {
        "dataAreaId": "usmf", "InvoiceCustomerAccountNumber": "NOPE", "lines": [{"ProductDescription": "x",
                                                                                 "SalesPrice": 1}]}))


def test_order_numbers_come_from_a_shared_sequence_that_never_overlaps_sales(shop):
    shop.customer("D-1", company="demf")
    us = shop.post("CDSSalesOrderHeaders", {"OrderingCustomerAccountNumber": "C-1"}).json()["SalesOrderNumber"]
    de = shop.post("SalesOrderHeadersV2", {"dataAreaId": "demf", "OrderingCustomerAccountNumber": "D-1"}
                   ).json()["SalesOrderNumber"]
    assert (us, de) == ("SO-000001", "SO-000002")  # unique across legal entities
    kept = shop.post("CDSSalesOrderHeaders", {"SalesOrderNumber": "ORD-01000-ABCDEF",
                                              "OrderingCustomerAccountNumber": "C-1"}).json()
    assert kept["SalesOrderNumber"] == "ORD-01000-ABCDEF"  # a Sales order keeps its number in F&O
    taken = shop.post("CDSSalesOrderHeaders", {"SalesOrderNumber": "SO-000003",
                                               "OrderingCustomerAccountNumber": "C-1"}).json()
    assert taken["SalesOrderNumber"] == "SO-000003"
    assert shop.post("CDSSalesOrderHeaders", {"OrderingCustomerAccountNumber": "C-1"}
                     ).json()["SalesOrderNumber"] == "SO-000004"  # the sequence skips a number taken by hand


def test_the_sales_origin_names_its_type_on_header_and_lines(shop):
    number = order(shop, ("P00001", 1, 10), SalesOrderOriginCode="SalesOrder")
    assert header(shop, number)["SalesOrderOriginType"] == "SalesOrderIntegration"
    line = shop.get(f"CDSSalesOrderLines?$filter=SalesOrderNumber eq '{number}'").json()["value"][0]
    assert line["SalesOrderOriginType"] == "SalesOrderIntegration"
    assert shop.plant("SalesOrigin", OriginId="WO", Description="Work orders",
                      OriginType="WorkOrderIntegration").status_code == 201
    assert shop.patch(ORDER.format(number), {"SalesOrderOriginCode": "WO"}).status_code == 204
    assert header(shop, number)["SalesOrderOriginType"] == "WorkOrderIntegration"
    message = infolog(shop.post("CDSSalesOrderHeaders", {"OrderingCustomerAccountNumber": "C-1",
                                                         "SalesOrderOriginCode": "NOPE"}))
    assert "The value 'NOPE' in field 'Sales origin' is not found in the related table 'Sales origin'." in message


def test_orders_and_invoices_render_exactly_the_metadatas_properties(shop):
    number = order(shop, ("P00001", 1, 10))
    invoice = posted(shop, "invoice", number)["invoice"]
    key = f"dataAreaId='usmf',SalesOrderNumber='{number}'"
    for entity_set, path in (("CDSSalesOrderHeaders", f"CDSSalesOrderHeaders({key})"),
                             ("SalesOrderHeadersV2", f"SalesOrderHeadersV2({key})"),
                             ("CDSSalesOrderLines", f"CDSSalesOrderLines({key},LineCreationSequenceNumber=1)")):
        row = shop.get(path).json()
        assert [name for name in row if not name.startswith("@")] == list(finops_entities()[entity_set].properties)
    assert [name for name in invoice if not name.startswith("@") and name != "SalesInvoiceLinesV2"] == \
        list(finops_entities()["SalesInvoiceHeadersV2"].properties)
    assert [name for name in invoice["SalesInvoiceLinesV2"][0] if not name.startswith("@")] == \
        list(finops_entities()["SalesInvoiceV2Lines"].properties)
    assert "DocumentStatus" not in shop.get(ORDER.format(number)).json()  # stored, but F&O exposes it nowhere


def test_reading_an_order_through_the_control_api(shop):
    number = order(shop, ("P00001", 1, 10))
    response = shop.handle.session.get(f"{shop.handle.origin}/_emulator/orders",
                                       params={"dataAreaId": "usmf", "SalesOrderNumber": number}, timeout=30)
    assert response.status_code == 200
    assert (response.json()["document_status"], response.json()["posted"]) == (
        "None", {"1": {"ordered": 1, "delivered": 0, "invoiced": 0}})
