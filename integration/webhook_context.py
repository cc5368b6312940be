"""Dataverse's RemoteExecutionContext (what a webhook posts), read into the Web API's JSON shape. Pure.

The context uses the SDK's data-contract JSON: attributes as `[{key, value}]`, dates as `/Date(ms)/`, lookups as
EntityReference objects, choices as OptionSetValue, currency as Money. The engine reads records through the Web
API, so a snapshot taken from a webhook must look like one read from there: lookups as `_<name>_value` (with the
logical-name annotation), choices as integers, money as numbers, dates as ISO 8601 UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
MESSAGES = ("Create", "Update", "Delete")
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"

_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ContextInvalid(ValueError):
    """The body is not a RemoteExecutionContext p2c can act on; the message says which part is wrong."""


@dataclass(frozen=True)
class ExecutionContext:
    message: str
    entity: str
    record_id: str
    operation_id: str
    correlation_id: str
    target: dict | None  # the Target's attributes in Web API shape (on Update: the changed columns only)
    post_image: dict | None  # the first post-entity image in Web API shape, when one was registered

    @property
    def entity_set(self) -> str:
        return entity_set_name(self.entity)


def entity_set_name(logical_name: str) -> str:
    """The Web API entity set of a table: account → accounts, opportunity → opportunities."""
    name = logical_name.lower()
    if name.endswith("y") and name[-2:-1] not in ("a", "e", "i", "o", "u"):
        return name[:-1] + "ies"
    if name.endswith(("s", "x", "z", "ch", "sh")):
        return name + "es"
    return name + "s"


def parse_date(text: str) -> str | None:
    """`/Date(1506409448000-0700)/` → `2017-09-26T07:04:08Z`; the milliseconds are UTC, the offset only informs."""
    match = _DATE.match(text)
    if match is None:
        return None
    moment = _EPOCH + timedelta(milliseconds=int(match.group(1)))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _type(value: Mapping) -> str:
    return str(value.get("__type", "")).split(":", 1)[0]


def web_api_fields(name: str, value: object) -> dict[str, object]:
    """One context attribute as the Web API would return it (a lookup brings its annotations along)."""
    if isinstance(value, Mapping):
        kind = _type(value)
        if kind == "EntityReference" or {"Id", "LogicalName"} <= value.keys():
            field = f"_{name}_value"
            fields = {field: value.get("Id"), f"{field}@{LOGICAL_NAME}": value.get("LogicalName")}
            if value.get("Name") is not None:
                fields[f"{field}@{FORMATTED}"] = value["Name"]
            return fields
        if kind in ("OptionSetValue", "Money") or set(value.keys()) - {"__type"} == {"Value"}:
            return {name: value.get("Value")}
        return {}  # party lists, aliased values: not columns a map reads
    if isinstance(value, list):  # a multi-select choice is a list of OptionSetValues; the Web API joins them
        if value and all(isinstance(item, Mapping) and _type(item) == "OptionSetValue" for item in value):
            return {name: ",".join(str(item.get("Value")) for item in value)}
        return {}
    if isinstance(value, str):
        date = parse_date(value)
        if date is not None:
            return {name: date}
    return {name: value}


def _pairs(items: object, what: str) -> list[tuple[str, object]]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, Mapping) and "key" in i for i in items):
        raise ContextInvalid(f"{what} must be a list of {{key, value}} pairs")
    return [(str(item["key"]), item.get("value")) for item in items]


def entity_attributes(entity: object, what: str) -> dict[str, object]:
    """An SDK Entity's attributes (and formatted values) in Web API shape."""
    if not isinstance(entity, Mapping):
        raise ContextInvalid(f"{what} must be an Entity object")
    record: dict[str, object] = {}
    for name, value in _pairs(entity.get("Attributes"), f"{what}.Attributes"):
        record.update(web_api_fields(name, value))
    for name, formatted in _pairs(entity.get("FormattedValues"), f"{what}.FormattedValues"):
        if name in record:
            record[f"{name}@{FORMATTED}"] = formatted
    return record


def parse_context(body: object) -> ExecutionContext:
    if not isinstance(body, Mapping):
        raise ContextInvalid("the body must be a JSON object (a RemoteExecutionContext)")
    message = body.get("MessageName")
    entity = body.get("PrimaryEntityName")
    record_id = body.get("PrimaryEntityId")
    for field, value in (("MessageName", message), ("PrimaryEntityName", entity), ("PrimaryEntityId", record_id)):
        if not isinstance(value, str) or not value.strip():
            raise ContextInvalid(f"{field} is missing")
    if not _GUID.fullmatch(record_id) or record_id == EMPTY_GUID:
        # Every Dataverse table's primary key is a GUID; anything else would be read as the record's id later.
        raise ContextInvalid(f"PrimaryEntityId {record_id[:100]!r} is not a record id (a GUID)")
    target = None
    for name, value in _pairs(body.get("InputParameters"), "InputParameters"):
        if name == "Target" and isinstance(value, Mapping) and "Attributes" in value:
            target = entity_attributes(value, "InputParameters.Target")
    images = _pairs(body.get("PostEntityImages"), "PostEntityImages")
    post_image = entity_attributes(images[0][1], "PostEntityImages") if images else None
    return ExecutionContext(message=message, entity=entity.lower(), record_id=record_id.lower(),
                            operation_id=str(body.get("OperationId") or "").lower(),
                            correlation_id=str(body.get("CorrelationId") or "").lower(),
                            target=target, post_image=post_image)
