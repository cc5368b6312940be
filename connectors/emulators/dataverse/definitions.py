"""Table definitions as the Web API serves them (`EntityDefinitions`), from the tables the emulator serves and its
environment: `EntityDefinitions(LogicalName='account')` (or by MetadataId) with `$select` and `$expand=Attributes,Keys`
(nested `$select` and `$filter`), `/Attributes` (also cast to a type such as `StringAttributeMetadata`, which
brings its own properties, MaxLength or Targets), `/Keys`, and the `EntityDefinitions` collection.

Shapes follow Microsoft's "Query table definitions using the Web API" and the metadata entity type reference:
enumerations as their member names, `RequiredLevel` and `AttributeTypeName` as complex values, attributes typed
by `@odata.type`, `MetadataId` always returned. Assumptions: only the properties below are served (a `$select` of
another one is refused as an unknown property); MetadataIds are derived from the names (stable, not Microsoft's);
a single definition's context ends in `/$entity`, as other single reads do.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from connectors.emulators.dataverse import errors
from connectors.emulators.dataverse.environment import Environment
from connectors.emulators.dataverse.reads import json_body, parse_options, split_top_level
from connectors.emulators.dataverse.resources import parse_guid
from connectors.emulators.dataverse.schema import BOOLEAN, BY_LOGICAL_NAME, ENTITY_SETS, GUID, STRING, Column, EntitySet
from connectors.emulators.odata.errors import unknown_property
from connectors.emulators.odata.filter import STRING_FUNCTIONS, Dialect, compile_filter
from connectors.emulators.odata.query import validate_properties
from connectors.emulators.server import Request, Response

NAMESPACE = "Microsoft.Dynamics.CRM"
METADATA = Dialect("dataverse-metadata", STRING_FUNCTIONS, enum_namespace=NAMESPACE)
_IDS = uuid.UUID("0d3b1c55-6f0e-4a8e-9f3e-2d1f5c7a9b11")
_NAME_KEY = re.compile(r"(?:LogicalName|SchemaName)='((?:[^']|'')*)'\Z")

ENTITY_PROPERTIES = {"MetadataId": GUID, "LogicalName": STRING, "EntitySetName": STRING, "PrimaryIdAttribute": STRING,
                     "PrimaryNameAttribute": STRING, "ChangeTrackingEnabled": BOOLEAN}
ATTRIBUTE_PROPERTIES = {"MetadataId": GUID, "LogicalName": STRING, "EntityLogicalName": STRING,
                        "AttributeType": "Enum:AttributeTypeCode", "AttributeTypeName": "Complex",
                        "RequiredLevel": "Complex", "IsValidForCreate": BOOLEAN, "IsValidForUpdate": BOOLEAN,
                        "IsValidForRead": BOOLEAN, "IsPrimaryId": BOOLEAN, "IsPrimaryName": BOOLEAN,
                        "AttributeOf": STRING, "IsCustomAttribute": BOOLEAN}
TYPE_PROPERTIES = {"StringAttributeMetadata": {"MaxLength": "Edm.Int32"},
                   "MemoAttributeMetadata": {"MaxLength": "Edm.Int32"},
                   "LookupAttributeMetadata": {"Targets": "Collection"}}
KEY_PROPERTIES = {"MetadataId": GUID, "LogicalName": STRING, "SchemaName": STRING, "EntityLogicalName": STRING,
                  "KeyAttributes": "Collection", "EntityKeyIndexStatus": "Enum:EntityKeyIndexStatus",
                  "IsManaged": BOOLEAN}
_METADATA_TYPES = {"Lookup": "LookupAttributeMetadata", "Customer": "LookupAttributeMetadata",
                   "Owner": "LookupAttributeMetadata", "Uniqueidentifier": "UniqueIdentifierAttributeMetadata"}
_PARTS = {"Attributes": (ATTRIBUTE_PROPERTIES, "AttributeMetadata"), "Keys": (KEY_PROPERTIES, "EntityKeyMetadata")}


def metadata_id(*names: str) -> str:
    return str(uuid.uuid5(_IDS, ":".join(names)))


def attribute_type(column: Column) -> str:
    """The AttributeType the definition reports. Assumption: a column whose type the metadata does not know is
    reported as a read-only String, as the emulator serves it."""
    return column.attribute_type or "String"


def metadata_type(column: Column) -> str:
    kind = attribute_type(column)
    return _METADATA_TYPES.get(kind, f"{kind}AttributeMetadata")


def attribute_definition(entity_set: EntitySet, column: Column) -> dict[str, object]:
    kind = attribute_type(column)
    level = column.required_level
    item: dict[str, object] = {
        "@odata.type": f"#{NAMESPACE}.{metadata_type(column)}",
        "MetadataId": metadata_id("attribute", entity_set.logical, column.name),
        "LogicalName": column.name, "EntityLogicalName": entity_set.logical, "AttributeType": kind,
        "AttributeTypeName": {"Value": f"{kind}Type"},
        "RequiredLevel": {"Value": level, "CanBeChanged": level != "SystemRequired",
                          "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
        "IsValidForCreate": column.valid_for_create, "IsValidForUpdate": column.valid_for_update,
        "IsValidForRead": True, "IsPrimaryId": column.name == entity_set.key,
        "IsPrimaryName": column.name == entity_set.primary_name, "AttributeOf": column.attribute_of,
        "IsCustomAttribute": bool(column.solution),
    }
    if kind in ("String", "Memo"):
        item["MaxLength"] = column.max_length
    if column.name in entity_set.lookups:
        item["Targets"] = list(entity_set.lookups[column.name].targets)
    return item


def key_definitions(entity_set: EntitySet, environment: Environment) -> list[dict[str, object]]:
    return [{"MetadataId": metadata_id("key", entity_set.logical, key.name), "LogicalName": key.name,
             "SchemaName": key.name, "EntityLogicalName": entity_set.logical, "KeyAttributes": list(key.columns),
             "EntityKeyIndexStatus": key.status, "IsManaged": key.managed}
            for key in environment.keys[entity_set.name].values()]


def entity_definition(entity_set: EntitySet, environment: Environment) -> dict[str, object]:
    return {"MetadataId": metadata_id("entity", entity_set.logical), "LogicalName": entity_set.logical,
            "EntitySetName": entity_set.name, "PrimaryIdAttribute": entity_set.key,
            "PrimaryNameAttribute": entity_set.primary_name,
            "ChangeTrackingEnabled": environment.tracks(entity_set.name)}


@dataclass(frozen=True)
class _Expand:
    part: str
    select: list[str] | None
    filter: Callable[[Mapping], bool] | None


def handle_definitions(request: Request, path: str, environment: Environment, api_url: str) -> Response:
    """`path` is relative to the service root and starts with `EntityDefinitions`."""
    if request.method != "GET":
        raise errors.DataverseError(405, "0x80060888", "The requested resource does not support http method "
                                    f"'{request.method}'.")
    segments = [unquote(segment) for segment in path.split("/")]
    head, _, key = segments[0].partition("(")
    if head != "EntityDefinitions":
        raise errors.segment_not_found(head)
    options = parse_options(request)
    if not key:
        if len(segments) > 1:
            raise errors.segment_not_found(segments[1])
        return _collection(options, environment, api_url)
    if not key.endswith(")"):
        raise errors.query_error("Bad Request - Error in query syntax.")
    entity_set = _find(key[:-1])
    if len(segments) == 1:
        return _single(entity_set, options, environment, api_url)
    return _part(entity_set, segments[1:], options, environment, api_url)


def _find(key: str) -> EntitySet:
    guid = parse_guid(key.removeprefix("MetadataId="))
    if guid is not None:
        found = next((e for e in ENTITY_SETS.values() if metadata_id("entity", e.logical) == guid), None)
        if found is None:
            raise errors.DataverseError(404, "0x80040217", f"Could not find an entity with name  and id {guid}.")
        return found
    match = _NAME_KEY.match(key)
    if match is None:
        raise errors.query_error("Bad Request - Error in query syntax.")
    name = match.group(1).replace("''", "'")
    if name not in BY_LOGICAL_NAME:
        raise errors.definition_not_found(name)
    return BY_LOGICAL_NAME[name]


def _select(options_select: list[str] | None, properties: Mapping[str, str], type_name: str) -> list[str] | None:
    if options_select is not None:
        validate_properties(options_select, properties, f"{NAMESPACE}.{type_name}")
    return options_select


def _project(item: Mapping[str, object], select: list[str] | None) -> dict[str, object]:
    if select is None:
        return dict(item)
    kept = {name: item[name] for name in ("@odata.type",) if name in item}
    kept.update({name: item.get(name) for name in select})
    kept["MetadataId"] = item["MetadataId"]
    return kept


def _filter(text: str | None, properties: Mapping[str, str], type_name: str) -> Callable[[Mapping], bool] | None:
    if text is None:
        return None
    primitive = {name: edm for name, edm in properties.items() if edm not in ("Complex", "Collection")}
    return compile_filter(text, METADATA, primitive, f"{NAMESPACE}.{type_name}")


def _collection(options, environment: Environment, api_url: str) -> Response:
    select = _select(options.select, ENTITY_PROPERTIES, "EntityMetadata")
    predicate = _filter(options.filter, ENTITY_PROPERTIES, "EntityMetadata")
    rows = [entity_definition(entity_set, environment) for entity_set in ENTITY_SETS.values()]
    value = [_project(row, select) for row in rows if predicate is None or predicate(row)]
    context = f"{api_url}$metadata#EntityDefinitions" + (f"({','.join(select)})" if select else "")
    return json_body(200, {"@odata.context": context, "value": value}, [])


def _single(entity_set: EntitySet, options, environment: Environment, api_url: str) -> Response:
    if options.filter or options.orderby or options.top is not None:
        raise errors.query_error("Only $select and $expand apply to a single record.")
    select = _select(options.select, ENTITY_PROPERTIES, "EntityMetadata")
    expands = _parse_expand(options.expand) if options.expand else []
    body = _project(entity_definition(entity_set, environment), select)
    context_items = list(select or [])
    for item in expands:
        rows = _part_rows(entity_set, item.part, None, environment)
        body[item.part] = [_project(row, item.select) for row in rows if item.filter is None or item.filter(row)]
        context_items.append(f"{item.part}({','.join(item.select)})" if item.select else item.part)
    context = f"{api_url}$metadata#EntityDefinitions" + (f"({','.join(context_items)})" if context_items else "")
    return json_body(200, {"@odata.context": context + "/$entity", **body}, [])


def _parse_expand(text: str) -> list[_Expand]:
    expands = []
    for item in split_top_level(text, ","):
        name, _, rest = item.partition("(")
        name = name.strip()
        if name not in _PARTS:
            if name in ENTITY_PROPERTIES:
                raise errors.query_error(f"Property '{name}' on type '{NAMESPACE}.EntityMetadata' is not a "
                                         "navigation property or complex property. Only navigation properties can "
                                         "be expanded.")
            raise unknown_property(name, f"{NAMESPACE}.EntityMetadata")
        properties, type_name = _PARTS[name]
        select, predicate = None, None
        if rest:
            if not rest.endswith(")"):
                raise errors.query_error(f"Syntax error in $expand at '{item}'.")
            for option in split_top_level(rest[:-1], ";"):
                key, _, value = option.partition("=")
                if key.strip() == "$select":
                    select = _select([c.strip() for c in value.split(",") if c.strip()], properties, type_name)
                elif key.strip() == "$filter":
                    predicate = _filter(value, properties, type_name)
                else:
                    raise errors.query_error(f"The emulator supports only $select and $filter inside $expand, not "
                                             f"'{key.strip()}'.")
        expands.append(_Expand(name, select, predicate))
    return expands


def _part_rows(entity_set: EntitySet, part: str, cast: str | None, environment: Environment) -> list[dict]:
    if part == "Keys":
        return key_definitions(entity_set, environment)
    rows = [attribute_definition(entity_set, column) for column in entity_set.attributes.values()]
    if cast is not None:
        rows = [row for row in rows if row["@odata.type"] == f"#{NAMESPACE}.{cast}"]
    return rows


def _part(entity_set: EntitySet, segments: list[str], options, environment: Environment, api_url: str) -> Response:
    """`/Attributes[/<cast>][(<key>)]` or `/Keys[(<key>)]`."""
    name, _, key = segments[0].partition("(")
    if name not in _PARTS:
        raise errors.segment_not_found(name)
    properties, type_name = _PARTS[name]
    cast = None
    rest = segments[1:]
    if name == "Attributes" and rest and rest[0].startswith(f"{NAMESPACE}."):
        cast_name, _, cast_key = rest[0][len(NAMESPACE) + 1:].partition("(")
        known = {metadata_type(column) for column in entity_set.attributes.values()} | set(TYPE_PROPERTIES)
        if cast_name not in known and not cast_name.endswith("AttributeMetadata"):
            raise errors.segment_not_found(rest[0])
        cast, type_name = cast_name, cast_name
        properties = {**properties, **TYPE_PROPERTIES.get(cast_name, {})}
        key, rest = key or cast_key, rest[1:]
    if rest:
        raise errors.segment_not_found(rest[0])
    select = _select(options.select, properties, type_name)
    rows = _part_rows(entity_set, name, cast, environment)
    owner = metadata_id("entity", entity_set.logical)
    base = f"{api_url}$metadata#EntityDefinitions({owner})/{name}" + (f"/{NAMESPACE}.{cast}" if cast else "")
    selected = f"({','.join(select)})" if select else ""
    if key:
        wanted = key.rstrip(")")
        guid = parse_guid(wanted)
        match = _NAME_KEY.match(wanted)
        found = next((row for row in rows if row["MetadataId"] == guid
                      or (match and row["LogicalName"] == match.group(1).replace("''", "'"))), None)
        if found is None:
            raise errors.DataverseError(404, "0x80040217", f"Could not find {name[:-1].lower()} '{wanted}' of the "
                                        f"'{entity_set.logical}' entity.")
        return json_body(200, {"@odata.context": base + selected + "/$entity", **_project(found, select)}, [])
    predicate = _filter(options.filter, properties, type_name)
    value = [_project(row, select) for row in rows if predicate is None or predicate(row)]
    return json_body(200, {"@odata.context": base + selected, "value": value}, [])
