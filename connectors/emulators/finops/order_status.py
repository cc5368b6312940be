"""A sales order's statuses, derived as F&O derives them from what has been posted: each line's status from its
ordered, delivered and invoiced quantities; the header's status from its lines; the processing status from the
header's status and its document status, exactly as Microsoft's status table lists them (p2c-templates 6.3,
DW-sales-status-map):

| Processing status   | Status     | Document status |
|---------------------|------------|-----------------|
| Active              | Open order | None            |
| Confirmed           | Open order | Confirmation    |
| Picked              | Open order | Picking list    |
| Partially delivered | Open order | Packing slip    |
| Delivered           | Delivered  | Packing slip    |
| Partially invoiced  | Delivered  | Invoice         |
| Invoiced            | Invoiced   | Invoice         |
| Cancelled           | Cancelled  | n/a             |

"Open order" is the SalesStatus member Backorder. The document status is the most recent document posted and
never goes back ("if a sales order is partially invoiced, and then the remaining line is confirmed, the document
status remains Invoice"). Assumptions: an open order (some line not fully delivered) whose document status is
Invoice is Partially invoiced too, as the table's Sales-side twin lists it ("Partially Invoiced | Active | Open
Order"); the enum's DeliveredPartiallyInvoiced, which no table lists, is never given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Row = Mapping[str, object]
DOCUMENT_STATUSES = ("None", "Confirmation", "PickingList", "PackingSlip", "Invoice")
_PROCESSING = {"None": "Active", "Confirmation": "Confirmed", "PickingList": "Picked"}


def later_document(current: object, posted: str) -> str:
    """The document status after posting `posted`: the later of the two."""
    now = str(current) if current in DOCUMENT_STATUSES else "None"
    return max(now, posted, key=DOCUMENT_STATUSES.index)


def line_status(line: Row, *, canceled: bool = False) -> str:
    """Backorder while anything is left to deliver, Delivered until all is invoiced, then Invoiced."""
    if canceled:
        return "Canceled"
    ordered = float(line["OrderedSalesQuantity"] or 0)
    if ordered > 0 and float(line.get("InvoicedQuantity") or 0) >= ordered:
        return "Invoiced"
    if ordered > 0 and float(line.get("DeliveredQuantity") or 0) >= ordered:
        return "Delivered"
    return "Backorder"


def header_status(statuses: Iterable[str]) -> str:
    """The least advanced status of the lines that are not canceled; Canceled when every line is."""
    statuses = list(statuses)
    active = [status for status in statuses if status != "Canceled"]
    if not statuses:
        return "Backorder"  # an order without lines is open
    if not active:
        return "Canceled"
    for status in ("Backorder", "Delivered"):
        if status in active:
            return status
    return "Invoiced"


def processing_status(status: str, document_status: object) -> str:
    """The SalesOrderProcessingStatus member for a header status and document status (the table above)."""
    if status == "Canceled":
        return "Canceled"
    document = str(document_status) if document_status in DOCUMENT_STATUSES else "None"
    if document in _PROCESSING:
        return _PROCESSING[document]
    if document == "PackingSlip":
        return "Delivered" if status in ("Delivered", "Invoiced") else "PartiallyDelivered"
    return "Invoiced" if status == "Invoiced" else "PartiallyInvoiced"
