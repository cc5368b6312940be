"""Pure value helpers and the type conversions each API expects (F&O NoYes enums, Dataverse booleans, decimals,
ISO dates). Used by `integration.mapping`; no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

CONVERSIONS = ("noyes", "boolean", "decimal", "integer", "string", "date", "datetime")
# F&O has no null date: an empty date reads as 1900-01-01 (at noon UTC), which means "no date".
_EMPTY_DATE = date(1900, 1, 1)


def blank(value: object) -> bool:
    """None, "" and whitespace: what both APIs and the templates treat as "no value"."""
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: object) -> str:
    """The text form of a value; booleans as JSON spells them, so True matches a "true" map key."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_guid(value: str) -> bool:
    """Whether the text is a GUID, the form of every Dataverse record id."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def fold(value: object) -> str:
    """The form two values are compared in: OData string comparisons ignore case."""
    return "" if blank(value) else text(value).strip().casefold()


def as_bool(value: object) -> bool:
    """A Dataverse boolean, an F&O NoYes name, or their text forms; anything else is a ValueError."""
    if isinstance(value, bool):
        return value
    folded = fold(value)
    if folded in ("yes", "true", "1"):
        return True
    if folded in ("no", "false", "0"):
        return False
    raise ValueError(value)


def _to_decimal(value: object, places: int | None) -> float:
    """Rounded half-even (banker's rounding, as both APIs' money types), sent as a JSON number."""
    if isinstance(value, bool):
        raise TypeError(value)
    number = Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError(value)
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_EVEN)
    return float(number)


def _to_integer(value: object, places: int | None) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    number = Decimal(str(value).strip())
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(value)
    return int(number)


def _to_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        moment = datetime.fromisoformat(str(value).strip())
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return None if moment.date() == _EMPTY_DATE else moment


def _to_date_text(value: object, places: int | None) -> str | None:
    moment = _to_datetime(value)
    return None if moment is None else moment.date().isoformat()


def _to_datetime_text(value: object, places: int | None) -> str | None:
    moment = _to_datetime(value)
    return None if moment is None else moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


_CONVERTERS: dict[str, Callable[[object, int | None], object]] = {
    "noyes": lambda value, places: "Yes" if as_bool(value) else "No",
    "boolean": lambda value, places: as_bool(value),
    "decimal": _to_decimal,
    "integer": _to_integer,
    "string": lambda value, places: text(value),
    "date": _to_date_text,
    "datetime": _to_datetime_text,
}


def convert(value: object, to: str, *, places: int | None = None) -> object:
    """`value` as type `to`; None for an F&O empty date; ValueError, TypeError or ArithmeticError when it won't go."""
    return _CONVERTERS[to](value, places)
