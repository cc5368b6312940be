"""A create or update body, checked the way Dataverse checks it, turned into the column values to store.

Lookups are written only through `<navigation>@odata.bind` (a `/set(id)`, `/set(key='v')`, absolute URL or a
batch `$n` reference), never as `_x_value`; unknown names, wrong JSON types and over-long text are refused with
Dataverse's error codes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime

from connectors.emulators.dataverse import errors
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.resources import parse_guid, parse_resource
from connectors.emulators.dataverse.schema import (
    BIGINT,
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    ENTITY_SETS,
    GUID,
    INT,
    STRING,
    Column,
    EntitySet,
)

_NUMERIC = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?\Z")
_BIND = "@odata.bind"


def to_utc_text(moment: datetime) -> str:
    """Dataverse's datetime form: UTC, second precision, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_body(entity_set: EntitySet, body: object, *, creating: bool, records: Records, api_url: str,
               references: Mapping[str, str]) -> dict[str, object]:
    """The stored values a body sets, keyed by stored field (`_x_value` and its target for lookups)."""
    if not isinstance(body, dict):
        raise errors.payload_error(entity_set.name, "Microsoft.OData.ODataException: The request body must be a "
                                   "JSON object describing one entity.")
    values: dict[str, object] = {}
    for name, value in body.items():
        if name.endswith(_BIND):
            _bind(entity_set, name[: -len(_BIND)], value, values, creating=creating, records=records,
                  api_url=api_url, references=references)
        elif "@" in name:
            continue  # @odata.type and instance annotations carry no value to store
        elif name in entity_set.lookup_by_value_field:
            raise errors.lookup_value_written()
        elif name == entity_set.key:
            record_id = parse_guid(value) if isinstance(value, str) else None
            if record_id is None:
                raise errors.bad_literal(entity_set.name, value, GUID, name)
            values[name] = record_id
        elif name in ("statecode", "statuscode") and entity_set.states is not None:
            values[name] = _integer(entity_set, name, value, INT)
        elif name in entity_set.column_map:
            column = entity_set.column_map[name]
            converted = coerce(entity_set, column, value)
            if not column.read_only:  # Dataverse ignores values for columns that are not valid for writes
                values[name] = converted
        elif name in ("createdon", "modifiedon", "versionnumber"):
            continue
        elif name in entity_set.navigation or name in entity_set.children_by_navigation:
            raise errors.invalid_argument(f"The emulator does not support deep insert: write '{name}' with "
                                          f"'{name}@odata.bind' or in its own request.")
        else:
            raise errors.invalid_property(entity_set.name, name, entity_set.entity_type)
    _check_state(entity_set, values)
    return values


def coerce(entity_set: EntitySet, column: Column, value: object) -> object:
    """A JSON value as stored for `column`; the error names the column."""
    if value is None:
        return None
    edm = column.edm
    if edm == STRING:
        if not isinstance(value, str):
            raise errors.bad_literal(entity_set.name, value, edm, column.name)
        if column.max_length is not None and len(value) > column.max_length:
            raise errors.too_long(column.name, entity_set.logical, column.max_length)
        return value
    if edm in (INT, BIGINT):
        number = _integer(entity_set, column.name, value, edm)
        if column.options is not None and number not in column.options:
            raise errors.out_of_range(column.name, entity_set.logical, number)
        return number
    if edm == DECIMAL:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise errors.bad_literal(entity_set.name, value, edm, column.name)
        if isinstance(value, str) and not _NUMERIC.match(value.strip()):
            raise errors.bad_literal(entity_set.name, value, edm, column.name)
        return float(value)
    if edm == BOOLEAN:
        if not isinstance(value, bool):
            raise errors.bad_literal(entity_set.name, value, edm, column.name)
        return value
    if edm == DATETIME:
        return _datetime(entity_set, column.name, value)
    if edm == DATE and isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise errors.bad_literal(entity_set.name, value, edm, column.name)


