"""System query options: read them from a raw query string, then order and project stored rows the way
the services do (nulls first ascending, text without regard to case, datetimes as datetimes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cmp_to_key
from urllib.parse import unquote_plus

from connectors.emulators.odata.errors import ODataQueryError, unknown_property
from connectors.emulators.odata.values import normalizer

SYSTEM_OPTIONS = frozenset(
    {"$select", "$filter", "$orderby", "$top", "$skip", "$count", "$expand", "$skiptoken", "$deltatoken"}
)
Row = Mapping[str, object]
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INTEGER = re.compile(r"[0-9]+\Z")


@dataclass
class QueryOptions:
    """The query options of one request; `params` holds the non-`$` ones, such as F&O's `cross-company`."""

    select: list[str] | None = None
    filter: str | None = None
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    top: int | None = None
    skip: int | None = None
    count: bool = False
    expand: str | None = None
    skiptoken: str | None = None
    deltatoken: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def parse_query(query_string: str, *, allowed: Collection[str]) -> QueryOptions:
    """Decode `query_string` (a raw `+` is a space, as in ASP.NET; `%2B` is a plus) and check every option.

    `allowed` names the system options this service and resource accept (with or without the `$`); any other
    `$` option is rejected, as Dataverse rejects `$skip`.
    """
    allowed = {"$" + name.lstrip("$") for name in allowed}
    options = QueryOptions()
    seen: set[str] = set()
    for pair in query_string.removeprefix("?").split("&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        name, value = _decode(raw_name), _decode(raw_value)
        if name in seen:
            raise ODataQueryError(f"The query parameter '{name}' is specified more than once.")
        seen.add(name)
        if not name.startswith("$"):
            options.params[name] = value
            continue
        if name not in SYSTEM_OPTIONS or name not in allowed:
            raise ODataQueryError(f"The query parameter '{name}' is not supported.")
        if not value.strip():
            raise ODataQueryError(f"The query parameter '{name}' has no value.")
        _PARSERS[name](options, value)
    return options


def _decode(text: str) -> str:
    try:
        return unquote_plus(text, errors="strict")
    except UnicodeDecodeError:
        raise ODataQueryError(f"The query string part '{text}' is not valid percent-encoded UTF-8.") from None


def _select(options: QueryOptions, value: str) -> None:
    names = [name.strip() for name in value.split(",")]
    if "*" in names:
        return
    for name in names:
        if not _NAME.match(name):
            raise ODataQueryError(f"The $select item '{name}' is not a property name.")
    options.select = names


def _orderby(options: QueryOptions, value: str) -> None:
    for item in value.split(","):
        words = item.split()
        if not 1 <= len(words) <= 2 or not _NAME.match(words[0]) or words[1:] not in ([], ["asc"], ["desc"]):
            raise ODataQueryError(f"The $orderby item '{item.strip()}' is malformed; expected 'Property [asc|desc]'.")
        options.orderby.append((words[0], words[1:] == ["desc"]))


def _count(options: QueryOptions, value: str) -> None:
    if value not in ("true", "false"):
        raise ODataQueryError(f"The value '{value}' of $count is not valid; use true or false.")
    options.count = value == "true"


def _whole_number(name: str) -> Callable[[QueryOptions, str], None]:
    def parse(options: QueryOptions, value: str) -> None:
        if not _INTEGER.match(value.strip()):
            raise ODataQueryError(f"The value '{value}' of ${name} is not valid; use a non-negative integer.")
        setattr(options, name, int(value))

    return parse


def _text(name: str) -> Callable[[QueryOptions, str], None]:
    return lambda options, value: setattr(options, name, value)


_PARSERS: dict[str, Callable[[QueryOptions, str], None]] = {
    "$select": _select,
    "$filter": _text("filter"),
    "$orderby": _orderby,
    "$top": _whole_number("top"),
    "$skip": _whole_number("skip"),
    "$count": _count,
    "$expand": _text("expand"),
    "$skiptoken": _text("skiptoken"),
    "$deltatoken": _text("deltatoken"),
}


def validate_properties(names: Iterable[str], properties: Mapping[str, str], entity_type: str) -> None:
    """Reject the first name in `$select` or `$orderby` the entity type does not declare."""
    for name in names:
        if name not in properties:
            raise unknown_property(name, entity_type)


def _column_key(name: str, properties: Mapping[str, str]) -> Callable[[Row], tuple]:
    # (False, None) sorts before (True, value), so null comes first and never meets a value.
    norm = normalizer(properties[name])
    if norm is None:
        return lambda row: (False, None) if (v := row.get(name)) is None else (True, v)
    return lambda row: (False, None) if (v := row.get(name)) is None else (True, norm(v))


def sort_key(orderby: list[tuple[str, bool]], properties: Mapping[str, str]) -> Callable[[Row], object]:
    """One key for all `$orderby` items, mixing directions: for `sorted`, `bisect` or comparing page bounds.

    The names must have passed `validate_properties`. `order_rows` sorts the same way, faster.
    """
    columns = [(_column_key(name, properties), descending) for name, descending in orderby]

    def compare(a: tuple, b: tuple) -> int:
        for (x, y), (_, descending) in zip(zip(a, b, strict=True), columns, strict=True):
            if x != y:
                return (-1 if x < y else 1) * (-1 if descending else 1)
        return 0

    as_key = cmp_to_key(compare)
    return lambda row: as_key(tuple(key(row) for key, _ in columns))


def order_rows(
    rows: Iterable[Row], orderby: list[tuple[str, bool]], properties: Mapping[str, str]
) -> list[Row]:
    """A new list in `$orderby` order (names already validated); rows that tie keep their input order."""
    ordered = list(rows)
    for name, descending in reversed(orderby):  # least significant first, so each pass keeps the earlier ones
        ordered.sort(key=_column_key(name, properties), reverse=descending)
    return ordered


def project(row: Row, select: list[str] | None, always: Collection[str]) -> dict[str, object]:
    """The selected properties plus `always` (key, `@odata.etag`) in the row's order; a selected property the
    row lacks comes back as null, as the services return every selected property. Annotations such as
    `name@OData.Community.Display.V1.FormattedValue` follow their property.
    """
    if select is None:
        return dict(row)
    wanted = {*select, *always}
    result = {
        key: value for key, value in row.items()
        if key in wanted or ("@" in key and key.partition("@")[0] in wanted)
    }
    for name in select:
        result.setdefault(name, None)
    return result
