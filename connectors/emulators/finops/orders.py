"""What a user does to a sales order in F&O's client, which no OData entity offers: confirm it, run "Calculate
sales totals", give it header charges, post packing slips, cancel it (invoices: invoicing.py). The control API
(control.py) and seeding call these; each leaves the order's statuses as order_status.py derives them.

Assumptions (Microsoft publishes the outcomes, not the rules of these postings; the refusals' wording is ours):
- Confirming needs an order with lines that is neither canceled nor fully invoiced; a confirmation after an
  invoice leaves the document status at Invoice.
- A packing slip or an invoice posts a quantity per line (by line creation sequence number), by default all
  that is left; a quantity beyond what is left is refused, as is a posting of nothing.
- Totals: a line's sales tax is its amount times the company's one sales tax rate (tables.py); its discount is
  the per-unit discount times the quantity; lines carry no charges of their own (TotalChargesAmount 0). The
  header's total is the lines' amounts plus the header charges plus all sales tax (F&O's "Total amount"), and
  canceled lines count for nothing. Postings do not make the totals stale; writes to the order do.
- Header charges (and their sales tax, by default at the company's rate) can change until the order's first
  invoice, which books them; they are the only source of the header tax (OrderHeaderTaxAmount).
- Only an order with nothing delivered or invoiced can be canceled; all its lines are then canceled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from connectors.emulators.finops.order_rules import order_lines, repeat_on_lines, store_order
from connectors.emulators.finops.order_status import later_document, line_status
from connectors.emulators.finops.rules import fresh
from connectors.emulators.finops.schema import COMPANY
from connectors.emulators.finops.tables import ORDER, ORDER_LINE

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

Row = dict[str, object]


class PostingError(Exception):
    """A posting F&O would refuse; `status` is 404 when the order does not exist."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def find_order(app: FinOpsEmulator, company: str, number: str) -> Row:
    order = app.store.tables[ORDER.name].get((company.lower(), number))
    if order is None:
        raise PostingError(f"Sales order {number} does not exist in company {company}.", 404)
    return order


def sales_tax(app: FinOpsEmulator, company: object, amount: float) -> float:
    entity = app.legal_entity(str(company))
    percent = float(entity["SalesTaxPercent"]) if entity else 0.0
    return round(amount * percent / 100, 2)


def post_document(app: FinOpsEmulator, order: Row, document: str) -> Row:
    """Store the order after a posting: the later document status and the statuses its lines now give it."""
    return store_order(app, {**fresh(order), "DocumentStatus": later_document(order["DocumentStatus"], document)})


def quantities_to_post(app: FinOpsEmulator, order: Row, given: object, left: str, verb: str) -> list[tuple[Row, float]]:
    """(line, quantity) to post: `given` maps line creation sequence numbers to quantities (None: all that is
    left); `left` names the line's column of what is already posted."""
    lines = {int(line["LineCreationSequenceNumber"]): line for line in order_lines(app, order)
             if line["SalesOrderLineStatus"] != "Canceled"}
    if given is None:
        wanted = {sequence: _left(line, left) for sequence, line in lines.items()}
    elif isinstance(given, Mapping):
        wanted = {}
        for key, quantity in given.items():
            if not str(key).isdigit() or int(key) not in lines:
                raise PostingError(f"Sales order {order['SalesOrderNumber']} has no line {key} to {verb}.")
            if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity < 0:
                raise PostingError(f"The quantity to {verb} of line {key} must be a number >= 0, not {quantity!r}.")
            if quantity > _left(lines[int(key)], left):
                raise PostingError(f"Line {key} of sales order {order['SalesOrderNumber']} has "
                                   f"{_left(lines[int(key)], left):g} left to {verb}, not {quantity:g}.")
            wanted[int(key)] = float(quantity)
    else:
        raise PostingError("quantities must be a JSON object of line creation sequence number -> quantity.")
    posted = [(lines[sequence], quantity) for sequence, quantity in sorted(wanted.items()) if quantity > 0]
    if not posted:
        raise PostingError(f"Sales order {order['SalesOrderNumber']} has nothing to {verb}.")
    return posted


def _left(line: Row, posted: str) -> float:
    return round(float(line["OrderedSalesQuantity"]) - float(line[posted]), 6)


def store_line_quantities(app: FinOpsEmulator, line: Row, *, delivered: float, invoiced: float) -> None:
    updated = {**fresh(line), "DeliveredQuantity": max(delivered, invoiced), "InvoicedQuantity": invoiced}
    updated["SalesOrderLineStatus"] = line_status(updated)
    app.store.tables[ORDER_LINE.name].replace(updated)


