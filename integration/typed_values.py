"""Values an admin types as plain text, read as the type the destination property has (pure, no I/O).

A value map target like `GRC` is text; `1` becomes a number only where the property is a number (a Dataverse
choice is Edm.Int32), `true` a boolean only where it is Edm.Boolean. Without metadata, a value keeps the type of
the value it replaces, else stays text. Values are shown back as the same plain text.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

_WHOLE = frozenset({"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"})
_NUMBER = frozenset({"Edm.Decimal", "Edm.Double", "Edm.Single"})
_TRUE, _FALSE = frozenset({"true", "yes", "1"}), frozenset({"false", "no", "0"})


def kind_of(edm_type: str | None, example: object = None) -> str:
    """'whole', 'number', 'boolean' or 'text': from the property's type, else from a value already stored."""
    if edm_type in _WHOLE:
        return "whole"
    if edm_type in _NUMBER:
        return "number"
    if edm_type == "Edm.Boolean":
        return "boolean"
    if edm_type:
        return "text"  # strings, enum members (F&O NoYes...), dates, GUIDs
    if isinstance(example, bool):
        return "boolean"
    if isinstance(example, int):
        return "whole"
    if isinstance(example, float):
        return "number"
    return "text"


def value_from_text(text: str, kind: str) -> object:
    """The typed value of what was typed; ValueError naming what was expected."""
    if kind == "text":
        return text
    stripped = text.strip()
    if kind == "boolean":
        if stripped.casefold() in _TRUE:
            return True
        if stripped.casefold() in _FALSE:
            return False
        raise ValueError(f"{text!r} is not true or false")
    try:
        number = Decimal(stripped)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"{text!r} is not a {'whole ' if kind == 'whole' else ''}number")
    if kind == "whole":
        if number != number.to_integral_value():
            raise ValueError(f"{text!r} is not a whole number")
        return int(number)
    return int(number) if number == number.to_integral_value() and "." not in stripped else float(number)


def value_to_text(value: object) -> str:
    """What to show in a text box for a stored value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
