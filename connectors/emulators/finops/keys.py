"""Resource paths under `/data/`: `Set`, `Set(keys)`, `Set(keys)/Navigation`, `Set/$count`, and their keys.

F&O needs every key field, by name (`CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')`). The path is
percent-decoded before parsing, so `'O%27%27Brien'` is `'O''Brien'`, and a quoted value may hold `/`, `,` or `)`.
An enum key field takes an enum literal (`AssociatedContactType=Microsoft.Dynamics.DataEntities.
smmContactPersonCDSAssociatedContactType'Customer'`). Assumption: F&O binds key literals with ODataLib's default
URI resolver, which refuses a plain string for an enum (as its `$filter` does, reference 2.3) and takes member
names exactly as declared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import quote

from connectors.emulators.finops.schema import COMPANY, NAMESPACE, enum_name
from connectors.emulators.finops.surface import EntitySet
from connectors.emulators.microsoft_metadata import finops_enums
from connectors.emulators.odata.errors import ODataQueryError
from connectors.emulators.odata.lexer import tokenize


@dataclass
class ResourcePath:
    """A parsed path: the entity set name, the key as written (name or None, value) and the segments after it."""

    entity_set: str
    key: list[tuple[str | None, object]] | None = None
    segments: list[str] = field(default_factory=list)


def parse_path(path: str) -> ResourcePath:
    """Split a decoded path relative to the service root; raises ODataQueryError when it is malformed."""
    end = 0
    while end < len(path) and path[end] not in "(/":
        end += 1
    resource = ResourcePath(path[:end])
    if end < len(path) and path[end] == "(":
        close = _closing_parenthesis(path, end)
        resource.key = _key_values(path[end + 1:close])
        end = close + 1
    rest = path[end:]
    if rest and not rest.startswith("/"):
        raise ODataQueryError(f"Bad Request - Error in query syntax: '{path}'.")
    resource.segments = [segment for segment in rest.split("/") if segment]
    return resource


def _closing_parenthesis(path: str, start: int) -> int:
    quoted = False
    position = start + 1
    while position < len(path):
        char = path[position]
        if char == "'":
            if quoted and path[position + 1:position + 2] == "'":
                position += 2
                continue
            quoted = not quoted
        elif char == ")" and not quoted:
            return position
        position += 1
    raise ODataQueryError(f"Bad Request - Error in query syntax: the key in '{path}' has no closing parenthesis.")


def _key_values(text: str) -> list[tuple[str | None, object]]:
    tokens = tokenize(text)[:-1]
    values: list[tuple[str | None, object]] = []
    index = 0
    while index < len(tokens):
        if values:
            if tokens[index].text != ",":
                raise ODataQueryError(f"Bad Request - Error in query syntax: ',' expected in key '({text})'.")
            index += 1
        name = None
        if index + 1 < len(tokens) and tokens[index].kind == "name" and tokens[index + 1].text == "=":
            name = tokens[index].text
            index += 2
        if index >= len(tokens) or (tokens[index].edm_type is None and tokens[index].kind != "enum"):
            raise ODataQueryError(f"Bad Request - Error in query syntax: a key value is expected in '({text})'.")
        values.append((name, tokens[index].value))
        index += 1
    if not values:
        raise ODataQueryError(f"Bad Request - Error in query syntax: the key '({text})' is empty.")
    return values


def key_mismatch(entity_set: EntitySet) -> ODataQueryError:
    name = entity_set.qualified_type
    return ODataQueryError(f"The key in the request URI is not valid for resource '{name}'. Ensure that the names "
                           f"and number of key properties match the declared or alternate key properties for the "
                           f"resource '{name}'.")


def resolve_key(entity_set: EntitySet, written: list[tuple[str | None, object]]) -> tuple:
    """The key tuple in the entity set's key order; every key field is required, by name unless it is the only one."""
    names = entity_set.keys
    if len(written) == 1 and written[0][0] is None and len(names) == 1:
        written = [(names[0], written[0][1])]
    given = dict(written)
    if len(given) != len(written) or set(given) != set(names):
        raise key_mismatch(entity_set)
    return tuple(_key_value(entity_set, name, given[name]) for name in names)


def _key_value(entity_set: EntitySet, name: str, value: object) -> object:
    edm = entity_set.properties[name]
    enum = enum_name(edm)
    if enum:
        if isinstance(value, tuple) and value[0] == f"{NAMESPACE}.{enum}" and value[1] in finops_enums()[enum]:
            return value[1]
        shown = f"{value[0]}'{value[1]}'" if isinstance(value, tuple) else value
        raise ODataQueryError(f"The key value '{shown}' of '{name}' is not a valid {NAMESPACE}.{enum} literal.")
    if edm == "Edm.String" and isinstance(value, str):
        return value.lower() if name == COMPANY else value
    if edm in ("Edm.Int32", "Edm.Int64") and isinstance(value, int):
        return value
    if edm == "Edm.DateTimeOffset" and isinstance(value, datetime | date):
        return stored_date(value)
    raise ODataQueryError(f"The key value '{value}' of '{name}' is not a valid {edm} literal.")


def stored_date(value: datetime | date) -> str:
    """F&O dates are days: any instant of the day reads back at noon UTC."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date() if value.tzinfo else value.date()
    return f"{value.isoformat()}T12:00:00Z"


def key_segment(entity_set: EntitySet, row: dict) -> str:
    """`(dataAreaId='usmf',CustomerAccount='US-001')`, percent-encoded as F&O puts it in Location headers."""
    parts = []
    for name in entity_set.keys:
        value, edm = row[entity_set.columns[name]], entity_set.properties[name]
        if enum_name(edm):
            literal = f"{NAMESPACE}.{enum_name(edm)}'{value}'"
        elif edm == "Edm.String":
            literal = "'" + str(value).replace("'", "''") + "'"
        else:
            literal = str(value)
        parts.append(f"{name}={quote(literal, safe=chr(39) + ':')}")
    return "(" + ",".join(parts) + ")"
