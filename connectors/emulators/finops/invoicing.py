"""Posting a sales order's invoice, in full or in part, and free-text invoices: a customer invoice journal row
(SalesInvoiceHeadersV2, keyed by company, invoice number, invoice date and voucher) with its lines
(SalesInvoiceV2Lines, each with the order line's creation sequence number), and the order's quantities and
statuses moved on (order_status.py).

Assumptions (the outcome is documented, the rules are not; the refusals' wording is ours):
- Invoice numbers (CIV-######) and vouchers (SIV-######) come from two number sequences shared by every company,
  so both are unique across legal entities, as data synced to Sales must be.
- An invoice may post what was not delivered yet; it delivers it too, as posting an invoice for "All" does.
- A line's fixed charges are invoiced with its first invoice, the order's header charges and their sales tax
  with the order's first invoice; every invoice line's sales tax is its amount times the company's rate.
- Free-text invoices (no sales order) show in the sales invoice entities with an empty SalesOrderNumber; whether
  SalesInvoiceHeaderV2Entity shows them in F&O is not published. Their lines are numbered from 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

from connectors.emulators.finops.keys import stored_date
from connectors.emulators.finops.order_rules import order_lines
from connectors.emulators.finops.orders import (
    PostingError,
    find_order,
    post_document,
    quantities_to_post,
    sales_tax,
    store_line_quantities,
)
from connectors.emulators.finops.rules import line_amount
from connectors.emulators.finops.schema import COMPANY
from connectors.emulators.finops.tables import INVOICE, INVOICE_LINE

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

Row = dict[str, object]
_ADDRESS = ("Street", "City", "State", "ZipCode", "CountryRegionId", "CountryRegionISOCode")


def post_invoice(app: FinOpsEmulator, company: str, number: str, quantities: object = None,
                 invoice_date: date | None = None) -> tuple[Row, list[Row]]:
    """Invoice the given quantity of each line (None: all that is left); returns the invoice and its lines."""
    order = find_order(app, company, number)
    if order["SalesOrderStatus"] == "Canceled":
        raise PostingError(f"Sales order {number} is canceled and cannot be invoiced.")
    posted = quantities_to_post(app, order, quantities, "InvoicedQuantity", "invoice")
    first = not any(float(line["InvoicedQuantity"]) for line in order_lines(app, order))
    lines = []
    for line, quantity in posted:
        invoiced = float(line["InvoicedQuantity"])
        lines.append({
            "LineCreationSequenceNumber": line["LineCreationSequenceNumber"], "ProductNumber": line["ProductNumber"],
            "ProductName": line["ProductName"], "ProductDescription": line["LineDescription"],
            "InvoicedQuantity": quantity, "SalesPrice": line["SalesPrice"], "SalesUnitSymbol": line["SalesUnitSymbol"],
            "LineTotalDiscountAmount": round(float(line["LineDiscountAmount"]) * quantity, 2),
            "LineAmount": line_amount(line, quantity, charges=not invoiced), "CurrencyCode": line["CurrencyCode"]})
        store_line_quantities(app, line, delivered=float(line["DeliveredQuantity"]), invoiced=invoiced + quantity)
    customer = _customer(app, order[COMPANY], str(order["InvoiceCustomerAccountNumber"]))
    header = {"SalesOrderNumber": order["SalesOrderNumber"], "CurrencyCode": order["CurrencyCode"],
              "CustomersOrderReference": order["CustomersOrderReference"],
              "SalesOrderOriginCode": order["SalesOrderOriginCode"], **_billing(customer)}
    invoice = _store(app, str(order[COMPANY]), header, lines, invoice_date,
                     charges=float(order["HeaderCharges"]) if first else 0.0,
                     header_tax=float(order["HeaderChargesTax"]) if first else 0.0)
    post_document(app, find_order(app, company, number), "Invoice")
    return invoice


def post_free_text_invoice(app: FinOpsEmulator, company: str, customer_account: str, lines: object,
                           invoice_date: date | None = None) -> tuple[Row, list[Row]]:
    """An invoice without a sales order: each line a JSON object with ProductDescription, SalesPrice and
    (default 1) InvoicedQuantity, in the customer's currency."""
    customer = _customer(app, company.lower(), customer_account)
    if not isinstance(lines, list) or not lines:
        raise PostingError("lines must be a non-empty list of {ProductDescription, SalesPrice, InvoicedQuantity}.")
    written = []
    for sequence, spec in enumerate(lines, start=1):
        if not isinstance(spec, Mapping) or not isinstance(spec.get("ProductDescription"), str):
            raise PostingError(f"Free-text line {sequence} needs a ProductDescription.")
        price, quantity = spec.get("SalesPrice"), spec.get("InvoicedQuantity", 1)
        for name, value in (("SalesPrice", price), ("InvoicedQuantity", quantity)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PostingError(f"Free-text line {sequence} needs a number for {name}, not {value!r}.")
        written.append({"LineCreationSequenceNumber": sequence, "ProductDescription": spec["ProductDescription"],
                        "InvoicedQuantity": float(quantity), "SalesPrice": float(price),
                        "LineAmount": round(float(quantity) * float(price), 2),
                        "CurrencyCode": customer["SalesCurrencyCode"]})
    header = {"CurrencyCode": customer["SalesCurrencyCode"], **_billing(customer)}
    return _store(app, str(customer[COMPANY]), header, written, invoice_date, charges=0.0, header_tax=0.0)


def _customer(app: FinOpsEmulator, company: str, account: str) -> Row:
    customer = app.store.tables["CustTable"].get((company, account))
    if customer is None:
        raise PostingError(f"Customer {account} does not exist in company {company}.")
    return customer


def _billing(customer: Row) -> Row:
    return {"InvoiceCustomerAccountNumber": customer["CustomerAccount"], "PaymentTermsName": customer["PaymentTerms"],
            **{f"InvoiceAddress{part}": customer[f"InvoiceAddress{part}"] or customer[f"Address{part}"]
               for part in _ADDRESS}}


def _store(app: FinOpsEmulator, company: str, header: Row, lines: list[Row], invoice_date: date | None, *,
           charges: float, header_tax: float) -> tuple[Row, list[Row]]:
    key = {COMPANY: company, "InvoiceNumber": f"CIV-{app.next_number('CustInvoiceJour'):06d}",
           "InvoiceDate": stored_date(invoice_date or app.today()),
           "LedgerVoucher": f"SIV-{app.next_number('CustInvoiceVoucher'):06d}"}
    stored_lines = []
    for line in lines:
        row = {**INVOICE_LINE.blank_row(), **line, **key,
               "LineTotalTaxAmount": sales_tax(app, company, float(line["LineAmount"]))}
        stored_lines.append(app.store.tables[INVOICE_LINE.name].insert(row))
    amount = sum(float(line["LineAmount"]) for line in stored_lines)
    tax = round(sum(float(line["LineTotalTaxAmount"]) for line in stored_lines) + header_tax, 2)
    invoice = app.store.tables[INVOICE.name].insert({
        **INVOICE.blank_row(), **header, **key, "TotalChargeAmount": round(charges, 2),
        "InvoiceHeaderTaxAmount": round(header_tax, 2), "TotalTaxAmount": tax,
        "TotalDiscountAmount": round(sum(float(line["LineTotalDiscountAmount"]) for line in stored_lines), 2),
        "TotalInvoiceAmount": round(amount + charges + tax, 2)})
    return invoice, stored_lines
