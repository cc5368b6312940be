"""Columns Dataverse (and the Prospect-to-cash solution's plug-ins) compute on every write: a contact's full name
and "company is an account" flag, line amounts, and a header's totals and "externally maintained products only".

Emulator behaviour written by hand (Microsoft does not publish these computations); every column it touches is
checked against the metadata at import.
"""

from __future__ import annotations

from connectors.emulators.dataverse import pricing
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.schema import DOCUMENT_LINES, ENTITY_SETS, LINE_SETS, EntitySet, require

Row = dict
TOTALS = ("totallineitemamount", "totalamount", "msdynce_hasexternallymaintainedproductsonly")
LINE_AMOUNTS = ("quantity", "priceperunit", "manualdiscountamount", "baseamount", "extendedamount",
                "isproductoverridden", "ispriceoverridden", "_productid_value", "_uomid_value", "sequencenumber")

require("contacts", "fullname", "firstname", "lastname", "msdynce_iscompanyanaccount", "_parentcustomerid_value")
require("products", "_defaultuomid_value", "price", "msdynce_ismaintainedexternally")
for _header, _ in DOCUMENT_LINES.items():
    require(_header, *TOTALS)
for _line in LINE_SETS:
    require(_line, *LINE_AMOUNTS)


def complete(records: Records, entity_set: EntitySet, row: Row) -> None:
    """Fill the computed columns of a row about to be stored (a new dict, never a stored one)."""
    name = entity_set.name
    if name == "contacts":
        row["fullname"] = " ".join(part for part in (row.get("firstname"), row.get("lastname")) if part) or None
        row["msdynce_iscompanyanaccount"] = row.get("_parentcustomerid_target") == "accounts"
    elif name in LINE_SETS:
        _complete_line(records, row, name)
    elif name in DOCUMENT_LINES:
        row.update(header_totals(records, entity_set, row))


def _complete_line(records: Records, row: Row, line_set: str) -> None:
    product = records.get("products", row["_productid_value"]) if row.get("_productid_value") else None
    if product is not None:
        if row.get("_uomid_value") is None:
            row["_uomid_value"] = product.get("_defaultuomid_value")
        if row.get("priceperunit") is None and not row.get("ispriceoverridden"):
            # An order or invoice line is priced from its document's price list (pricing.py), a quote line from
            # the product's list price.
            item = pricing.line_item(records, line_set, row) if line_set in pricing.PRICED_LINES else None
            row["priceperunit"] = item["amount"] if item is not None else product.get("price")
    row.setdefault("isproductoverridden", product is None)
    row.setdefault("ispriceoverridden", False)
    quantity, price = row.get("quantity") or 0.0, row.get("priceperunit") or 0.0
    row["baseamount"] = round(quantity * price, 2)
    row["extendedamount"] = round(row["baseamount"] - (row.get("manualdiscountamount") or 0.0), 2)


def next_line_number(records: Records, line_set: str, header_id: str) -> int:
    """The next sequence number on a header: one more than the highest used, as the UI numbers lines."""
    numbers = [line.get("sequencenumber") or 0 for line in records.lines_of(line_set, header_id)]
    return max(numbers, default=0) + 1


def header_totals(records: Records, header_set: EntitySet, header: Row) -> dict[str, object]:
    """The totals and the externally-maintained flag of a header, from its lines as stored now."""
    child = header_set.children[DOCUMENT_LINES[header_set.name]]
    lines = records.lines_of(child.entity_set, header[header_set.key])
    total = round(sum(line.get("extendedamount") or 0.0 for line in lines), 2)

    def external(line: Row) -> bool:
        product_id = line.get("_productid_value")
        product = records.get("products", product_id) if product_id else None
        return product is not None and product.get("msdynce_ismaintainedexternally") is True

    return {"totallineitemamount": total, "totalamount": total,
            "msdynce_hasexternallymaintainedproductsonly": bool(lines) and all(external(line) for line in lines)}


def refresh_header(records: Records, line_set: str, header_id: str | None, modifiedon: str) -> None:
    """Recompute a header after one of its lines changed; storing it bumps its version, as Dataverse does."""
    if header_id is None:
        return
    header_set, _ = LINE_SETS[line_set]
    header = records.get(header_set.name, header_id)
    if header is None:
        return
    totals = header_totals(records, header_set, header)
    if all(header.get(name) == value for name, value in totals.items()):
        return
    records.replace(header_set, {**header, **totals, "modifiedon": modifiedon})


def header_of(line_set: str) -> tuple[EntitySet, str]:
    """The header entity set of a line entity set and the line's field that points to it."""
    header_set, child = LINE_SETS[line_set]
    return ENTITY_SETS[header_set.name], child.value_field
