"""The emulator's own storage: tables, their columns, keys, indexes, foreign keys and Infolog labels.

Microsoft publishes what an entity set exposes (`microsoft_metadata`), not how F&O stores it, so tables are
declared by hand (`tables.py`) and `surface.py` checks every column an entity set exposes against the metadata.
F&O data is X++ data: there is no null. Strings are empty, numbers zero, enums their member of value 0 (else
their first member) and dates the "empty" date 1900-01-01, which the OData layer renders at noon UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from connectors.emulators.microsoft_metadata import FINOPS_NAMESPACE, finops_enums

NAMESPACE = FINOPS_NAMESPACE
EMPTY_DATE = "1900-01-01T12:00:00Z"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
COMPANY = "dataAreaId"
_NUMBER_TYPES = frozenset({"Edm.Decimal", "Edm.Double", "Edm.Int32", "Edm.Int64"})


def enum_name(edm: str) -> str | None:
    """The enum type of a column or property type written "Enum:<EnumType>", else None."""
    return edm[5:] if edm.startswith("Enum:") else None


def empty_value(edm: str) -> object:
    """X++'s empty value of a type: what F&O stores, and renders, where nothing was written."""
    enum = enum_name(edm)
    if enum:
        members = finops_enums()[enum]
        return next((name for name, value in members.items() if value == 0), next(iter(members)))
    if edm == "Edm.DateTimeOffset":
        return EMPTY_DATE
    if edm == "Edm.Guid":
        return EMPTY_GUID
    if edm in _NUMBER_TYPES:
        return 0
    return ""


def label_of(name: str) -> str:
    """'CustomerGroupId' -> 'Customer group id': the label F&O would show, when none is given."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|\b|\d)|[A-Z]?[a-z]+|\d+", name)
    text = " ".join(words) or name
    return text[:1].upper() + text[1:].lower()


@dataclass(frozen=True)
class Field:
    """One stored column. `edm` is an EDM type or "Enum:<EnumType>"; dates are date-only, rendered at noon UTC.
    `internal`: the emulator's logic needs it, but no entity set over the table exposes it."""

    name: str
    edm: str = "Edm.String"
    size: int | None = None
    label: str = ""
    mandatory: bool = False
    internal: bool = False

    @property
    def enum(self) -> str | None:
        return enum_name(self.edm)

    @property
    def caption(self) -> str:
        return self.label or label_of(self.name)

    @property
    def default(self) -> object:
        return empty_value(self.edm)


def text(name: str, size: int, label: str = "", *, mandatory: bool = False, internal: bool = False) -> Field:
    return Field(name, "Edm.String", size, label, mandatory, internal)


def enum(name: str, enum_type: str, label: str = "", *, internal: bool = False) -> Field:
    return Field(name, f"Enum:{enum_type}", None, label, internal=internal)


def amount(name: str, label: str = "", *, internal: bool = False) -> Field:
    return Field(name, "Edm.Decimal", None, label, internal=internal)


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
    """A stored table: what `Store.table` needs, plus the labels and foreign keys its Infolog messages use.

    A row holds every declared column (what the entity logic reads) plus whatever a client wrote to other
    properties of an entity set over the table; anything else renders as its empty value.
    """

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
