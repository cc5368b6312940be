"""Reference data (after every reset) and seeded business data, deterministic for a seed.

Seeded rows are built valid and inserted directly, so 100,000 customers take seconds; they draw numbers from
the same sequences as API creates, so later creates never collide with them. Products come from the catalog
shared with the Sales emulator and are released in both companies, priced in each company's currency.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from connectors.emulators.fakedata import LEGAL_ENTITIES, UNITS, Faker, product_catalog
from connectors.emulators.finops import invoicing, orders
from connectors.emulators.finops.keys import stored_date
from connectors.emulators.finops.order_rules import order_lines, order_number, repeat_on_lines
from connectors.emulators.finops.schema import COMPANY, TableSpec
from connectors.emulators.finops.tables import (
    ADDRESS_PARTS,
    CONTACT_PERSON,
    CURRENCY,
    CUSTOMER,
    CUSTOMER_GROUP,
    LEGAL_ENTITY,
    ORDER,
    ORDER_LINE,
    PAYMENT_METHOD,
    PAYMENT_TERM,
    QUOTATION,
    QUOTATION_LINE,
    RELEASED_PRODUCT,
    SALES_ORIGIN,
    UNIT,
)

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

Row = dict[str, object]
_LANGUAGES = {"usmf": "en-us", "demf": "de"}
_ISO2 = {"USA": "US", "CAN": "CA", "DEU": "DE", "GBR": "GB", "FRA": "FR", "NLD": "NL"}
_CURRENCIES = (("USD", "US Dollar", "$"), ("EUR", "Euro", "€"), ("GBP", "Pound Sterling", "£"),
               ("CAD", "Canadian Dollar", "$"))
_GROUPS = (("10", "Wholesale customers", "Net30"), ("20", "Major customers", "Net45"),
           ("30", "Retail customers", "Net10"), ("90", "Intercompany customers", "Net30"))
_TERMS = (("Net10", "Net 10 days", 10), ("Net30", "Net 30 days", 30), ("Net45", "Net 45 days", 45))
_PAYMENT_METHODS = (("CHECK", "Check"), ("ELECTRONIC", "Electronic payment"))
_EUR_PER_USD = 0.92
_EPOCH = date(2024, 1, 1)
_STAGES = ("Active", "Active", "Confirmed", "Confirmed", "Confirmed", "Delivered", "PartiallyInvoiced", "Invoiced",
           "Invoiced", "Invoiced")
_SALES_TAX_PERCENT = {"usmf": 8.0, "demf": 19.0}


def _insert(app: FinOpsEmulator, spec: TableSpec, values: Row) -> Row:
    row = spec.blank_row()
    row.update(values)
    return app.store.tables[spec.name].insert(row)


def reference_data(app: FinOpsEmulator) -> None:
    for entity in LEGAL_ENTITIES:
        company = entity["dataAreaId"]
        _insert(app, LEGAL_ENTITY, {"LegalEntityId": company, "Name": entity["Name"],
                                    "AccountingCurrency": entity["CurrencyCode"],
                                    "AddressCountryRegionId": entity["CountryRegion"],
                                    "LanguageId": _LANGUAGES.get(company, "en-us"),
                                    "SalesTaxPercent": _SALES_TAX_PERCENT.get(company, 0.0)})
        # The origin Microsoft's setup creates for orders from Sales (UO-SO2: "SalesOrder", "Sales Order from
        # Sales", type Sales order integration).
        _insert(app, SALES_ORIGIN, {COMPANY: company, "OriginId": "SalesOrder", "Description": "Sales Order from Sales",
                                    "OriginType": "SalesOrderIntegration"})
        for name, description, days in _TERMS:
            _insert(app, PAYMENT_TERM, {COMPANY: company, "Name": name, "Description": description,
                                        "NumberOfDays": days})
        for name, description in _PAYMENT_METHODS:
            _insert(app, PAYMENT_METHOD, {COMPANY: company, "Name": name, "Description": description})
        for group, description, terms in _GROUPS:
            _insert(app, CUSTOMER_GROUP, {COMPANY: company, "CustomerGroupId": group, "Description": description,
                                          "PaymentTermId": terms, "ClearingPeriodPaymentTermName": terms})
    for code, name, symbol in _CURRENCIES:
        _insert(app, CURRENCY, {"CurrencyCode": code, "Name": name, "Symbol": symbol})
    for symbol, description, decimals in UNITS:
        _insert(app, UNIT, {"UnitSymbol": symbol, "UnitDescription": description, "DecimalPrecision": decimals})


def seed(app: FinOpsEmulator, counts: dict[str, int], seed_value: int) -> dict[str, int]:
    """Seed the entity sets named in `counts` (KeyError for any other), in dependency order."""
    unknown = set(counts) - set(_SEEDERS)
    if unknown:
        raise KeyError(sorted(unknown)[0])
    created: dict[str, int] = {}
    for name, seeder in _SEEDERS.items():
        if counts.get(name):
            seeder(_Seeding(app, Faker(f"finops-{seed_value}-{name}"), seed_value, created), counts[name])
    return {name: n for name, n in created.items() if n}


class _Seeding:
    """One seed call: the app, a seeded faker, and the tally of what was created."""

    def __init__(self, app: FinOpsEmulator, faker: Faker, seed_value: int, created: dict[str, int]):
        self.app, self.faker, self.seed_value, self.created = app, faker, seed_value, created

    def add(self, spec: TableSpec, entity_set: str, values: Row) -> Row:
        self.created[entity_set] = self.created.get(entity_set, 0) + 1
        return _insert(self.app, spec, values)

    def number(self, sequence: str, company: str | None, width: int = 6) -> str:
        return f"{self.app.next_number(sequence, company):0{width}d}"

    def rows(self, spec: TableSpec, company: str, keep: Callable[[Row], bool] = lambda row: True) -> list[Row]:
        """The company's rows of a table (a contiguous key range), those `keep` accepts."""
        found = []
        for row in self.app.store.tables[spec.name].scan((company,)):
            if row[COMPANY] != company:
                break
            if keep(row):
                found.append(row)
        return found

    def day(self, low: int, high: int) -> str:
        return stored_date(_EPOCH + timedelta(days=self.faker.integer(low, high)))


