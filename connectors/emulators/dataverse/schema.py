"""The Sales tables the emulator serves: entity sets, keys, columns with their EDM types, lookups and states.

One declaration drives everything else (validation of writes, `$select`/`$filter` checks, rendering, seeding),
so a column exists for reads exactly when it exists for writes, as in Dataverse's `$metadata`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

STRING, GUID, INT, BIGINT = "Edm.String", "Edm.Guid", "Edm.Int32", "Edm.Int64"
DECIMAL, BOOLEAN, DATETIME, DATE = "Edm.Decimal", "Edm.Boolean", "Edm.DateTimeOffset", "Edm.Date"


@dataclass(frozen=True)
class Column:
    """A column a client reads and (unless `read_only`) writes; `options` are a choice column's labels."""

    name: str
    edm: str
    max_length: int | None = None
    read_only: bool = False
    options: dict[int, str] | None = None
    label: str = ""


@dataclass(frozen=True)
class Lookup:
    """A lookup column, written through one single-valued navigation property per target table.

    `targets` maps navigation property -> entity set; a customer lookup has two (`parentcustomerid_account`,
    `parentcustomerid_contact`). It reads back as `_<attribute>_value`.
    """

    attribute: str
    targets: dict[str, str]
    valid_for_create: bool = True

    @property
    def value_field(self) -> str:
        return f"_{self.attribute}_value"

    @property
    def type_field(self) -> str:
        """The internal field that remembers which table a multi-table lookup points to."""
        return f"_{self.attribute}_target"


@dataclass(frozen=True)
class State:
    label: str
    default_status: int
    statuses: dict[int, str]


@dataclass(frozen=True)
class Children:
    """A one-to-many relationship the parent can `$expand` and that cascades on delete (header -> lines)."""

    navigation: str
    entity_set: str
    lookup: str  # the child's lookup attribute pointing back at the parent


@dataclass
class EntitySet:
    name: str
    logical: str
    key: str
    primary_name: str
    columns: list[Column]
    lookups: list[Lookup] = field(default_factory=list)
    alternate_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    states: dict[int, State] | None = None
    default_state: int = 0
    autonumber: tuple[str, str] | None = None  # (column, prefix) numbered like "ACC-01000-BVRCPS"
    children: list[Children] = field(default_factory=list)

    @property
    def entity_type(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.logical}"

    @cached_property
    def column_map(self) -> dict[str, Column]:
        return {column.name: column for column in self.columns}

    @cached_property
    def lookup_by_value_field(self) -> dict[str, Lookup]:
        return {lookup.value_field: lookup for lookup in self.lookups}

    @cached_property
    def navigation(self) -> dict[str, tuple[Lookup, str]]:
        """Single-valued navigation property -> (its lookup, the entity set it points to)."""
        return {nav: (lookup, target) for lookup in self.lookups for nav, target in lookup.targets.items()}

    @cached_property
    def children_by_navigation(self) -> dict[str, Children]:
        return {child.navigation: child for child in self.children}

    @cached_property
    def properties(self) -> dict[str, str]:
        """Every readable property and its EDM type, in the order rows are rendered."""
        props = {self.key: GUID}
        props.update({column.name: column.edm for column in self.columns})
        props.update({lookup.value_field: GUID for lookup in self.lookups})
        props.update({"createdon": DATETIME, "modifiedon": DATETIME, "versionnumber": BIGINT})
        if self.states is not None:
            props.update({"statecode": INT, "statuscode": INT})
        return props

    @cached_property
    def stored_properties(self) -> tuple[str, ...]:
        """The rendered properties held in the row as-is (versionnumber comes from the store's row version)."""
        return tuple(name for name in self.properties if name != "versionnumber")


def _address(prefix: str) -> list[Column]:
    return [
        Column(f"{prefix}_line1", STRING, 250), Column(f"{prefix}_line2", STRING, 250),
        Column(f"{prefix}_line3", STRING, 250), Column(f"{prefix}_city", STRING, 80),
        Column(f"{prefix}_stateorprovince", STRING, 50), Column(f"{prefix}_postalcode", STRING, 20),
        Column(f"{prefix}_country", STRING, 80),
        Column(f"{prefix}_addresstypecode", INT, options={1: "Bill To", 2: "Ship To", 3: "Primary", 4: "Other"}),
    ]


_ACTIVE_INACTIVE = {0: State("Active", 1, {1: "Active"}), 1: State("Inactive", 2, {2: "Inactive"})}
_OWNER = Lookup("owningbusinessunit", {"owningbusinessunit": "businessunits"})
_CURRENCY = Lookup("transactioncurrencyid", {"transactioncurrencyid": "transactioncurrencies"})
_CUSTOMER = Lookup("customerid", {"customerid_account": "accounts", "customerid_contact": "contacts"})
_PRICE_LIST = Lookup("pricelevelid", {"pricelevelid": "pricelevels"})
_TOTALS = [Column("totallineitemamount", DECIMAL, read_only=True), Column("totalamount", DECIMAL, read_only=True),
           Column("msdynce_hasexternallymaintainedproductsonly", BOOLEAN, read_only=True)]