def _integer(entity_set: EntitySet, name: str, value: object, edm: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise errors.bad_literal(entity_set.name, value, edm, name)
    if edm == INT and not -(2**31) <= value < 2**31:
        raise errors.bad_literal(entity_set.name, value, edm, name)
    return value


def _datetime(entity_set: EntitySet, name: str, value: object) -> str:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            return to_utc_text(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    raise errors.bad_literal(entity_set.name, value, DATETIME, name)


def _check_state(entity_set: EntitySet, values: dict[str, object]) -> None:
    """A state without a status gets the state's default status; a pair must belong together."""
    states = entity_set.states
    if states is None or ("statecode" not in values and "statuscode" not in values):
        return
    state, status = values.get("statecode"), values.get("statuscode")
    if state is None and status is not None:
        state = next((code for code, s in states.items() if status in s.statuses), None)
        if state is None:
            raise errors.out_of_range("statuscode", entity_set.logical, status)
        values["statecode"] = state
    if state not in states:
        raise errors.out_of_range("statecode", entity_set.logical, state)
    if status is None:
        values["statuscode"] = states[state].default_status
    elif status not in states[state].statuses:
        raise errors.out_of_range("statuscode", entity_set.logical, status)


def _bind(entity_set: EntitySet, navigation: str, value: object, values: dict[str, object], *, creating: bool,
          records: Records, api_url: str, references: Mapping[str, str]) -> None:
    """Resolve `<navigation>@odata.bind` to the referenced record, which must exist."""
    if navigation not in entity_set.navigation:
        raise errors.undeclared_navigation(entity_set.name, navigation)
    lookup, target_name = entity_set.navigation[navigation]
    if creating and not lookup.valid_for_create:
        # Assumption: the wording; the column's metadata says IsValidForCreate is false.
        raise errors.invalid_argument(f"The '{lookup.attribute}' attribute is not valid for create on the "
                                      f"'{entity_set.logical}' entity; set it with an update after the create.")
    if value is None:
        values[lookup.value_field] = None
        values[lookup.type_field] = None
        return
    if not isinstance(value, str):
        raise errors.bad_literal(entity_set.name, value, "Edm.EntityReference", navigation)
    target = resolve_reference(value, records=records, api_url=api_url, references=references,
                               expected=ENTITY_SETS[target_name], navigation=navigation, source=entity_set)
    values[lookup.value_field] = target
    values[lookup.type_field] = target_name


def resolve_reference(url: str, *, records: Records, api_url: str, references: Mapping[str, str],
                      expected: EntitySet, navigation: str, source: EntitySet) -> str:
    """The id of the record an `@odata.bind` URL names; 404 in Dataverse's words when it does not exist."""
    if url.startswith("$"):
        content_id, _, rest = url[1:].partition("/")
        if content_id not in references:
            raise errors.DataverseError(400, "", f"Content-ID Reference: '${content_id}' does not exist in the "
                                        "batch context.")
        url = references[content_id] + (f"/{rest}" if rest else "")
    path = url
    root_path = "/" + api_url.split("/", 3)[3]
    if path.lower().startswith(api_url.lower()):
        path = path[len(api_url):]
    elif path.startswith(root_path):
        path = path[len(root_path):]
    resource = parse_resource(path.lstrip("/").split("?", 1)[0])
    if resource.kind != "entity" or resource.entity_set is None or resource.key is None:
        raise errors.payload_error(source.name, f"Microsoft.OData.ODataException: The value '{url}' of "
                                   f"'{navigation}@odata.bind' is not the URL of one record.")
    if resource.entity_set.name != expected.name:
        # Assumption: the wording; Dataverse refuses a record of another table for a navigation property.
        raise errors.payload_error(source.name, f"Microsoft.OData.ODataException: The navigation property "
                                   f"'{navigation}' expects a '{expected.entity_type}' record, not a "
                                   f"'{resource.entity_set.entity_type}' record.")
    row = records.find(expected, resource.key)
    if row is None:
        if resource.key.record_id is not None:
            raise errors.not_found(expected.logical, resource.key.record_id)
        raise errors.not_found_by_key(expected.logical)
    return row[expected.key]