def _companies() -> list[tuple[str, str, str]]:
    return [(e["dataAreaId"], e["CurrencyCode"], e["CountryRegion"]) for e in LEGAL_ENTITIES]


def _products(run: _Seeding, count: int) -> None:
    table = run.app.store.tables[RELEASED_PRODUCT.name]
    for spec in product_catalog(run.seed_value, count):
        for company, currency, _ in _companies():
            if table.get((company, spec.number)) is not None:
                continue
            rate = 1 if currency == "USD" else _EUR_PER_USD
            decimals = next(d for symbol, _, d in UNITS if symbol == spec.unit)
            run.add(RELEASED_PRODUCT, "SellableReleasedProducts", {
                COMPANY: company, "ItemNumber": spec.number, "ProductNumber": spec.number, "ProductName": spec.name,
                "ProductDescription": spec.description, "ProductType": "Service" if spec.service else "Item",
                "ProductSubType": "Product", "SearchName": spec.name[:20], "ProductSearchName": spec.name[:20],
                "ProductGroupId": "Services" if spec.service else "Audio", "ItemModelGroupId": "FIFO",
                "StorageDimensionGroupName": "SiteWH", "TrackingDimensionGroupName": "None",
                "InventoryUnitSymbol": spec.unit, "SalesUnitSymbol": spec.unit, "PurchaseUnitSymbol": spec.unit,
                "InventoryUnitDecimalPrecision": decimals, "SalesUnitDecimalPrecision": decimals,
                "CurrencyCode": currency, "SalesPrice": round(spec.price * rate, 2), "SalesPriceQuantity": 1,
                "PurchasePrice": round(spec.cost * rate, 2), "UnitCost": round(spec.cost * rate, 2),
                "IsSalesStopped": "No", "IsStockedProduct": "No" if spec.service else "Yes",
                "SalesSalesTaxItemGroupCode": "ALL", "PurchaseSalesTaxItemGroupCode": "ALL"})


def _customers(run: _Seeding, count: int, *, companies: list | None = None, external: bool | None = None) -> None:
    faker = run.faker
    companies = companies or _companies()
    for n in range(count):
        company, currency, country = companies[n % len(companies)]
        address = faker.address(country if faker.chance(0.85) else None)
        iso2 = _ISO2.get(address["country_iso3"], "")
        first, last = faker.person()
        person = faker.chance(0.1)
        name = f"{first} {last}" if person else faker.company()
        email = faker.email(first, last, faker.domain(name))
        account = f"{company[:2].upper()}-{run.app.next_number('CustTable', company):03d}"
        maintained = external if external is not None else faker.chance(0.25)
        values: Row = {
            COMPANY: company, "CustomerAccount": account, "PartyNumber": run.number("DirPartyTable", None, 9),
            "PartyType": "Person" if person else "Organization", "OrganizationName": name,
            "NameAlias": name[:20], "PersonFirstName": first if person else "",
            "PersonLastName": last if person else "",
            "CustomerGroupId": faker.choice(("10", "20", "30")), "SalesCurrencyCode": currency,
            "PaymentTerms": faker.choice(("Net10", "Net30", "Net45")),
            "CreditLimit": faker.choice((0, 5000, 10000, 25000, 50000)), "PrimaryContactEmail": email,
            "PrimaryContactPhone": faker.phone(), "LanguageId": _LANGUAGES.get(company, "en-us"),
            "SiteId": "1", "WarehouseId": "13", "OnHoldStatus": "No",
            "IsExternallyMaintained": "Yes" if maintained else "No",
        }
        for prefix in ("Address", "DeliveryAddress", "InvoiceAddress"):  # CustomersV3 says State, not StateId
            values.update({f"{prefix}Street": address["street"], f"{prefix}City": address["city"],
                           f"{prefix}State": address["state"], f"{prefix}ZipCode": address["postal_code"],
                           f"{prefix}CountryRegionId": address["country_iso3"],
                           f"{prefix}CountryRegionISOCode": iso2})
        values["AddressDescription"] = values["DeliveryAddressDescription"] = "Business"
        run.add(CUSTOMER, "CustomersV3", values)