_SHIP_TO = [Column("shipto_line1", STRING, 250), Column("shipto_city", STRING, 80),
            Column("shipto_stateorprovince", STRING, 50), Column("shipto_postalcode", STRING, 20),
            Column("shipto_country", STRING, 80)]


def _document(name: str, logical: str, number: str, prefix: str, states: dict[int, State],
              lines: tuple[str, str], extra: Iterable[Column] = (), extra_lookups: Iterable[Lookup] = ()) -> EntitySet:
    """A sales document header (quote, order, invoice): they share their shape in Dataverse."""
    return EntitySet(
        name, logical, f"{logical}id", "name",
        [Column("name", STRING, 300), Column(number, STRING, 100), Column("description", STRING, 2000),
         *_SHIP_TO, Column("requestdeliveryby", DATE), *extra, *_TOTALS],
        [_CUSTOMER, _PRICE_LIST, _CURRENCY, _OWNER, *extra_lookups],
        alternate_keys={number: (number,)}, states=states, autonumber=(number, prefix),
        children=[Children(lines[0], lines[1], f"{logical}id")],
    )


def _line(name: str, logical: str, header_set: str, header_logical: str) -> EntitySet:
    """A sales document line: a product (or a write-in) with quantity and price."""
    return EntitySet(
        name, logical, f"{logical}id", f"{logical}name",
        [Column(f"{logical}name", STRING, 100), Column("productdescription", STRING, 500),
         Column("isproductoverridden", BOOLEAN), Column("ispriceoverridden", BOOLEAN),
         Column("quantity", DECIMAL), Column("priceperunit", DECIMAL), Column("manualdiscountamount", DECIMAL),
         Column("baseamount", DECIMAL, read_only=True), Column("extendedamount", DECIMAL, read_only=True),
         Column("sequencenumber", INT), Column("lineitemnumber", INT)],
        [Lookup(f"{header_logical}id", {f"{header_logical}id": header_set}),
         Lookup("productid", {"productid": "products"}), Lookup("uomid", {"uomid": "uoms"}), _CURRENCY, _OWNER],
    )


