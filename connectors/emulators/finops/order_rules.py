"""The entity logic of sales orders and their lines, and what keeps an order's derived values current after a
write through OData or a posting (orders.py).

An order's statuses are F&O's, derived from what was posted (order_status.py); its totals are those "Calculate
sales totals" stored last: creating or changing an order or a line sets AreTotalsUpdated to No until the totals
are calculated again ("After a sales order is created or modified, the Calculate sales totals batch job ... must
be run. Only sales orders where sales totals are calculated will be synchronized to Sales", UO-SO2). The CDS line
entity repeats some of its header's values (processing status, the customers' externally-maintained flags, the
sales origin type, whether the order's totals are up to date), so a template's line task filters as its header
task does; they are stored on the lines and kept in step.

Assumptions: statuses, totals and the values derived from the customers and the sales origin are the
application's: a value a client writes to one of them is replaced, not stored. A line cannot be reduced below,
nor deleted after, what was delivered of it (the Infolog wording is ours).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.emulators.finops.order_status import header_status, line_status, processing_status
from connectors.emulators.finops.rules import HeaderRules, LineRules, fresh, next_free
from connectors.emulators.finops.schema import COMPANY
from connectors.emulators.finops.tables import ORDER, ORDER_LINE

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

Row = dict[str, object]
ORDER_COMPUTED = ("SalesOrderStatus", "SalesOrderProcessingStatus", "AreTotalsUpdated", "OrderTotalAmount",
                  "OrderTotalTaxAmount", "OrderTotalChargesAmount", "OrderTotalDiscountAmount",
                  "OrderHeaderTaxAmount", "OrderingCustomerIsExternallyMaintained",
                  "InvoiceCustomerIsExternallyMaintained", "SalesOrderOriginType")
# The header values a CDS order line repeats: line column <- header column.
REPEATED = {"SalesOrderProcessingStatus": "SalesOrderProcessingStatus",
            "OrderingCustomerIsExternallyMaintained": "OrderingCustomerIsExternallyMaintained",
            "InvoiceCustomerIsExternallyMaintained": "InvoiceCustomerIsExternallyMaintained",
            "SalesOrderOriginType": "SalesOrderOriginType", "AreSalesOrderTotalsUpdated": "AreTotalsUpdated"}
LINE_TOTALS = ("TotalTaxAmount", "TotalChargesAmount", "TotalDiscountAmount", "AreTotalsCalculated")
LINE_COMPUTED = ("SalesOrderLineStatus", *LINE_TOTALS, *REPEATED)


def order_number(app: FinOpsEmulator) -> str:
    """Assumption: the sales order number sequence is shared by every company and reads SO-######, so numbers are
    unique across legal entities, as data synced to Sales must be (CDS-DI), and never overlap Sales' own
    ORD-01000-ABCDEF numbers ("use non-overlapping sequences", DW-dual-write-prospect-to-cash)."""
    orders = app.store.tables[ORDER.name]
    companies = [row["LegalEntityId"] for row in app.store.tables["CompanyInfo"].scan()]
    return next_free(app, ORDER.name, None, lambda n: f"SO-{n:06d}",
                     lambda number: any(orders.get((company, number)) is not None for company in companies))


def order_lines(app: FinOpsEmulator, order: Row) -> list[Row]:
    return app.store.tables[ORDER_LINE.name].find_all("order", (order[COMPANY], order["SalesOrderNumber"]))


def derive_statuses(order: Row, lines: list[Row]) -> None:
    """Set the header's status and processing status from its lines' statuses and its document status."""
    status = header_status(str(line["SalesOrderLineStatus"]) for line in lines)
    order["SalesOrderStatus"] = status
    order["SalesOrderProcessingStatus"] = processing_status(status, order["DocumentStatus"])


def repeated(order: Row) -> dict[str, object]:
    return {line_column: order[header_column] for line_column, header_column in REPEATED.items()}


def repeat_on_lines(app: FinOpsEmulator, order: Row) -> None:
    """Store anew the lines whose repeated header values differ from the header's."""
    wanted = repeated(order)
    lines = app.store.tables[ORDER_LINE.name]
    for line in order_lines(app, order):
        if any(line.get(column) != value for column, value in wanted.items()):
            lines.replace({**fresh(line), **wanted})


