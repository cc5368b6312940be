"""What an environment says about itself: its `$metadata` (CSDL) and, for Dataverse, its table definitions.

Both services answer `$metadata` with the same CSDL shape, so one parser reads them: entity sets and their
types (keys, properties with type and nullability, navigation properties), enum types, Dataverse's alternate-key
annotations and change-tracking annotations. Real documents are large (tens of MB), so elements are dropped as
soon as they are read and only what a check needs is kept. Dataverse's `EntityDefinitions` adds what CSDL leaves
out: required levels, which columns can be written, the alternate keys with their index status, change tracking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO

from defusedxml.ElementTree import iterparse

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@dataclass(frozen=True)
class Property:
    name: str
    type: str  # an Edm type, or an enum type's qualified name
    nullable: bool


@dataclass(frozen=True)
class Navigation:
    name: str
    type: str  # the target entity type's qualified name
    collection: bool
    local_property: str = ""  # Dataverse: the lookup's `_x_value` property, from the ReferentialConstraint


@dataclass(frozen=True)
class EntityType:
    name: str  # qualified, e.g. Microsoft.Dynamics.DataEntities.CustomerV3
    key: tuple[str, ...]
    properties: dict[str, Property]
    navigation: dict[str, Navigation]
    alternate_keys: tuple[tuple[str, ...], ...] = ()  # Dataverse: the Active ones, as $metadata lists them

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class ServiceModel:
    """Entity set name -> its entity type; enum type (qualified) -> member -> value."""

    entity_sets: dict[str, EntityType]
    enums: dict[str, dict[str, int]]
    change_tracking: dict[str, bool] = field(default_factory=dict)  # entity set -> Supported, when annotated

    def enum_members(self, type_name: str) -> dict[str, int] | None:
        return self.enums.get(type_name)


def parse_csdl(source: IO[bytes]) -> ServiceModel:
    """A CSDL document -> the model of its entity sets (each element is dropped once read)."""
    types: dict[str, EntityType] = {}
    enums: dict[str, dict[str, int]] = {}
    set_types: dict[str, str] = {}
    change_tracking: dict[str, bool] = {}
    namespaces: list[str] = []
    for event, element in iterparse(source, events=("start", "end")):
        tag = element.tag
        if event == "start":
            if tag == f"{EDM}Schema":
                namespaces.append(element.get("Namespace", ""))
            continue
        namespace = namespaces[-1] if namespaces else ""
        if tag == f"{EDM}EntityType":
            entity_type = _entity_type(element, namespace)
            types[entity_type.name] = entity_type
            element.clear()
        elif tag == f"{EDM}EnumType":
            enums[f"{namespace}.{element.get('Name')}"] = {
                member.get("Name"): int(member.get("Value", index))
                for index, member in enumerate(element.findall(f"{EDM}Member"))}
            element.clear()
        elif tag == f"{EDM}EntitySet":
            name = element.get("Name")
            set_types[name] = _qualified(element.get("EntityType", ""))
            tracked = _change_tracking(element)
            if tracked is not None:
                change_tracking[name] = tracked
            element.clear()
    entity_sets = {name: types[type_name] for name, type_name in set_types.items() if type_name in types}
    return ServiceModel(entity_sets, enums, change_tracking)


def _entity_type(element, namespace: str) -> EntityType:
    key = tuple(ref.get("Name") for ref in element.findall(f"{EDM}Key/{EDM}PropertyRef"))
    properties = {prop.get("Name"): Property(prop.get("Name"), _qualified(prop.get("Type", "")),
                                             prop.get("Nullable", "true").lower() != "false")
                  for prop in element.findall(f"{EDM}Property")}
    navigation = {}
    for nav in element.findall(f"{EDM}NavigationProperty"):
        type_text = _qualified(nav.get("Type", ""))
        collection = type_text.startswith("Collection(")
        constraint = nav.find(f"{EDM}ReferentialConstraint")
        navigation[nav.get("Name")] = Navigation(nav.get("Name"), type_text.removeprefix("Collection(").rstrip(")"),
                                                 collection, "" if constraint is None else constraint.get("Property"))
    alternate_keys = []
    for annotation in element.findall(f"{EDM}Annotation"):
        if annotation.get("Term") != "OData.Community.Keys.V1.AlternateKeys":
            continue
        for record in annotation.iter(f"{EDM}Record"):
            if record.get("Type", "").endswith("AlternateKey"):
                paths = [value.get("PropertyPath") for value in record.iter(f"{EDM}PropertyValue")
                         if value.get("Property") == "Name" and value.get("PropertyPath")]
                if paths:
                    alternate_keys.append(tuple(paths))
    return EntityType(f"{namespace}.{element.get('Name')}", key, properties, navigation, tuple(alternate_keys))


def _qualified(type_name: str) -> str:
    """Dataverse's CSDL writes types with its alias `mscrm.`; the model uses the namespace."""
    return type_name.replace("mscrm.", "Microsoft.Dynamics.CRM.")


def _change_tracking(element) -> bool | None:
    for annotation in element.findall(f"{EDM}Annotation"):
        if annotation.get("Term") == "Org.OData.Capabilities.V1.ChangeTracking":
            for value in annotation.iter(f"{EDM}PropertyValue"):
                if value.get("Property") == "Supported":
                    return value.get("Bool", "false").lower() == "true"
    return None


# --- Dataverse table definitions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttributeDefinition:
    name: str
    type: str  # AttributeType: String, Lookup, Picklist, ...
    required_level: str  # None, Recommended, ApplicationRequired, SystemRequired
    valid_for_create: bool
    valid_for_update: bool


@dataclass(frozen=True)
class KeyDefinition:
    name: str
    attributes: tuple[str, ...]
    status: str  # Active, Pending, InProgress, Failed

    @property
    def active(self) -> bool:
        return self.status == "Active"


@dataclass(frozen=True)
class TableDefinition:
    logical_name: str
    entity_set: str
    change_tracking: bool
    attributes: dict[str, AttributeDefinition]
    keys: tuple[KeyDefinition, ...]


TABLE_DEFINITION_QUERY = {
    "$select": "LogicalName,EntitySetName,ChangeTrackingEnabled",
    "$expand": "Attributes($select=LogicalName,AttributeType,RequiredLevel,IsValidForCreate,IsValidForUpdate),"
               "Keys($select=LogicalName,KeyAttributes,EntityKeyIndexStatus)",
}


def table_definition(body: dict) -> TableDefinition:
    """An `EntityDefinitions(LogicalName='x')` answer (with Attributes and Keys expanded) -> TableDefinition."""
    attributes = {}
    for attribute in body.get("Attributes") or ():
        required = attribute.get("RequiredLevel") or {}
        attributes[attribute["LogicalName"]] = AttributeDefinition(
            attribute["LogicalName"], str(attribute.get("AttributeType") or ""),
            str(required.get("Value") if isinstance(required, dict) else required or "None"),
            bool(attribute.get("IsValidForCreate")), bool(attribute.get("IsValidForUpdate")))
    keys = tuple(KeyDefinition(key.get("LogicalName", ""), tuple(key.get("KeyAttributes") or ()),
                               str(key.get("EntityKeyIndexStatus") or ""))
                 for key in body.get("Keys") or ())
    return TableDefinition(body.get("LogicalName", ""), body.get("EntitySetName", ""),
                           bool(body.get("ChangeTrackingEnabled")), attributes, keys)
