"""Tokens of an OData v4 `$filter` expression, with literal values already decoded and positions kept for errors.

Literals are recognised by shape (GUIDs and datetimes are unquoted in v4), so the order of alternatives matters:
datetime before date before number, GUID before name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from connectors.emulators.odata.errors import ODataQueryError

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_QUALIFIED = rf"{_IDENT}(?:\.{_IDENT})*"
_QUOTED = r"'(?:[^']|'')*'"

_TOKEN = re.compile(
    rf"""
    (?P<ws>[ \t]+)
    | (?P<string>{_QUOTED})
    | (?P<datetime>\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(?P<offset>Z|[+-]\d{{2}}:\d{{2}})?)
      (?![A-Za-z0-9_.:])
    | (?P<guid>[0-9A-Fa-f]{{8}}-[0-9A-Fa-f]{{4}}-[0-9A-Fa-f]{{4}}-[0-9A-Fa-f]{{4}}-[0-9A-Fa-f]{{12}})(?![A-Za-z0-9_-])
    | (?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?![A-Za-z0-9_:-])
    | (?P<number>-?\d+(?P<fraction>\.\d+)?(?P<exponent>[eE][+-]?\d+)?(?P<suffix>[mM])?)(?![A-Za-z0-9_.])
    | (?P<enum>(?P<enumtype>{_IDENT}(?:\.{_IDENT})+)(?P<member>{_QUOTED}))
    | (?P<name>{_QUALIFIED})
    | (?P<json>"(?:[^"\\]|\\.)*")
    | (?P<punct>[(),\[\]=/])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical unit: `kind` is a literal kind (string, number, ...), "name", "punct" or "end"."""

    kind: str
    text: str
    value: object
    pos: int
    edm_type: str | None = None


def syntax_error(problem: str, pos: int, text: str) -> ODataQueryError:
    """ODataLib-style wording: what is wrong, the 0-based position, and the whole expression."""
    return ODataQueryError(f"{problem} at position {pos} in '{text}'.")


def quote(value: str) -> str:
    """A string as an OData literal (single quotes, an embedded quote doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _unquote(literal: str) -> str:
    return literal[1:-1].replace("''", "'")


def tokenize(text: str) -> list[Token]:
    """All tokens of `text`, ending with an "end" token; raises ODataQueryError at the first bad character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] == "'":
                raise syntax_error("Unterminated string literal", pos, text)
            raise syntax_error(f"Syntax error: character '{text[pos]}' is not valid", pos, text)
        kind = match.lastgroup  # the outermost group: a nested group closes before the group around it
        if kind != "ws":
            tokens.append(_token(kind, match, text))
        pos = match.end()
    tokens.append(Token("end", "", None, len(text)))
    return tokens


def _token(kind: str, match: re.Match[str], text: str) -> Token:
    raw, pos = match.group(0), match.start()
    if kind == "string":
        return Token(kind, raw, _unquote(raw), pos, "Edm.String")
    if kind == "name" or kind == "punct":
        return Token(kind, raw, raw, pos)
    if kind == "guid":
        return Token(kind, raw, raw.lower(), pos, "Edm.Guid")
    if kind == "number":
        return _number(match, pos)
    if kind == "enum":
        return Token(kind, raw, (match.group("enumtype"), _unquote(match.group("member"))), pos)
    if kind == "json":
        try:
            return Token(kind, raw, json.loads(raw), pos)
        except ValueError:
            raise syntax_error(f"{raw} is not a valid JSON string", pos, text) from None
    if kind == "datetime" and match.group("offset") is None:
        raise syntax_error(f"The datetime literal '{raw}' needs a time zone ('Z' or +hh:mm)", pos, text)
    parse, edm_type = (date.fromisoformat, "Edm.Date") if kind == "date" else (_datetime, "Edm.DateTimeOffset")
    try:
        return Token(kind, raw, parse(raw), pos, edm_type)
    except ValueError:
        raise syntax_error(f"'{raw}' is not a valid {kind} literal", pos, text) from None


def _datetime(raw: str) -> datetime:
    # fromisoformat keeps at most microseconds; OData allows up to 12 fractional digits, so cut the rest off.
    head, dot, rest = raw.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        rest = rest[: min(digits, 6)] + rest[digits:]
    return datetime.fromisoformat(head + dot + rest)


def _number(match: re.Match[str], pos: int) -> Token:
    raw = match.group(0)
    digits = raw.rstrip("mM")
    if match.group("fraction") is None and match.group("exponent") is None and match.group("suffix") is None:
        value = int(digits)
        return Token("number", raw, value, pos, "Edm.Int32" if -(2**31) <= value < 2**31 else "Edm.Int64")
    edm_type = "Edm.Double" if match.group("exponent") and not match.group("suffix") else "Edm.Decimal"
    return Token("number", raw, Decimal(digits), pos, edm_type)