def store_order(app: FinOpsEmulator, order: Row) -> Row:
    """Store a changed header with the statuses its lines give it, and keep the lines' copies in step."""
    derive_statuses(order, order_lines(app, order))
    stored = app.store.tables[ORDER.name].replace(order)
    repeat_on_lines(app, stored)
    return stored


class OrderRules(HeaderRules):
    """Sales order headers: a shared SO- number sequence, the customers' flags, the origin's type, statuses from
    the lines, and totals that wait for Calculate sales totals."""

    def new_number(self, app: FinOpsEmulator, company: str) -> str:
        return order_number(app)

    def derive(self, app: FinOpsEmulator, row: Row, old: Row | None, changed: set[str]) -> None:
        for column in ORDER_COMPUTED:
            row[column] = old[column] if old is not None else self.table.by_name[column].default
        row["DocumentStatus"] = row["DocumentStatus"] or "None"
        company = row[COMPANY]
        customers = app.store.tables["CustTable"]
        for flag, account in (("OrderingCustomerIsExternallyMaintained", "OrderingCustomerAccountNumber"),
                              ("InvoiceCustomerIsExternallyMaintained", "InvoiceCustomerAccountNumber")):
            customer = customers.get((company, row[account]))
            row[flag] = customer["IsExternallyMaintained"] if customer else "No"
        origin = app.store.tables["SalesOrigin"].get((company, row["SalesOrderOriginCode"]))
        row["SalesOrderOriginType"] = origin["OriginType"] if origin else "NotSpecified"
        row["AreTotalsUpdated"] = "No"  # created or changed: the totals wait for Calculate sales totals
        derive_statuses(row, self.lines_of(app, row))

    def after_write(self, app: FinOpsEmulator, row: Row | None, old: Row | None) -> None:
        if row is not None:
            repeat_on_lines(app, row)

    def recompute(self, app: FinOpsEmulator, company: object, number: object) -> None:
        super().recompute(app, company, number)
        order = app.store.tables[ORDER.name].get((company, number))
        if order is not None:
            repeat_on_lines(app, order)


class OrderLineRules(LineRules):
    """Order lines: the line's status from what was posted of it, and its header's values as the header will
    read once this write is stored (so a created line's ETag is final)."""

    def prepare(self, app: FinOpsEmulator, row: Row, old: Row | None, changed: set[str]) -> None:
        super().prepare(app, row, old, changed)
        for column in LINE_COMPUTED:
            row[column] = old[column] if old is not None else ORDER_LINE.by_name[column].default
        row["SalesOrderLineStatus"] = line_status(row, canceled=row["SalesOrderLineStatus"] == "Canceled")
        row["AreTotalsCalculated"] = "No"
        header = app.store.tables[ORDER.name].get((row[COMPANY], row["SalesOrderNumber"]))
        if header is not None:
            siblings = [line for line in order_lines(app, header) if line["InventoryLotId"] != row["InventoryLotId"]]
            future = {**fresh(header), "AreTotalsUpdated": "No"}
            derive_statuses(future, [*siblings, row])
            row.update(repeated(future))

    def check(self, app: FinOpsEmulator, row: Row) -> list[str]:
        delivered = float(row["DeliveredQuantity"])
        if float(row["OrderedSalesQuantity"]) < delivered:
            return [f"Warning: The quantity of line {row['LineCreationSequenceNumber']} of sales order "
                    f"{row['SalesOrderNumber']} cannot be less than the {delivered:g} already delivered."]
        return super().check(app, row)

    def before_delete(self, app: FinOpsEmulator, row: Row) -> list[str]:
        if float(row["DeliveredQuantity"]) or float(row["InvoicedQuantity"]):
            return [f"Warning: Line {row['LineCreationSequenceNumber']} of sales order {row['SalesOrderNumber']} "
                    "has been delivered or invoiced and cannot be deleted."]
        return []


ORDER_RULES = OrderRules(ORDER, "SalesOrderNumber", "OrderingCustomerAccountNumber", "SalesLine", "order",
                         "OrderTotalAmount")
ORDER_LINE_RULES = OrderLineRules(ORDER_RULES, "SalesOrderNumber", "OrderedSalesQuantity")
