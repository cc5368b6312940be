"""Price lists as Dynamics 365 Sales uses them for orders and invoices, and as the Prospect to cash solution
fills them.

- A product line of an order or invoice is priced from the document's price list: its product must have a price
  list item there in the line's unit; a write-in line (`isproductoverridden`) needs none. Without `priceperunit`
  the line takes the item's amount (system pricing, which the P2C setup requires: UO-SO2, UO-INV).
- "Externally maintained products are automatically added to the first valid price list that has the same
  currency. Price lists are organized alphabetically by name. The product sales price ... is used as the price on
  the price list ... Product synchronization won't succeed unless there is a price list that has a matching
  currency" (UO-PRD): the solution's product plug-in (PostOperation Create/Update of product, P2CPKG).

Assumptions: what the platform does with a product line whose product is not in the price list is not in the
docs found; the line entities carry a pricing error choice with "Product Not In Price Level" (pricingerrorcode
11), and Sales' forms offer only the price list's products. The emulator refuses such a line, on every write of
it (Dataverse prices a line again when it changes), with InvalidArgument and a sentence naming the product, unit
and price list, so a sync that forgot the price list fails loudly. Quote lines are not held to it (their flow
runs from Sales, which priced them). A "valid" price list is an active one whose dates include today; a product
without a currency is in the base currency (exchange rate 1). The plug-in's refusal is an ISV-aborted error
(0x80040265, what a plug-in exception returns) in our words; it keeps the item in step on later changes of the
product's price, unit or currency.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from connectors.emulators.dataverse import errors
from connectors.emulators.dataverse.payload import to_utc_text
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.schema import ENTITY_SETS, require

Row = dict
PRICED_LINES = {"salesorderdetails": "salesorders", "invoicedetails": "invoices"}
NUMBERS = {"salesorders": "ordernumber", "invoices": "invoicenumber"}
_PRODUCT_PRICING = ("_transactioncurrencyid_value", "price", "_defaultuomid_value", "msdynce_ismaintainedexternally")

require("productpricelevels", "_pricelevelid_value", "_productid_value", "_uomid_value", "_uomscheduleid_value",
        "amount", "pricingmethodcode", "quantitysellingcode", "_transactioncurrencyid_value")
require("pricelevels", "name", "statecode", "begindate", "enddate", "_transactioncurrencyid_value")
require("products", *_PRODUCT_PRICING)


def plugin_error(message: str) -> errors.DataverseError:
    """What a plug-in's InvalidPluginExecutionException returns through the Web API (ISV aborted)."""
    return errors.DataverseError(400, "0x80040265", message)


def is_valid(price_list: Row, today: str) -> bool:
    return (price_list.get("statecode") == 0 and (price_list.get("begindate") or "")[:10] <= today
            and (price_list.get("enddate") or "9999")[:10] >= today)


def first_valid_price_list(records: Records, currency_id: str | None) -> Row | None:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    lists = [row for row in records.table("pricelevels").scan()
             if row.get("_transactioncurrencyid_value") == currency_id and is_valid(row, today)]
    return min(lists, key=lambda row: str(row.get("name")).casefold(), default=None)


def header_of(records: Records, line_set: str, line: Row) -> Row | None:
    """The order or invoice a line of it belongs to."""
    header_set = ENTITY_SETS[PRICED_LINES[line_set]]
    return records.get(header_set.name, line.get(f"_{header_set.key}_value"))


def line_item(records: Records, line_set: str, line: Row) -> Row | None:
    """The price list item a product line of an order or invoice is priced from, if there is one."""
    header = header_of(records, line_set, line)
    if header is None or not header.get("_pricelevelid_value") or not line.get("_productid_value"):
        return None
    return next((item for item in records.price_list_items(header["_pricelevelid_value"], line["_productid_value"])
                 if item.get("_uomid_value") == line.get("_uomid_value")), None)


