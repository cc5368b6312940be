"""What a Web API URL addresses: the service root, `$metadata`, `$batch`, a function, an entity set, its
`$count`, an action bound to it (the bulk messages), one record by primary key or alternate key, or one column of
a record.

Paths are split while still percent-encoded, so a `/` encoded inside a key value never splits a segment.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from connectors.emulators.dataverse import errors
from connectors.emulators.dataverse.errors import DataverseError, query_error, segment_not_found
from connectors.emulators.dataverse.schema import BIGINT, DECIMAL, DOUBLE, ENTITY_SETS, INT, EntitySet

# Characters a key value cannot carry in a URL: IIS refuses them in the path even when percent-encoded.
FORBIDDEN_KEY_CHARACTERS = frozenset("<>*%&:/\\")
FUNCTIONS = frozenset({"WhoAmI"})
ACTION_NAMESPACE = "Microsoft.Dynamics.CRM."
# The actions the emulator binds to every entity set (bulk-operations.md).
COLLECTION_ACTIONS = frozenset({"CreateMultiple", "UpdateMultiple", "UpsertMultiple"})
_GUID = re.compile(r"\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?\Z")
_NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")
KeyLookup = Callable[[str], dict[str, tuple[str, ...]]]  # entity set name -> its Active keys' columns


@dataclass(frozen=True)
class RecordKey:
    """One record's address: its id, or the values of one alternate key (`index` names the key)."""

    record_id: str | None = None
    index: str | None = None
    values: tuple = ()
    columns: tuple[str, ...] = ()  # the alternate key's columns, in the key's order
    segment: str = ""  # the URL segment as sent, e.g. "accounts(accountnumber='A1')", for OData-EntityId


@dataclass(frozen=True)
class Resource:
    kind: str  # root, metadata, batch, function, collection, count, action, entity, property
    entity_set: EntitySet | None = None
    key: RecordKey | None = None
    name: str = ""  # the function, action or property name


def parse_guid(text: str) -> str | None:
    """A GUID in Dataverse's lowercase form, or None when `text` is not one."""
    match = _GUID.match(text.strip())
    return str(uuid.UUID(match.group(1))) if match else None


def parse_resource(raw: str, keys: KeyLookup) -> Resource:
    """The resource of a path relative to the service root (still percent-encoded, without the query); `keys`
    gives a table's Active alternate keys."""
    segments = raw.split("/") if raw else []
    if segments and segments[-1] == "":
        segments.pop()
    if not segments:
        return Resource("root")
    first = unquote(segments[0].split("(", 1)[0])
    if first in ("$metadata", "$batch") and len(segments) == 1 and "(" not in segments[0]:
        return Resource(first[1:])
    if first in FUNCTIONS and len(segments) == 1 and segments[0].removeprefix(first) in ("", "()"):
        return Resource("function", name=first)
    entity_set = ENTITY_SETS.get(first)
    if entity_set is None:
        raise segment_not_found(first)
    head = segments[0]
    key = None
    if "(" in head:
        if not head.endswith(")"):
            raise query_error("Bad Request - Error in query syntax.")
        key = parse_key(entity_set, head.partition("(")[2][:-1], head, keys)
    rest = [unquote(segment) for segment in segments[1:]]
    if key is None:
        if not rest:
            return Resource("collection", entity_set)
        if rest == ["$count"]:
            return Resource("count", entity_set)
        if len(rest) == 1 and rest[0].startswith(ACTION_NAMESPACE) \
                and rest[0][len(ACTION_NAMESPACE):] in COLLECTION_ACTIONS:
            return Resource("action", entity_set, name=rest[0][len(ACTION_NAMESPACE):])
        raise segment_not_found(rest[0])
    if not rest:
        return Resource("entity", entity_set, key)
    if len(rest) == 1 and rest[0] in entity_set.properties:
        return Resource("property", entity_set, key, rest[0])
    raise segment_not_found(rest[0])


def bound_action(path: str) -> str | None:
    """The bulk message a request path invokes (`.../accounts/Microsoft.Dynamics.CRM.CreateMultiple`), or None."""
    last = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    name = last[len(ACTION_NAMESPACE):] if last.startswith(ACTION_NAMESPACE) else ""
    return name if name in COLLECTION_ACTIONS else None


def relative_path(url: str, api_url: str) -> str:
    """A record URL as a path relative to the service root: absolute (`https://.../api/data/v9.2/accounts(..)`),
    rooted (`/api/data/v9.2/accounts(..)`) or already relative (`accounts(..)`), without its query."""
    root_path = "/" + api_url.split("/", 3)[3]
    path = url
    if path.lower().startswith(api_url.lower()):
        path = path[len(api_url):]
    elif path.startswith(root_path):
        path = path[len(root_path):]
    return path.lstrip("/").split("?", 1)[0]


def parse_key(entity_set: EntitySet, raw_predicate: str, segment: str, keys: KeyLookup) -> RecordKey:
    """`(<guid>)`, `(accountid=<guid>)` or `(accountnumber='A''1')` -> RecordKey; a key must be Active."""
    predicate = unquote(raw_predicate)
    parts = _split_predicate(predicate)
    if len(parts) == 1 and "=" not in parts[0].split("'", 1)[0]:
        record_id = parse_guid(parts[0])
        if record_id is None:
            raise query_error("Bad Request - Error in query syntax.")
        return RecordKey(record_id=record_id, segment=segment)
    values: dict[str, object] = {}
    for part in parts:
        name, sep, literal = part.partition("=")
        name = name.strip()
        if not sep or not name or name in values:
            raise query_error("Bad Request - Error in query syntax.")
        values[name] = _key_literal(entity_set, name, literal.strip())
    if list(values) == [entity_set.key]:
        record_id = values[entity_set.key]
        if not isinstance(record_id, str) or parse_guid(record_id) is None:
            raise query_error("Bad Request - Error in query syntax.")
        return RecordKey(record_id=parse_guid(record_id), segment=segment)
    for index, columns in keys(entity_set.name).items():
        if set(columns) == set(values):
            return RecordKey(index=index, values=tuple(values[c] for c in columns), segment=segment, columns=columns)
    raise errors.key_not_defined(entity_set.logical)


def _split_predicate(predicate: str) -> list[str]:
    """Split `a='x,y',b=2` at the commas outside quotes; a quote inside a literal is written twice."""
    parts, current, quoted = [], [], False
    for char in predicate:
        if char == "'":
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise query_error("Bad Request - Error in query syntax.")
    parts.append("".join(current))
    return [part.strip() for part in parts]


def _key_literal(entity_set: EntitySet, name: str, literal: str) -> object:
    if len(literal) >= 2 and literal[0] == literal[-1] == "'":
        value = literal[1:-1]
        if "'" in value.replace("''", ""):
            raise query_error("Bad Request - Error in query syntax.")
        value = value.replace("''", "'")
        if FORBIDDEN_KEY_CHARACTERS & set(value):
            raise query_error("Bad Request - Error in query syntax.")
        return value
    guid = parse_guid(literal)
    if guid is not None:
        return guid
    edm = entity_set.properties.get(name)
    if _NUMBER.match(literal) and edm in (INT, BIGINT, DECIMAL, DOUBLE):
        return float(literal) if "." in literal else int(literal)
    raise DataverseError(400, "0x80060888", "Bad Request - Error in query syntax.")
