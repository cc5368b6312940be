"""A create or update body, checked the way Dataverse checks it, turned into the column values to store.

Lookups are written only through `<navigation>@odata.bind` (a `/set(id)`, `/set(key='v')`, absolute URL or a
batch `$n` reference), never as `_x_value`; unknown names, wrong JSON types and over-long text are refused with
Dataverse's error codes.

Assumption: a value for a column that is not valid for the operation (read-only columns such as `fullname` or
`versionnumber`, `pricelevelid` of a new product) is checked for its type and then ignored, not refused. Microsoft
wrote that the platform "will ignore any attribute values that are not allowed for create or update" (Dynamics CRM
team blog, 2007), and OData 4.0 (11.4.3) says a service must ignore non-updatable properties on update. What is
refused: properties the type does not declare, `_x_value` lookups, binds through undeclared navigation properties
and binds to tables the environment does not have.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from connectors.emulators.dataverse import errors
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.resources import parse_guid, parse_resource, relative_path
from connectors.emulators.dataverse.schema import (
    BIGINT,
    BINARY,
    BOOLEAN,
    DATETIME,
    DECIMAL,
    DOUBLE,
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
        elif name in entity_set.columns:
            column = entity_set.columns[name]
            converted = coerce(entity_set, column, value)
            if column.writable(creating=creating):
                values[name] = converted
        elif name in entity_set.navigation or name in entity_set.children:
            raise errors.invalid_argument(f"The emulator does not support deep insert: write '{name}' with "
                                          f"'{name}@odata.bind' or in its own request.")
        else:
            raise errors.unknown_property(name, entity_set.entity_type)
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
        # Assumption: a choice whose options the metadata does not record takes any whole number; a recorded one
        # only its options.
        if column.options is not None and number not in column.options:
            raise errors.out_of_range(column.name, entity_set.logical, number)
        return number
    if edm in (DECIMAL, DOUBLE):
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
    if edm == GUID and isinstance(value, str) and parse_guid(value) is not None:
        return parse_guid(value)
    if edm == BINARY and isinstance(value, str):
        try:
            base64.b64decode(value, validate=True)
            return value
        except (binascii.Error, ValueError):
            pass
    raise errors.bad_literal(entity_set.name, value, edm, column.name)


def _integer(entity_set: EntitySet, name: str, value: object, edm: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise errors.bad_literal(entity_set.name, value, edm, name)
    if edm == INT and not -(2**31) <= value < 2**31:
        raise errors.bad_literal(entity_set.name, value, edm, name)
    return value


def _datetime(entity_set: EntitySet, name: str, value: object) -> str:
    """Assumption: a date without a time is accepted too; the metadata does not say which DateTime columns are
    date-only (Edm.Date in Dataverse's own `$metadata`), so both forms are taken, as midnight UTC."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            return to_utc_text(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    raise errors.bad_literal(entity_set.name, value, DATETIME, name)


def _check_state(entity_set: EntitySet, values: dict[str, object]) -> None:
    """A state without a status gets the state's default status; a pair must belong together (when recorded)."""
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
    elif states[state].statuses and status not in states[state].statuses:
        raise errors.out_of_range("statuscode", entity_set.logical, status)


def _bind(entity_set: EntitySet, navigation: str, value: object, values: dict[str, object], *, creating: bool,
          records: Records, api_url: str, references: Mapping[str, str]) -> None:
    """Resolve `<navigation>@odata.bind` to the referenced record, which must exist."""
    nav = entity_set.navigation.get(navigation)
    if nav is None:
        raise errors.undeclared_navigation(entity_set.name, navigation)
    if value is not None and not isinstance(value, str):
        raise errors.bad_literal(entity_set.name, value, "Edm.EntityReference", navigation)
    target_id = None
    if value is not None:
        target_id = resolve_reference(value, records=records, api_url=api_url, references=references,
                                      expected=nav.target_set, navigation=navigation, source=entity_set)
    if nav.lookup is None:
        raise errors.invalid_argument(f"The emulator does not support binding '{navigation}', whose referencing "
                                      "attribute is not a lookup column.")
    if not nav.lookup.writable(creating=creating):
        return  # see the module's note: ignored, as other values not valid for the operation are
    values[nav.lookup.value_field] = target_id
    values[nav.lookup.type_field] = None if target_id is None else nav.target_set


def resolve_reference(url: str, *, records: Records, api_url: str, references: Mapping[str, str],
                      expected: str | None, navigation: str, source: EntitySet) -> str:
    """The id of the record an `@odata.bind` URL names (in entity set `expected`, None when the emulator does not
    serve the navigation's target table); 404 in Dataverse's words when it does not exist."""
    if url.startswith("$"):
        content_id, _, rest = url[1:].partition("/")
        if content_id not in references:
            raise errors.DataverseError(400, "", f"Content-ID Reference: '${content_id}' does not exist in the "
                                        "batch context.")
        url = references[content_id] + (f"/{rest}" if rest else "")
    path = relative_path(url, api_url)
    segment = path.split("(", 1)[0].split("/", 1)[0]
    if segment not in ENTITY_SETS:
        raise errors.unknown_bind_target(source.name, segment)
    resource = parse_resource(path, records.environment.active_keys)
    if resource.kind != "entity" or resource.entity_set is None or resource.key is None:
        raise errors.payload_error(source.name, f"Microsoft.OData.ODataException: The value '{url}' of "
                                   f"'{navigation}@odata.bind' is not the URL of one record.")
    if resource.entity_set.name != expected:
        nav = source.navigation[navigation]
        # Assumption: the wording; Dataverse refuses a record of another table for a navigation property.
        raise errors.payload_error(source.name, f"Microsoft.OData.ODataException: The navigation property "
                                   f"'{navigation}' expects a 'Microsoft.Dynamics.CRM.{nav.target}' record, not a "
                                   f"'{resource.entity_set.entity_type}' record.")
    target = ENTITY_SETS[expected]
    row = records.find(target, resource.key)
    if row is None:
        if resource.key.record_id is not None:
            raise errors.not_found(target.logical, resource.key.record_id)
        raise errors.not_found_by_key(target.logical)
    return row[target.key]