def check_line(records: Records, line_set: str, line: Row) -> None:
    """Refuse a product line of an order or invoice whose product and unit are not in the document's price list."""
    if line_set not in PRICED_LINES or line.get("isproductoverridden") or not line.get("_productid_value"):
        return
    header_set = ENTITY_SETS[PRICED_LINES[line_set]]
    header = header_of(records, line_set, line) or {}
    product = records.get("products", line["_productid_value"]) or {}
    unit = records.get("uoms", line.get("_uomid_value")) or {}
    what = f"The product '{product.get('productnumber')}' in unit '{unit.get('name')}'"
    price_list = records.get("pricelevels", header.get("_pricelevelid_value"))
    if price_list is None:
        raise errors.invalid_argument(f"{what} cannot be priced: the {header_set.logical} "
                                      f"'{header.get(NUMBERS[header_set.name])}' has no price list.")
    if not is_valid(price_list, datetime.now(UTC).strftime("%Y-%m-%d")):
        raise errors.invalid_argument(f"{what} cannot be priced: the price list '{price_list.get('name')}' is "
                                      "inactive or out of its dates.")
    if line_item(records, line_set, line) is None:
        raise errors.invalid_argument(f"{what} is not in the price list '{price_list.get('name')}' of the "
                                      f"{header_set.logical} '{header.get(NUMBERS[header_set.name])}'. Add a price "
                                      "list item for it, or make the line a write-in product (isproductoverridden).")


def keep_product_priced(records: Records, product: Row, old: Row | None) -> None:
    """The P2C product plug-in: an externally maintained product gets (or keeps) an item at its price in the first
    valid price list of its currency; without one the product's write fails."""
    if product.get("msdynce_ismaintainedexternally") is not True:
        return
    if old is not None and all(product.get(column) == old.get(column) for column in _PRODUCT_PRICING):
        return
    currency_id = product.get("_transactioncurrencyid_value") or _base_currency(records)
    price_list = first_valid_price_list(records, currency_id)
    if price_list is None:
        currency = records.get("transactioncurrencies", currency_id) or {}
        raise plugin_error(f"Product '{product.get('productnumber')}' cannot be added to a price list: Sales has no "
                           f"valid price list in the currency '{currency.get('isocurrencycode')}'. Create one.")
    items = records.price_list_items(price_list["pricelevelid"], product["productid"])
    item = next((row for row in items if row.get("_uomid_value") == product.get("_defaultuomid_value")), None)
    if item is None:
        add_item(records, price_list, product, float(product.get("price") or 0), product.get("_defaultuomid_value"))
    elif item.get("amount") != float(product.get("price") or 0):
        stored = {**item, "amount": float(product.get("price") or 0), "modifiedon": _now()}
        stored.pop("_version", None)
        records.replace(ENTITY_SETS["productpricelevels"], stored)


def add_item(records: Records, price_list: Row, product: Row, amount: float, unit_id: str | None) -> Row:
    """A price list item in currency amount, with no quantity control: what the plug-in and the control API add."""
    now = _now()
    return records.insert(ENTITY_SETS["productpricelevels"], {
        "productpricelevelid": str(uuid.uuid4()), "_pricelevelid_value": price_list["pricelevelid"],
        "_productid_value": product["productid"], "_uomid_value": unit_id,
        "_uomscheduleid_value": product.get("_defaultuomscheduleid_value"), "amount": round(amount, 2),
        "pricingmethodcode": 1, "quantitysellingcode": 1,
        "_transactioncurrencyid_value": price_list.get("_transactioncurrencyid_value"),
        "createdon": now, "modifiedon": now})


def _base_currency(records: Records) -> str | None:
    return next((row["transactioncurrencyid"] for row in records.table("transactioncurrencies").scan()
                 if row.get("exchangerate") == 1.0), None)


def _now() -> str:
    return to_utc_text(datetime.now(UTC))
