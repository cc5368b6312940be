"""The control API's sales order actions: what a user does in F&O's client to move an order on (orders.py,
invoicing.py), for tests and the demo. No token; JSON in and out; every action is atomic.

    GET  /_emulator/orders?dataAreaId=usmf&SalesOrderNumber=SO-000001
    POST /_emulator/orders/confirm           {"dataAreaId": "usmf", "SalesOrderNumber": "SO-000001"}
    POST /_emulator/orders/calculate-totals  {} | {"dataAreaId": "usmf"} | {..., "SalesOrderNumber": "SO-000001"}
    POST /_emulator/orders/header-charges    {"dataAreaId", "SalesOrderNumber", "charges": 25.0, "tax": 2.0}
    POST /_emulator/orders/packing-slip      {"dataAreaId", "SalesOrderNumber", "quantities": {"1": 2}}
    POST /_emulator/orders/invoice           {"dataAreaId", "SalesOrderNumber", "quantities": {"1": 2},
                                              "InvoiceDate": "2025-03-31"}
    POST /_emulator/orders/cancel            {"dataAreaId", "SalesOrderNumber"}
    POST /_emulator/invoices/free-text       {"dataAreaId", "InvoiceCustomerAccountNumber", "InvoiceDate",
                                              "lines": [{"ProductDescription", "SalesPrice", "InvoicedQuantity"}]}

`quantities` (by line creation sequence number) and `InvoiceDate` are optional: all that is left, today. An
order answers as {"order": CDSSalesOrderHeaders, "document_status", "lines": CDSSalesOrderLines, "posted":
{sequence: {"ordered", "delivered", "invoiced"}}}; an invoice as {"invoice": SalesInvoiceHeadersV2 with its
SalesInvoiceLinesV2, "order": ...}. Refusals are 400 (404 for a missing order) with {"error": "..."}.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from connectors.emulators.finops import invoicing, orders, render
from connectors.emulators.finops.entities import ENTITY_SETS
from connectors.emulators.finops.order_rules import order_lines
from connectors.emulators.server import Request, Response, json_response

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

Row = dict[str, object]
ACTIONS = ("orders", "orders/confirm", "orders/calculate-totals", "orders/header-charges", "orders/packing-slip",
           "orders/invoice", "orders/cancel", "invoices/free-text")


def handle(app: FinOpsEmulator, request: Request, action: str, body: dict) -> Response:
    try:
        with app.store.transaction():
            if action == "orders":
                if request.method != "GET":
                    return json_response(405, {"error": "GET /_emulator/orders reads one order"})
                query = {name: values[-1] for name, values in parse_qs(request.query_string).items()}
                return json_response(200, order_view(app, orders.find_order(app, *_order_key(query))))
            if request.method != "POST":
                return json_response(405, {"error": f"{request.method} /_emulator/{action} is not supported"})
            return json_response(200, _post(app, action, body))
    except orders.PostingError as exc:
        return json_response(exc.status, {"error": exc.message})


def _post(app: FinOpsEmulator, action: str, body: dict) -> dict:
    if action == "invoices/free-text":
        invoice = invoicing.post_free_text_invoice(app, _text(body, "dataAreaId"),
                                                   _text(body, "InvoiceCustomerAccountNumber"), body.get("lines"),
                                                   _date(body.get("InvoiceDate")))
        return {"invoice": invoice_view(*invoice)}
    if action == "orders/calculate-totals":
        number = body.get("SalesOrderNumber")
        calculated = orders.calculate_totals(app, body.get("dataAreaId"), number)
        return {"calculated": [order_view(app, order) for order in calculated]}
    company, number = _order_key(body)
    if action == "orders/confirm":
        order = orders.confirm(app, company, number)
    elif action == "orders/header-charges":
        charges, tax = body.get("charges", 0), body.get("tax")
        for name, value in (("charges", charges), ("tax", tax if tax is not None else 0)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise orders.PostingError(f"{name} must be a number, not {value!r}.")
        order = orders.set_header_charges(app, company, number, float(charges), None if tax is None else float(tax))
    elif action == "orders/packing-slip":
        order = orders.post_packing_slip(app, company, number, body.get("quantities"))
    elif action == "orders/invoice":
        invoice = invoicing.post_invoice(app, company, number, body.get("quantities"), _date(body.get("InvoiceDate")))
        return {"invoice": invoice_view(*invoice), "order": order_view(app, orders.find_order(app, company, number))}
    else:
        order = orders.cancel(app, company, number)
    return order_view(app, order)


def order_view(app: FinOpsEmulator, order: Row) -> dict:
    lines = order_lines(app, order)
    return {"order": render.entity(ENTITY_SETS["CDSSalesOrderHeaders"], order),
            "document_status": order["DocumentStatus"],
            "lines": [render.entity(ENTITY_SETS["CDSSalesOrderLines"], line) for line in lines],
            "posted": {str(line["LineCreationSequenceNumber"]): {
                "ordered": line["OrderedSalesQuantity"], "delivered": line["DeliveredQuantity"],
                "invoiced": line["InvoicedQuantity"]} for line in lines}}


def invoice_view(invoice: Row, lines: list[Row]) -> dict:
    return {**render.entity(ENTITY_SETS["SalesInvoiceHeadersV2"], invoice),
            "SalesInvoiceLinesV2": [render.entity(ENTITY_SETS["SalesInvoiceV2Lines"], line) for line in lines]}


def _order_key(values: dict) -> tuple[str, str]:
    return _text(values, "dataAreaId"), _text(values, "SalesOrderNumber")


def _text(values: dict, name: str) -> str:
    value = values.get(name)
    if not isinstance(value, str) or not value:
        raise orders.PostingError(f"{name} is required (a string).")
    return value


def _date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)
        except ValueError:
            pass
    raise orders.PostingError(f"InvoiceDate must be an ISO date such as 2025-03-31, not {value!r}.")
