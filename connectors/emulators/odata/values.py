"""How stored row values compare, per EDM type: shared by `$filter` and `$orderby` so both agree.

Rows hold what the emulators store: str, int, float or Decimal, bool, None, GUIDs as strings, datetimes as
ISO-8601 strings, enums as member names. SQL Server's default collation makes text and GUIDs case-insensitive.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

NUMERIC_TYPES = frozenset(
    {"Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double", "Edm.Single"}
)
_FAMILIES = {
    "Edm.String": "string",
    "Edm.Guid": "guid",
    "Edm.Boolean": "boolean",
    "Edm.DateTimeOffset": "datetime",
    "Edm.Date": "date",
    "Edm.Binary": "binary",  # Dataverse image columns: only ever compared with null
}


def family(edm_type: str) -> str:
    """The comparison family of an EDM type: string, guid, boolean, datetime, date, binary, number or enum."""
    if edm_type in NUMERIC_TYPES:
        return "number"
    if edm_type.startswith("Enum:"):
        return "enum"
    try:
        return _FAMILIES[edm_type]
    except KeyError:
        raise ValueError(f"unsupported EDM type {edm_type!r}") from None


def to_datetime(value: object) -> datetime:
    """A stored DateTimeOffset as an aware datetime; a naive one is taken as UTC, as the emulators store UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, datetime):
        raise TypeError(f"not a datetime: {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def to_date(value: object) -> date:
    """A stored Date (or the date part of a stored datetime)."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"not a date: {value!r}")


_NORMALIZERS: dict[str, Callable[[object], object] | None] = {
    "string": str.casefold,
    "enum": str.casefold,
    "guid": str.lower,
    "datetime": to_datetime,
    "date": to_date,
    "number": None,
    "boolean": None,
    "binary": None,
}


def normalizer(edm_type: str) -> Callable[[object], object] | None:
    """What turns a stored non-null value into its comparable form; None when the value already is one."""
    return _NORMALIZERS[family(edm_type)]
