"""Sales orders and invoices as Dynamics 365 Sales with the Prospect to cash solution keeps them.

- Required: `name`, `customerid` and `pricelevelid` (ApplicationRequired in the metadata, NOTES 2); the
  transaction currency is the price list's when the body names none, and must be the price list's when it does.
  A line takes its header's currency.
- Closed documents: an order that is Canceled, Fulfilled or Invoiced and an invoice that is Paid or Canceled
  take no edit of another column, nor of their lines, unless the same request moves them back to an editable
  state. Sources: the P2C order template keeps Sales orders Active "to help guarantee that changes from Supply
  Chain Management can flow to the sales order in Sales" and tells you to default statecode to Active (UO-SO2),
  which a closed order's update needs; the error "Cannot Update a Read-Only Entity" on such records is reported
  from the platform (markcarrington.dev, "MSDyn365 Internals: Read-only sales entities", 2023). Microsoft's
  reference pages do not state the rule.
- The solution's plug-ins: an order created in Sales starts with processing status Draft ("the initial status
  when an order is created in Sales", UO-SO2); an order "can not contain more than one Freight tax" (P2CPKG);
  when an invoice linked to an order arrives, the order's status becomes Invoiced and the order's owner owns the
  invoice (UO-INV: "The Sales order status value is automatically changed to Invoiced when the related invoice
  from Supply Chain Management has been synchronized to Sales").

Assumptions: requiring name, customer and price list through the Web API is the emulator's (Sales needs them to
price a document; the platform leaves ApplicationRequired to forms); the codes and wording of the refusals other
than the plug-in's Freight Tax message are ours; a Freight Tax line is a write-in line whose productdescription is
"Freight Tax"; the invoice plug-in acts on any invoice linked to an order, in the invoice's own request, and the
emulator, having no users, gives the invoice the order's owning business unit.
"""

from __future__ import annotations

from connectors.emulators.dataverse import errors
from connectors.emulators.dataverse.pricing import NUMBERS, header_of, plugin_error
from connectors.emulators.dataverse.pricing import PRICED_LINES as LINES
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.schema import ENTITY_SETS, EntitySet, require

Row = dict
READ_ONLY_STATES = {"salesorders": frozenset({2, 3, 4}), "invoices": frozenset({2, 3})}
REQUIRED = ("name", "customerid", "pricelevelid")
DRAFT = 647390011  # msdynce_processingstatus "Draft"
INVOICED = (4, 100003)  # salesorder statecode Invoiced, statuscode Invoiced
_STATE = frozenset({"statecode", "statuscode"})

for _set in READ_ONLY_STATES:
    require(_set, "name", "_customerid_value", "_pricelevelid_value", "_transactioncurrencyid_value", "statecode")
for _line in LINES:
    require(_line, "_transactioncurrencyid_value", "isproductoverridden", "productdescription")
require("salesorders", "msdynce_processingstatus")
require("invoices", "_salesorderid_value", "_owningbusinessunit_value")


def prepare(records: Records, entity_set: EntitySet, values: dict, existing: Row | None) -> None:
    """Defaults a create or update body gets before the row is built."""
    name = entity_set.name
    if name in READ_ONLY_STATES:
        price_list = records.get("pricelevels", values.get("_pricelevelid_value"))
        if price_list is not None and not values.get("_transactioncurrencyid_value") and not (
                existing and existing.get("_transactioncurrencyid_value")):
            values["_transactioncurrencyid_value"] = price_list.get("_transactioncurrencyid_value")
    if name == "salesorders" and existing is None and values.get("msdynce_processingstatus") is None:
        values["msdynce_processingstatus"] = DRAFT
    if name == "invoices" and values.get("_salesorderid_value"):
        order = records.get("salesorders", values["_salesorderid_value"]) or {}
        if order.get("_owningbusinessunit_value"):
            values["_owningbusinessunit_value"] = order["_owningbusinessunit_value"]
            values["_owningbusinessunit_target"] = "businessunits"
    if name in LINES and not values.get("_transactioncurrencyid_value") and existing is None:
        header = header_of(records, name, values) or {}
        if header.get("_transactioncurrencyid_value"):
            values["_transactioncurrencyid_value"] = header["_transactioncurrencyid_value"]


