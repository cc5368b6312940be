"""The shapes of the F&O data model: stored tables, the entity sets (public collections) over them, their fields,
keys, foreign keys and navigation properties. The concrete model is in `entities.py`.

F&O data is X++ data: there is no null. Strings are empty, numbers zero, enums their first member and dates the
"empty" date 1900-01-01, which the OData layer renders at noon UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

NAMESPACE = "Microsoft.Dynamics.DataEntities"
EMPTY_DATE = "1900-01-01T12:00:00Z"
COMPANY = "dataAreaId"

ENUMS: dict[str, tuple[str, ...]] = {
    "NoYes": ("No", "Yes"),
    "CustVendorBlocked": ("No", "Invoice", "All", "Payment", "Requisition", "Never"),
    "EcoResProductType": ("Item", "Service"),
    "EcoResProductSubtype": ("Product", "ProductMaster", "ProductVariant"),
    "SalesQuotationStatus": ("Created", "Sent", "Confirmed", "Lost", "Cancelled", "Reset", "Modified", "Submitted",
                             "Approved", "Revised"),
    # Assumption: the member names of the CDS order processing status follow the dual-write status table.
    "SalesOrderProcessingStatus": ("None", "Active", "Confirmed", "Picked", "PartiallyDelivered", "Delivered",
                                   "PartiallyInvoiced", "Invoiced", "Cancelled"),
    "SalesStatus": ("None", "Backorder", "Delivered", "Invoiced", "Canceled"),
}
_NUMBER_TYPES = frozenset({"Edm.Decimal", "Edm.Double", "Edm.Int32", "Edm.Int64"})


def _label_of(name: str) -> str:
    """'CustomerGroupId' -> 'Customer group id': the label F&O would show, when none is given."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|\b|\d)|[A-Z]?[a-z]+|\d+", name)
    text = " ".join(words) or name
    return text[:1].upper() + text[1:].lower()


@dataclass(frozen=True)
class Field:
    """One stored column; `edm` is an EDM type or "Enum:<EnumType>"; dates are date-only, rendered at noon UTC."""

    name: str
    edm: str = "Edm.String"
    size: int | None = None
    label: str = ""
    mandatory: bool = False

    @property
    def enum(self) -> str | None:
        return self.edm[5:] if self.edm.startswith("Enum:") else None

    @property
    def caption(self) -> str:
        return self.label or _label_of(self.name)

    @property
    def default(self) -> object:
        if self.enum:
            return ENUMS[self.enum][0]
        if self.edm == "Edm.DateTimeOffset":
            return EMPTY_DATE
        if self.edm in _NUMBER_TYPES:
            return 0
        return ""


def text(name: str, size: int, label: str = "", *, mandatory: bool = False) -> Field:
    return Field(name, "Edm.String", size, label, mandatory)


def enum(name: str, enum_type: str, label: str = "") -> Field:
    return Field(name, f"Enum:{enum_type}", None, label)


def amount(name: str, label: str = "") -> Field:
    return Field(name, "Edm.Decimal", None, label)


def integer(name: str, label: str = "") -> Field:
    return Field(name, "Edm.Int32", None, label)


def day(name: str, label: str = "") -> Field:
    return Field(name, "Edm.DateTimeOffset", None, label)


@dataclass(frozen=True)
class ForeignKey:
    """Values of `fields` must name a row of `table` (through `index`, or its primary key when None); a
    company-bound target is looked up in the writing row's company."""

    fields: tuple[str, ...]
    table: str
    related_label: str
    index: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """A stored table: what `Store.table` needs, plus the labels and foreign keys its Infolog messages use."""

    name: str  # the AOT table name, e.g. CustTable
    label: str  # e.g. Customers
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    unique: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    multi: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    foreign_keys: tuple[ForeignKey, ...] = ()

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def per_company(self) -> bool:
        return self.key[0] == COMPANY

    def blank_row(self) -> dict[str, object]:
        return {f.name: f.default for f in self.fields}


@dataclass(frozen=True)
class Navigation:
    """A navigation property: rows of `target` whose `remote` fields equal this row's `local` fields, found
    through the target table's index `index` (a multi index when `many`, else a unique index or None for the key)."""

    name: str
    target: str  # entity set name
    local: tuple[str, ...]
    index: str | None
    many: bool


@dataclass(frozen=True)
class EntitySet:
    """A public collection over a table: its own type, key (the table's key or one of its unique indexes), the
    fields it exposes and the methods it allows."""

    name: str
    type_name: str  # e.g. CustomerV3, qualified with NAMESPACE in messages
    ax_entity: str  # e.g. CustCustomerV3Entity, named by write failures
    table: TableSpec
    fields: tuple[str, ...]
    key: tuple[str, ...] | None = None  # None: the table's key
    key_index: str | None = None
    methods: frozenset[str] = frozenset({"GET", "POST", "PATCH", "DELETE"})
    visible: Callable[[Mapping[str, object]], bool] | None = None
    navigations: tuple[Navigation, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return self.key or self.table.key

    @property
    def qualified_type(self) -> str:
        return f"{NAMESPACE}.{self.type_name}"

    @property
    def per_company(self) -> bool:
        return self.table.per_company

    @cached_property
    def properties(self) -> dict[str, str]:
        """Field name -> EDM type, for `$filter`, `$select` and `$orderby`."""
        columns = self.table.by_name
        return {name: columns[name].edm for name in self.fields}

    @cached_property
    def navigation(self) -> dict[str, Navigation]:
        return {nav.name: nav for nav in self.navigations}

    def field(self, name: str) -> Field:
        return self.table.by_name[name]