def _contacts(run: _Seeding, count: int) -> None:
    faker = run.faker
    by_company = _needed(run, CUSTOMER, _customers, count)
    for n in range(count):
        company, customers = by_company[n % len(by_company)]
        customer = faker.choice(customers)
        first, last = faker.person()
        domain = str(customer["PrimaryContactEmail"]).partition("@")[2] or "example.com"
        run.add(CONTACT_PERSON, "CDSContactPersons", {
            COMPANY: company, "ContactPersonPartyNumber": run.number("DirPartyTable", None, 9),
            "AssociatedPartyNumber": customer["PartyNumber"], "AssociatedContactType": "Customer",
            "AssociatedContactNumber": customer["CustomerAccount"],
            "ContactPersonId": run.number("ContactPerson", company), "FirstName": first, "LastName": last,
            "PrimaryEmailAddress": faker.email(first, last, domain), "PrimaryPhoneNumber": faker.phone(),
            "EmploymentProfession": faker.choice(("Purchasing manager", "CFO", "Buyer", "Owner", "Operations lead")),
            "IsContactPersonExternallyMaintained": customer["IsExternallyMaintained"],
        })


def _needed(run: _Seeding, spec: TableSpec, seeder: Callable, count: int,
            keep: Callable[[Row], bool] = lambda row: True, **options) -> list[tuple[str, list[Row]]]:
    """Per company, the existing rows a seeded record can refer to; seeds a few first where there are none."""
    companies = []
    for company, currency, country in _companies():
        rows = run.rows(spec, company, keep)
        if not rows:
            seeder(run, max(5, min(count, 50)), companies=[(company, currency, country)], **options)
            rows = run.rows(spec, company, keep)
        companies.append((company, rows))
    return companies


def _products_for(run: _Seeding, company: str, count: int) -> list[Row]:
    rows = run.rows(RELEASED_PRODUCT, company, lambda row: row["IsSalesStopped"] == "No")
    if not rows:
        _products(run, max(10, min(count, 50)))
        rows = run.rows(RELEASED_PRODUCT, company, lambda row: row["IsSalesStopped"] == "No")
    return rows