def check_write(records: Records, entity_set: EntitySet, row: Row, existing: Row | None, values: dict) -> None:
    """Refuse a create (existing None) or update Sales would refuse; `row` is what would be stored."""
    name = entity_set.name
    if name in READ_ONLY_STATES:
        if existing is None:
            for column in REQUIRED:
                field = entity_set.lookups[column].value_field if column in entity_set.lookups else column
                if row.get(field) in (None, ""):
                    raise errors.DataverseError(400, "0x80040200", f"Required field missing. Dynamics 365 Sales "
                                                f"needs the '{column}' of a {entity_set.logical}, which has none.")
        else:
            _check_editable(entity_set, existing, set(values) - _STATE, values.get("statecode"))
        price_list = records.get("pricelevels", row.get("_pricelevelid_value")) or {}
        if price_list and price_list.get("_transactioncurrencyid_value") != row.get("_transactioncurrencyid_value"):
            raise errors.invalid_argument(f"The currency of the price list '{price_list.get('name')}' is not the "
                                          f"currency of the {entity_set.logical} '{row.get(NUMBERS[name])}'.")
    if name in LINES:
        header = header_of(records, name, row)
        if header is not None:
            _check_editable(ENTITY_SETS[LINES[name]], header, {"lines"}, None)
        if name == "salesorderdetails" and _is_freight_tax(row):
            others = [line for line in records.lines_of(name, row.get("_salesorderid_value"))
                      if line["salesorderdetailid"] != row["salesorderdetailid"] and _is_freight_tax(line)]
            if others:
                raise plugin_error("Sales order can not contain more than one Freight tax")


def check_delete(records: Records, entity_set: EntitySet, row: Row) -> None:
    if entity_set.name in LINES:
        header = header_of(records, entity_set.name, row)
        if header is not None:
            _check_editable(ENTITY_SETS[LINES[entity_set.name]], header, {"lines"}, None)


def after_write(records: Records, entity_set: EntitySet, stored: Row | None, old: Row | None) -> None:
    """The P2C invoice plug-in: the order an invoice is linked to becomes Invoiced."""
    if entity_set.name != "invoices" or stored is None:
        return
    order_id = stored.get("_salesorderid_value")
    if not order_id or (old is not None and old.get("_salesorderid_value") == order_id):
        return
    order = records.get("salesorders", order_id)
    if order is None or (order.get("statecode"), order.get("statuscode")) == INVOICED:
        return
    updated = {**order, "statecode": INVOICED[0], "statuscode": INVOICED[1], "modifiedon": stored["modifiedon"]}
    updated.pop("_version", None)
    records.replace(ENTITY_SETS["salesorders"], updated)


def _check_editable(entity_set: EntitySet, record: Row, edited: set[str], new_state: object) -> None:
    states = READ_ONLY_STATES[entity_set.name]
    state = record.get("statecode")
    if state not in states or not edited or (new_state is not None and new_state not in states):
        return
    label = entity_set.states[state].label if entity_set.states and state in entity_set.states else state
    what = "its lines" if edited == {"lines"} else ", ".join(sorted(column.lstrip("_").removesuffix("_value")
                                                                     for column in edited
                                                                     if not column.endswith("_target")))
    raise errors.invalid_argument(f"Cannot Update a Read-Only Entity: the {entity_set.logical} "
                                  f"'{record.get(NUMBERS[entity_set.name])}' is {label}, so {what} cannot change "
                                  "unless the same request sets it back to an editable state (statecode).")


def _is_freight_tax(line: Row) -> bool:
    return bool(line.get("isproductoverridden")) and str(line.get("productdescription") or "").strip().casefold() \
        == "freight tax"
