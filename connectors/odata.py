"""OData URL text: literals, key predicates, `@odata.bind` references, `$filter` equality and query strings.

Key values are escaped the OData way (`'` doubled) and then percent-encoded, so `O'Brien & Sons`, `#`, `?`, `+`
and any unicode reach the service as the value they are, never as URL syntax.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

Key = Mapping[str, Any] | uuid.UUID | str  # name/value pairs, or a primary key GUID


class EnumMember(str):
    """An enum value that is still its member name as data (a key holding it compares and serializes as the
    name), but is written in URLs as the enum literal OData requires: `Namespace.EnumType'Member'`. F&O binds
    literals with ODataLib's default resolver, which refuses a plain string where an enum is expected."""

    enum_type: str  # qualified, e.g. Microsoft.Dynamics.DataEntities.NoYes

    def __new__(cls, enum_type: str, name: str) -> EnumMember:
        member = super().__new__(cls, name)
        member.enum_type = enum_type
        return member


def literal(value: Any) -> str:
    """The OData literal for a Python value; GUIDs must be `uuid.UUID` to be written unquoted."""
    if value is None:
        return "null"
    if isinstance(value, EnumMember):
        return f"{value.enum_type}'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


def key_predicate(key: Key) -> str:
    """The text between a key URL's parentheses, percent-encoded: a bare GUID or `name=literal,...`."""
    if isinstance(key, uuid.UUID):
        return str(key)
    if isinstance(key, str):
        return str(uuid.UUID(key))  # a single value is a primary key GUID; ValueError otherwise
    if not key:
        raise ValueError("a key needs at least one field")
    return ",".join(name + "=" + quote(literal(value), safe="'") for name, value in key.items())


def key_path(entity_set: str, key: Key) -> str:
    """`accounts(accountnumber='A%20''1')`: the path of one record, relative to the API root."""
    return f"{entity_set}({key_predicate(key)})"


def bind(entity_set: str, key: Key) -> str:
    """The value of a `<navigation>@odata.bind` property: `/accounts(<guid>)` or `/accounts(accountnumber='X')`."""
    return "/" + key_path(entity_set, key)


def equals_filter(match: Mapping[str, Any]) -> str:
    """`a eq 'x' and b eq 3`: the filter that finds records by a natural key."""
    return " and ".join(f"{name} eq {literal(value)}" for name, value in match.items())


def any_of_filters(matches: Sequence[Mapping[str, Any]], *, max_length: int, within: str = "") -> Iterator[str]:
    """Filters that together find every record matching one of `matches` (natural keys, same fields each):
    `within and (a eq 'x' or a eq 'y' ...)`, as few as can be while each stays within `max_length` characters once
    percent-encoded, so the URL carrying it is not refused for its length."""
    prefix, suffix = (f"{within} and (", ")") if within else ("", "")
    clauses: list[str] = []
    size = _encoded_length(prefix + suffix)
    for match in matches:
        clause = equals_filter(match)
        clause = f"({clause})" if len(match) > 1 else clause
        cost = _encoded_length(clause) + (_encoded_length(" or ") if clauses else 0)
        if clauses and size + cost > max_length:
            yield prefix + " or ".join(clauses) + suffix
            clauses, size = [], _encoded_length(prefix + suffix)
            cost = _encoded_length(clause)
        clauses.append(clause)
        size += cost
    if clauses:
        yield prefix + " or ".join(clauses) + suffix


def folded(values: tuple) -> tuple:
    """Key values as both services compare them: text case-insensitively (SQL Server's default collation)."""
    return tuple(value.casefold() if isinstance(value, str) else value for value in values)


def _encoded_length(text: str) -> int:
    return len(quote(text, safe="'()"))


def query_string(options: Mapping[str, Any]) -> str:
    """`$select=a%2Cb&$filter=...`; options whose value is None or empty are left out."""
    parts = []
    for name, value in options.items():
        if value is None or value == "" or value == ():
            continue
        text = ",".join(value) if isinstance(value, list | tuple) else str(value)
        parts.append(quote(name, safe="$") + "=" + quote(text, safe="'()"))
    return "&".join(parts)