def _documents(run: _Seeding, count: int, kind: str, *, external: bool = False, stage: str | None = None) -> list[Row]:
    """Quotations or orders with 1-5 lines each, orders taken to `stage` (else a random one); returns the headers."""
    faker = run.faker
    quote = kind == "quote"
    header_spec, line_spec = (QUOTATION, QUOTATION_LINE) if quote else (ORDER, ORDER_LINE)
    keep = (lambda row: row["IsExternallyMaintained"] == "Yes") if external else (lambda row: True)
    by_company = _needed(run, CUSTOMER, _customers, count, keep, **({"external": True} if external else {}))
    products_by_company = {company: _products_for(run, company, count) for company, _ in by_company}
    headers = []
    for n in range(count):
        company, customers = by_company[n % len(by_company)]
        products = products_by_company[company]
        customer = faker.choice(customers)
        number_field = "SalesQuotationNumber" if quote else "SalesOrderNumber"
        number = run.number(header_spec.name, company) if quote else order_number(run.app)
        lines = []
        for sequence in range(1, faker.integer(1, 5) + 1):
            product = faker.choice(products)
            quantity, discount = faker.integer(1, 20), faker.choice((0, 0, 0, 5, 10))
            price = float(product["SalesPrice"])
            lines.append({
                COMPANY: company, "InventoryLotId": run.number("InventTransId", company), number_field: number,
                "LineCreationSequenceNumber": sequence, "ProductNumber": product["ProductNumber"],
                "ItemNumber": product["ItemNumber"], "ProductName": product["ProductName"],
                "LineDescription": product["ProductName"],
                "RequestedSalesQuantity" if quote else "OrderedSalesQuantity": quantity, "SalesPrice": price,
                "SalesUnitSymbol": product["SalesUnitSymbol"], "LineDiscountAmount": discount,
                "LineAmount": round(quantity * (price - discount), 2), "CurrencyCode": customer["SalesCurrencyCode"],
                **({} if quote else {"SalesOrderLineStatus": "Backorder"}),
            })
        values: Row = {
            COMPANY: company, number_field: number, "CurrencyCode": customer["SalesCurrencyCode"],
            "InvoiceCustomerAccountNumber": customer["CustomerAccount"],
            "RequestedShippingDate": run.day(30, 400), "LanguageId": customer["LanguageId"],
            "DefaultShippingSiteId": "1", "DefaultShippingWarehouseId": "13",
            "DeliveryAddressName": str(customer["OrganizationName"])[:100],
            **{f"DeliveryAddress{mine}": customer[f"DeliveryAddress{theirs}"]
               for mine, theirs in ADDRESS_PARTS},
        }
        total = round(sum(line["LineAmount"] for line in lines), 2)
        if quote:
            values.update({"RequestingCustomerAccountNumber": customer["CustomerAccount"],
                           "SalesQuotationName": f"Quotation for {customer['OrganizationName']}"[:60],
                           "SalesQuotationStatus": faker.choice(("Created", "Sent", "Confirmed")),
                           "SalesQuotationExpiryDate": run.day(30, 400), "QuotationTotalAmount": total})
        else:
            maintained = customer["IsExternallyMaintained"]
            values.update({"OrderingCustomerAccountNumber": customer["CustomerAccount"],
                           "SalesOrderName": str(customer["OrganizationName"])[:60],
                           "OrderingCustomerIsExternallyMaintained": maintained,
                           "InvoiceCustomerIsExternallyMaintained": maintained,
                           "SalesOrderProcessingStatus": "Active", "SalesOrderStatus": "Backorder",
                           "DocumentStatus": "None", "AreTotalsUpdated": "No"})
        header_set, line_set = (("CDSSalesQuotationHeaders", "CDSSalesQuotationLines") if quote
                                else ("CDSSalesOrderHeaders", "CDSSalesOrderLines"))
        headers.append(run.add(header_spec, header_set, values))
        for line in lines:
            run.add(line_spec, line_set, line)
        if not quote:
            _advance(run, headers[-1], stage or faker.choice(_STAGES))
    return headers


def _quotations(run: _Seeding, count: int) -> None:
    _documents(run, count, "quote")


def _orders(run: _Seeding, count: int) -> None:
    _documents(run, count, "order")


def _invoices(run: _Seeding, count: int) -> None:
    """Newly seeded orders of externally maintained customers, each invoiced in full: one invoice apiece."""
    _documents(run, count, "order", external=True, stage="Invoiced")


def _advance(run: _Seeding, order: Row, stage: str) -> None:
    """Take a seeded order to a stage as F&O's users would: totals calculated (for all but half the Active ones),
    then confirmed, delivered, or invoiced in part (its first line, or half of a single line) or in full."""
    app, faker = run.app, run.faker
    company, number = str(order[COMPANY]), str(order["SalesOrderNumber"])
    repeat_on_lines(app, order)
    if stage != "Active" or faker.chance(0.5):
        orders.calculate_totals(app, company, number)
    if stage == "Active":
        return
    orders.confirm(app, company, number)
    if stage == "Delivered":
        orders.post_packing_slip(app, company, number)
    elif stage in ("PartiallyInvoiced", "Invoiced"):
        quantities = None
        lines = order_lines(app, order)
        if stage == "PartiallyInvoiced":
            ordered = float(lines[0]["OrderedSalesQuantity"])
            quantities = {str(lines[0]["LineCreationSequenceNumber"]):
                          ordered if len(lines) > 1 else max(1.0, float(int(ordered // 2)))}
        _, invoiced = invoicing.post_invoice(app, company, number, quantities,
                                             _EPOCH + timedelta(days=faker.integer(0, 500)))
        run.created["SalesInvoiceHeadersV2"] = run.created.get("SalesInvoiceHeadersV2", 0) + 1
        run.created["SalesInvoiceV2Lines"] = run.created.get("SalesInvoiceV2Lines", 0) + len(invoiced)


_SEEDERS: dict[str, Callable[[_Seeding, int], None]] = {
    "SellableReleasedProducts": _products,
    "ReleasedProductsV2": _products,
    "CustomersV3": _customers,
    "CDSContactPersons": _contacts,
    "CDSSalesQuotationHeaders": _quotations,
    "CDSSalesOrderHeaders": _orders,
    "SalesInvoiceHeadersV2": _invoices,
}
