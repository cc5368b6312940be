"""Entity logic the F&O application runs on write: number sequences, defaults from related records (initValue,
defaultRow), computed amounts, and the checks a generic foreign key cannot express.

Assumptions: generated numbers use per-company sequences ("000123"; customer accounts "US-001"; party numbers
are global, "000000123"); a line's LineAmount is quantity * (unit price - per-unit discount) + its fixed
charges; a quotation's total is recomputed, and the header stored anew (so its ETag changes), whenever a line
changes. Sales orders add their own logic (order_rules.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from connectors.emulators.finops.keys import stored_date
from connectors.emulators.finops.schema import COMPANY, EMPTY_DATE, TableSpec
from connectors.emulators.finops.tables import ADDRESS_PARTS, QUOTATION

if TYPE_CHECKING:
    from collections.abc import Callable

    from connectors.emulators.finops.app import FinOpsEmulator

Row = dict[str, object]


def fresh(row: Row) -> Row:
    """A copy to store as a new version (the store stamps `_version`)."""
    return {name: value for name, value in row.items() if name != "_version"}


def next_free(app: FinOpsEmulator, sequence: str, company: str | None, render: Callable[[int], str],
              taken: Callable[[str], bool]) -> str:
    """The next number of a sequence that no row holds yet (a manually entered number may have taken it)."""
    while True:
        candidate = render(app.next_number(sequence, company))
        if not taken(candidate):
            return candidate


def line_amount(line: Row, quantity: float, *, charges: bool = True) -> float:
    """What `quantity` of a quotation, order or invoice line comes to: quantity * (unit price - per-unit discount),
    plus the line's fixed charges. Assumption: the fixed charges (FixedPriceCharges, X++'s SalesMarkup: "fixed
    charges on price") count once, not per unit; Microsoft's template books the rounding of a per-unit discount
    there (p2c-templates 2.6)."""
    unit_price = float(line["SalesPrice"]) - float(line["LineDiscountAmount"])
    fixed = float(line.get("FixedPriceCharges") or 0) if charges else 0.0
    return round(quantity * unit_price + fixed, 2)


def party_number(app: FinOpsEmulator, company: str) -> str:
    """Parties (organizations, persons) are shared by all companies, so their sequence is global."""
    customers = app.store.tables["CustTable"]
    return next_free(app, "DirPartyTable", None, lambda n: f"{n:09d}",
                     lambda number: customers.find("party", (company, number)) is not None)


class Rules:
    """No entity logic: what reference tables get."""

    def prepare(self, app: FinOpsEmulator, row: Row, old: Row | None, changed: set[str]) -> None:
        """Fill generated, defaulted and computed fields before validation."""

    def check(self, app: FinOpsEmulator, row: Row) -> list[str]:
        """Infolog warnings beyond field types, mandatory fields and foreign keys."""
        return []

    def before_delete(self, app: FinOpsEmulator, row: Row) -> list[str]:
        return []

    def after_write(self, app: FinOpsEmulator, row: Row | None, old: Row | None) -> None:
        """Keep dependent rows current; `row` is None after a delete."""


class CustomerRules(Rules):
    def prepare(self, app: FinOpsEmulator, row: Row, old: Row | None, changed: set[str]) -> None:
        company = app.legal_entity(str(row[COMPANY]))
        if old is None:
            customers = app.store.tables["CustTable"]
            if not row["CustomerAccount"]:
                prefix = str(row[COMPANY])[:2].upper()
                row["CustomerAccount"] = next_free(app, "CustTable", str(row[COMPANY]), lambda n: f"{prefix}-{n:03d}",
                                                   lambda acc: customers.get((row[COMPANY], acc)) is not None)
            if not row["PartyNumber"]:
                row["PartyNumber"] = party_number(app, str(row[COMPANY]))
            row["PartyType"] = row["PartyType"] or "Organization"
            if company is not None:
                row["SalesCurrencyCode"] = row["SalesCurrencyCode"] or company["AccountingCurrency"]
                row["LanguageId"] = row["LanguageId"] or company["LanguageId"]
        if row["PartyType"] == "Person" and not row["OrganizationName"]:
            parts = (row["PersonFirstName"], row["PersonMiddleName"], row["PersonLastName"])
            row["OrganizationName"] = " ".join(str(part) for part in parts if part)
        if not row["NameAlias"]:
            row["NameAlias"] = str(row["OrganizationName"])[:20]

    def check(self, app: FinOpsEmulator, row: Row) -> list[str]:
        if row["PartyType"] not in ("Organization", "Person"):
            return [f"Warning: '{row['PartyType']}' is not a valid party type; use Organization or Person."]
        if row["PartyType"] == "Organization" and not row["OrganizationName"]:
            return ["Warning: Field 'Name' must be filled in."]
        if row["PartyType"] == "Person" and not (row["PersonFirstName"] or row["PersonLastName"]):
            return ["Warning: Field 'Last name' must be filled in."]
        return []


class ContactPersonRules(Rules):
    """A contact person names the customer it belongs to by party (CDSContactPersons, ContactPersons) or by
    type and account (CDSContactPersonsV2): whichever was written, the other is derived from the customer."""

    def prepare(self, app: FinOpsEmulator, row: Row, old: Row | None, changed: set[str]) -> None:
        company = str(row[COMPANY])
        customers = app.store.tables["CustTable"]
        if row["AssociatedContactType"] == "Customer":
            if row["AssociatedContactNumber"] and (old is None or "AssociatedContactNumber" in changed):
                customer = customers.get((company, row["AssociatedContactNumber"]))
                row["AssociatedPartyNumber"] = customer["PartyNumber"] if customer else ""
            elif row["AssociatedPartyNumber"]:
                customer = customers.find("party", (company, row["AssociatedPartyNumber"]))
                row["AssociatedContactNumber"] = customer["CustomerAccount"] if customer else ""
        if old is not None:
            return
        contacts = app.store.tables["ContactPerson"]
        if not row["ContactPersonPartyNumber"]:
            row["ContactPersonPartyNumber"] = party_number(app, company)
        if not row["ContactPersonId"]:
            row["ContactPersonId"] = next_free(app, "ContactPerson", company, lambda n: f"{n:06d}",
                                               lambda cid: contacts.get((company, cid)) is not None)

    def check(self, app: FinOpsEmulator, row: Row) -> list[str]:
        if row["AssociatedContactType"] != "Customer":
            return [f"Warning: The emulator models contact persons of customers only, not of "
                    f"'{row['AssociatedContactType']}'."]
        if not row["AssociatedPartyNumber"] and not row["AssociatedContactNumber"]:
            return ["Warning: Field 'Associated party' must be filled in."]
        return []


class ReleasedProductRules(Rules):
    def prepare(self, app: FinOpsEmulator, row: Row, old: Row | None, changed: set[str]) -> None:
        if old is None:
            row["ItemNumber"] = row["ItemNumber"] or row["ProductNumber"]
            row["SearchName"] = row["SearchName"] or str(row["ProductName"] or row["ProductNumber"])[:20]
            row["ProductSearchName"] = row["ProductSearchName"] or row["SearchName"]
            # Assumption: without units the product gets "ea", as the demo data's inventory parameters default it.
            row["InventoryUnitSymbol"] = row["InventoryUnitSymbol"] or row["SalesUnitSymbol"] or "ea"
            row["SalesUnitSymbol"] = row["SalesUnitSymbol"] or row["InventoryUnitSymbol"]
            row["PurchaseUnitSymbol"] = row["PurchaseUnitSymbol"] or row["InventoryUnitSymbol"]
            row["SalesPriceQuantity"] = row["SalesPriceQuantity"] or 1
            if "IsStockedProduct" not in changed:
                row["IsStockedProduct"] = "Yes" if row["ProductType"] == "Item" else "No"
        company = app.legal_entity(str(row[COMPANY]))
        row["CurrencyCode"] = company["AccountingCurrency"] if company else ""
        units = app.store.tables["UnitOfMeasure"]
        for prefix in ("Sales", "Inventory"):
            unit = units.get((row[f"{prefix}UnitSymbol"],))
            row[f"{prefix}UnitDecimalPrecision"] = unit["DecimalPrecision"] if unit else 0


class HeaderRules(Rules):
    """Sales quotation (and, through OrderRules, sales order) headers: a number, defaults from the customer, and
    what is derived from the lines."""

    def __init__(self, table: TableSpec, number: str, customer: str, lines: str, lines_index: str, total: str):
        self.table, self.number, self.customer = table, number, customer
        self.lines, self.lines_index, self.total = lines, lines_index, total

    def prepare(self, app: FinOpsEmulator, row: Row, old: Row | None, changed: set[str]) -> None:
        company = str(row[COMPANY])
        if old is None:
            if not row[self.number]:
                row[self.number] = self.new_number(app, company)
            customer = app.store.tables["CustTable"].get((company, row[self.customer]))
            if customer is not None:
                self._from_customer(row, customer)
            for name, days in (("SalesQuotationExpiryDate", 30), ("RequestedShippingDate", 0)):
                if row.get(name) == EMPTY_DATE:
                    row[name] = stored_date(app.today() + timedelta(days=days))
        self.derive(app, row, old, changed)

    def new_number(self, app: FinOpsEmulator, company: str) -> str:
        headers = app.store.tables[self.table.name]
        return next_free(app, self.table.name, company, lambda n: f"{n:06d}",
                         lambda number: headers.get((company, number)) is not None)

    def derive(self, app: FinOpsEmulator, row: Row, old: Row | None, changed: set[str]) -> None:
        """The values computed from the lines: a quotation's total."""
        row[self.total] = round(sum(float(line["LineAmount"]) for line in self.lines_of(app, row)), 2)

    def lines_of(self, app: FinOpsEmulator, row: Row) -> list[Row]:
        return app.store.tables[self.lines].find_all(self.lines_index, (row[COMPANY], row[self.number]))

    def _from_customer(self, row: Row, customer: Row) -> None:
        row["InvoiceCustomerAccountNumber"] = (row["InvoiceCustomerAccountNumber"] or customer["InvoiceAccount"]
                                               or customer["CustomerAccount"])
        row["CurrencyCode"] = row["CurrencyCode"] or customer["SalesCurrencyCode"]
        row["LanguageId"] = row["LanguageId"] or customer["LanguageId"]
        if "SalesOrderName" in row:
            row["SalesOrderName"] = row["SalesOrderName"] or str(customer["OrganizationName"])[:60]
        if not any(row[f"DeliveryAddress{mine}"] for mine, _ in ADDRESS_PARTS):
            row["DeliveryAddressName"] = row["DeliveryAddressName"] or str(customer["OrganizationName"])[:100]
            for mine, theirs in ADDRESS_PARTS:
                row[f"DeliveryAddress{mine}"] = customer[f"DeliveryAddress{theirs}"] or customer[f"Address{theirs}"]

    def before_delete(self, app: FinOpsEmulator, row: Row) -> list[str]:
        lines = self.lines_of(app, row)
        if not lines:
            return []
        caption = self.table.by_name[self.number].caption
        return [f"Warning: Cannot delete a record in {self.table.label} ({self.table.name}). {caption}: "
                f"{row[self.number]}. It has {len(lines)} lines; delete them first."]

    def recompute(self, app: FinOpsEmulator, company: object, number: object) -> None:
        """Store the header anew after one of its lines changed, when what it derives from them changed."""
        headers = app.store.tables[self.table.name]
        header = headers.get((company, number))
        if header is None:
            return
        updated = fresh(header)
        self.derive(app, updated, header, set())
        if updated != fresh(header):
            headers.replace(updated)