def _build() -> dict[str, EntitySet]:
    sets = [
        EntitySet("transactioncurrencies", "transactioncurrency", "transactioncurrencyid", "currencyname",
                  [Column("isocurrencycode", STRING, 5), Column("currencyname", STRING, 100),
                   Column("currencysymbol", STRING, 10), Column("exchangerate", DECIMAL),
                   Column("currencyprecision", INT)], [], states=_ACTIVE_INACTIVE),
        EntitySet("businessunits", "businessunit", "businessunitid", "name",
                  [Column("name", STRING, 160), Column("isdisabled", BOOLEAN)],
                  [Lookup("parentbusinessunitid", {"parentbusinessunitid": "businessunits"})]),
        EntitySet("uomschedules", "uomschedule", "uomscheduleid", "name",
                  [Column("name", STRING, 200), Column("baseuomname", STRING, 100)], [],
                  states=_ACTIVE_INACTIVE),
        EntitySet("uoms", "uom", "uomid", "name",
                  [Column("name", STRING, 100), Column("quantity", DECIMAL), Column("isschedulebaseuom", BOOLEAN)],
                  [Lookup("uomscheduleid", {"uomscheduleid": "uomschedules"}), Lookup("baseuom", {"baseuom": "uoms"})]),
        EntitySet("pricelevels", "pricelevel", "pricelevelid", "name",
                  [Column("name", STRING, 100), Column("description", STRING, 2000),
                   Column("begindate", DATETIME), Column("enddate", DATETIME)],
                  [_CURRENCY], states={0: State("Active", 100001, {100001: "Active"}),
                                       1: State("Inactive", 100002, {100002: "Inactive"})}),
        EntitySet("accounts", "account", "accountid", "name",
                  [Column("name", STRING, 160, label="Account Name"),
                   Column("accountnumber", STRING, 20, label="Account Number"),
                   Column("telephone1", STRING, 50), Column("emailaddress1", STRING, 100),
                   Column("websiteurl", STRING, 200), *_address("address1"), *_address("address2"),
                   Column("creditlimit", DECIMAL),
                   Column("customertypecode", INT, options={1: "Competitor", 2: "Consultant", 3: "Customer",
                                                            4: "Investor", 5: "Partner", 6: "Influencer",
                                                            7: "Press", 8: "Prospect", 9: "Reseller",
                                                            10: "Supplier", 11: "Vendor", 12: "Other"})],
                  [_CURRENCY, Lookup("parentaccountid", {"parentaccountid": "accounts"}),
                   Lookup("primarycontactid", {"primarycontactid": "contacts"}), _OWNER],
                  alternate_keys={"accountnumber": ("accountnumber",)}, states=_ACTIVE_INACTIVE,
                  autonumber=("accountnumber", "ACC")),
        EntitySet("contacts", "contact", "contactid", "fullname",
                  [Column("firstname", STRING, 50), Column("lastname", STRING, 50),
                   Column("fullname", STRING, 160, read_only=True), Column("emailaddress1", STRING, 100),
                   Column("telephone1", STRING, 50), Column("jobtitle", STRING, 100), *_address("address1"),
                   Column("msdynce_contactnumber", STRING, 100, label="Contact Number"),
                   Column("msdynce_isactivecustomer", BOOLEAN),
                   Column("msdynce_iscompanyanaccount", BOOLEAN, read_only=True)],
                  [Lookup("parentcustomerid", {"parentcustomerid_account": "accounts",
                                               "parentcustomerid_contact": "contacts"}), _CURRENCY, _OWNER],
                  alternate_keys={"msdynce_contactnumber": ("msdynce_contactnumber",)}, states=_ACTIVE_INACTIVE,
                  autonumber=("msdynce_contactnumber", "CON")),
        EntitySet("products", "product", "productid", "name",
                  [Column("name", STRING, 100), Column("productnumber", STRING, 100, label="Product ID"),
                   Column("description", STRING, 2000), Column("quantitydecimal", INT),
                   Column("price", DECIMAL), Column("currentcost", DECIMAL), Column("standardcost", DECIMAL),
                   Column("producttypecode", INT, options={1: "Sales Inventory", 2: "Miscellaneous Charges",
                                                           3: "Services", 4: "Flat Fees"}),
                   Column("productstructure", INT, options={1: "Product", 2: "Product Family", 3: "Product Bundle"}),
                   Column("msdynce_ismaintainedexternally", BOOLEAN),
                   Column("validfromdate", DATE), Column("validtodate", DATE)],
                  [Lookup("defaultuomscheduleid", {"defaultuomscheduleid": "uomschedules"}),
                   Lookup("defaultuomid", {"defaultuomid": "uoms"}),
                   Lookup("pricelevelid", {"pricelevelid": "pricelevels"}, valid_for_create=False), _CURRENCY, _OWNER],
                  alternate_keys={"productnumber": ("productnumber",)},
                  states={0: State("Active", 1, {1: "Active"}), 1: State("Retired", 2, {2: "Retired"}),
                          2: State("Draft", 0, {0: "Draft"}), 3: State("Under Revision", 3, {3: "Under Revision"})},
                  default_state=2),
        EntitySet("productpricelevels", "productpricelevel", "productpricelevelid", "amount",
                  [Column("amount", DECIMAL),
                   Column("pricingmethodcode", INT, options={1: "Currency Amount", 2: "Percent of List",
                                                             3: "Percent Markup - Current Cost",
                                                             4: "Percent Margin - Current Cost",
                                                             5: "Percent Markup - Standard Cost",
                                                             6: "Percent Margin - Standard Cost"})],
                  [_PRICE_LIST, Lookup("productid", {"productid": "products"}), Lookup("uomid", {"uomid": "uoms"}),
                   _CURRENCY, _OWNER]),
        _document("quotes", "quote", "quotenumber", "QUO",
                  {0: State("Draft", 1, {1: "In Progress"}), 1: State("Active", 2, {2: "In Progress", 3: "Open"}),
                   2: State("Won", 4, {4: "Won"}), 3: State("Closed", 5, {5: "Lost", 6: "Canceled", 7: "Revised"})},
                  ("quote_details", "quotedetails"),
                  extra=[Column("effectivefrom", DATETIME), Column("effectiveto", DATETIME),
                         Column("revisionnumber", INT)]),
        _line("quotedetails", "quotedetail", "quotes", "quote"),
        _document("salesorders", "salesorder", "ordernumber", "ORD",
                  {0: State("Active", 1, {1: "New", 2: "Pending"}), 1: State("Submitted", 3, {3: "In Progress"}),
                   2: State("Canceled", 4, {4: "No Money"}),
                   3: State("Fulfilled", 100001, {100001: "Complete", 100002: "Partial"}),
                   4: State("Invoiced", 100003, {100003: "Invoiced"})},
                  ("order_details", "salesorderdetails"),
                  extra=[Column("datefulfilled", DATETIME)], extra_lookups=[Lookup("quoteid", {"quoteid": "quotes"})]),
        _line("salesorderdetails", "salesorderdetail", "salesorders", "salesorder"),
        _document("invoices", "invoice", "invoicenumber", "INV",
                  {0: State("Active", 1, {1: "New", 2: "Partially Shipped", 4: "Billed", 5: "Booked (applies to "
                                          "services)", 6: "Installed (applies to services)"}),
                   1: State("Closed (deprecated)", 3, {3: "Canceled (deprecated)", 7: "Paid in Full (deprecated)"}),
                   2: State("Paid", 100001, {100001: "Complete", 100002: "Partial"}),
                   3: State("Canceled", 100003, {100003: "Canceled"})},
                  ("invoice_details", "invoicedetails"),
                  extra=[Column("duedate", DATE)],
                  extra_lookups=[Lookup("salesorderid", {"salesorderid": "salesorders"})]),
        _line("invoicedetails", "invoicedetail", "invoices", "invoice"),
    ]
    return {entity_set.name: entity_set for entity_set in sets}


ENTITY_SETS: dict[str, EntitySet] = _build()
LINE_SETS = {child.entity_set: (header, child) for header in ENTITY_SETS.values() for child in header.children}