def confirm(app: FinOpsEmulator, company: str, number: str) -> Row:
    order = find_order(app, company, number)
    if order["SalesOrderStatus"] in ("Canceled", "Invoiced"):
        raise PostingError(f"Sales order {number} is {str(order['SalesOrderStatus']).lower()} and cannot be "
                           "confirmed.")
    if not order_lines(app, order):
        raise PostingError(f"Sales order {number} has no lines to confirm.")
    return post_document(app, order, "Confirmation")


def post_packing_slip(app: FinOpsEmulator, company: str, number: str, quantities: object = None) -> Row:
    order = find_order(app, company, number)
    for line, quantity in quantities_to_post(app, order, quantities, "DeliveredQuantity", "deliver"):
        store_line_quantities(app, line, delivered=float(line["DeliveredQuantity"]) + quantity,
                              invoiced=float(line["InvoicedQuantity"]))
    return post_document(app, order, "PackingSlip")


def calculate_totals(app: FinOpsEmulator, company: str | None = None, number: str | None = None) -> list[Row]:
    """The "Calculate sales totals" batch: one order when `number` is given, else every order (of `company`, when
    given) whose totals are not up to date; returns the orders calculated."""
    if number is not None:
        return [_calculate(app, find_order(app, company or app.default_company, number))]
    stale = [order for order in app.store.tables[ORDER.name].scan((company.lower(),) if company else None)
             if (company is None or order[COMPANY] == company.lower()) and order["AreTotalsUpdated"] == "No"]
    return [_calculate(app, order) for order in stale]


def _calculate(app: FinOpsEmulator, order: Row) -> Row:
    company = order[COMPANY]
    table = app.store.tables[ORDER_LINE.name]
    amount = tax = discount = 0.0
    for line in order_lines(app, order):
        counted = line["SalesOrderLineStatus"] != "Canceled"
        line_tax = sales_tax(app, company, float(line["LineAmount"])) if counted else 0.0
        line_discount = (round(float(line["LineDiscountAmount"]) * float(line["OrderedSalesQuantity"]), 2)
                         if counted else 0.0)
        totals = {"TotalTaxAmount": line_tax, "TotalDiscountAmount": line_discount, "TotalChargesAmount": 0,
                  "AreTotalsCalculated": "Yes"}
        if any(line[column] != value for column, value in totals.items()):
            table.replace({**fresh(line), **totals})
        if counted:
            amount, tax, discount = amount + float(line["LineAmount"]), tax + line_tax, discount + line_discount
    charges, header_tax = float(order["HeaderCharges"]), float(order["HeaderChargesTax"])
    total_tax = round(tax + header_tax, 2)
    stored = app.store.tables[ORDER.name].replace({
        **fresh(order), "OrderTotalChargesAmount": charges, "OrderHeaderTaxAmount": header_tax,
        "OrderTotalTaxAmount": total_tax, "OrderTotalDiscountAmount": round(discount, 2),
        "OrderTotalAmount": round(amount + charges + total_tax, 2), "AreTotalsUpdated": "Yes"})
    repeat_on_lines(app, stored)
    return stored


def set_header_charges(app: FinOpsEmulator, company: str, number: str, charges: float,
                       tax: float | None = None) -> Row:
    order = find_order(app, company, number)
    if any(float(line["InvoicedQuantity"]) for line in order_lines(app, order)):
        raise PostingError(f"Sales order {number} has been invoiced; its header charges were booked with its first "
                           "invoice and cannot change.")
    header_tax = sales_tax(app, order[COMPANY], charges) if tax is None else round(tax, 2)
    return store_order(app, {**fresh(order), "HeaderCharges": round(charges, 2), "HeaderChargesTax": header_tax,
                             "AreTotalsUpdated": "No"})


def cancel(app: FinOpsEmulator, company: str, number: str) -> Row:
    order = find_order(app, company, number)
    lines = order_lines(app, order)
    if not lines:
        raise PostingError(f"Sales order {number} has no lines to cancel.")
    if any(float(line["DeliveredQuantity"]) or float(line["InvoicedQuantity"]) for line in lines):
        raise PostingError(f"Sales order {number} has been delivered or invoiced in part and cannot be canceled.")
    table = app.store.tables[ORDER_LINE.name]
    for line in lines:
        table.replace({**fresh(line), "SalesOrderLineStatus": "Canceled"})
    return store_order(app, fresh(order))