class LineRules(Rules):
    """Quotation and order lines: a lot id, the product's defaults, the line amount, the header's totals."""

    def __init__(self, header: HeaderRules, header_field: str, quantity: str):
        self.header, self.header_field, self.quantity = header, header_field, quantity

    def prepare(self, app: FinOpsEmulator, row: Row, old: Row | None, changed: set[str]) -> None:
        company = str(row[COMPANY])
        lines = app.store.tables[self.header.lines]
        product = self._product(app, row)
        if old is None:
            if not row["InventoryLotId"]:
                row["InventoryLotId"] = next_free(app, "InventTransId", company, lambda n: f"{n:06d}",
                                                  lambda lot: lines.get((company, lot)) is not None)
            if product is not None:
                row["SalesUnitSymbol"] = row["SalesUnitSymbol"] or product["SalesUnitSymbol"]
                row["ProductName"] = row["ProductName"] or product["ProductName"]
                row["LineDescription"] = row["LineDescription"] or product["ProductName"]
                if "SalesPrice" not in changed:
                    row["SalesPrice"] = product["SalesPrice"]
            if self.quantity not in changed:
                row[self.quantity] = 1
            if not row["LineCreationSequenceNumber"]:
                siblings = lines.find_all(self.header.lines_index, (company, row[self.header_field]))
                row["LineCreationSequenceNumber"] = max((int(s["LineCreationSequenceNumber"]) for s in siblings),
                                                        default=0) + 1
            if not row["CurrencyCode"]:
                header = app.store.tables[self.header.table.name].get((company, row[self.header_field]))
                row["CurrencyCode"] = header["CurrencyCode"] if header else ""
        row["LineAmount"] = line_amount(row, float(row[self.quantity]))

    @staticmethod
    def _product(app: FinOpsEmulator, row: Row) -> Row | None:
        products = app.store.tables["InventTable"]
        company = row[COMPANY]
        if row["ItemNumber"]:
            product = products.get((company, row["ItemNumber"]))
        elif row["ProductNumber"]:
            product = products.find("product", (company, row["ProductNumber"]))
            if product is not None:
                row["ItemNumber"] = product["ItemNumber"]
        else:
            return None
        if product is not None and not row["ProductNumber"]:
            row["ProductNumber"] = product["ProductNumber"]
        return product

    def check(self, app: FinOpsEmulator, row: Row) -> list[str]:
        if not row["ItemNumber"] and not row["ProductNumber"]:
            return ["Warning: Field 'Item number' must be filled in."]
        return []

    def after_write(self, app: FinOpsEmulator, row: Row | None, old: Row | None) -> None:
        headers = {(r[COMPANY], r[self.header_field]) for r in (row, old) if r is not None}
        for company, number in headers:
            self.header.recompute(app, company, number)


QUOTATION_RULES = HeaderRules(QUOTATION, "SalesQuotationNumber", "RequestingCustomerAccountNumber",
                              "SalesQuotationLine", "quotation", "QuotationTotalAmount")
