"""Order and invoice numbers of the two emulators never overlap: Sales numbers ORD-/INV-01000-ABCDEF, F&O numbers
from its own SO-/CIV- sequences ("use non-overlapping sequences", p2c-templates 6.4), so a document that keeps its
number on the other side cannot collide with one created there."""

from __future__ import annotations

import re


def test_sales_and_finops_numbers_never_overlap(dataverse, finops):
    dataverse.seed(salesorders=15, invoices=15)
    finops.seed(CDSSalesOrderHeaders=15, SalesInvoiceHeadersV2=5)
    sales_orders = {row["ordernumber"] for row in dataverse.rows("salesorders", **{"$select": "ordernumber"})}
    sales_invoices = {row["invoicenumber"] for row in dataverse.rows("invoices", **{"$select": "invoicenumber"})}
    fo_orders = {row["SalesOrderNumber"] for row in finops.rows("CDSSalesOrderHeaders", **{"cross-company": "true"})}
    fo_invoices = {row["InvoiceNumber"] for row in finops.rows("SalesInvoiceHeadersV2", **{"cross-company": "true"})}
    assert len(fo_orders) == 20
    assert len(sales_orders) == 15
    assert all(re.fullmatch(r"ORD-\d{5}-[A-Z]{6}", number) for number in sales_orders)
    assert all(re.fullmatch(r"INV-\d{5}-[A-Z]{6}", number) for number in sales_invoices)
    assert all(re.fullmatch(r"SO-\d{6}", number) for number in fo_orders)
    assert all(re.fullmatch(r"CIV-\d{6}", number) for number in fo_invoices)
    assert not (sales_orders | sales_invoices) & (fo_orders | fo_invoices)
