"""`GET /data/$metadata`: the CSDL document of the entity sets the emulator serves, built from the same
Microsoft metadata that drives them (types, keys, Nullable="false", enum members and values, navigation
properties), so a pre-flight check of a template reads here what it would read from F&O.

Real F&O metadata lists thousands of entities; this one lists the served ones, in the same namespace, with the
navigation properties whose target is served, and the enum types their properties use. The metadata has no
MaxLength, precision or scale, so neither does this document.
"""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import quoteattr

from connectors.emulators.finops.entities import ENTITY_SETS
from connectors.emulators.finops.schema import NAMESPACE
from connectors.emulators.finops.surface import EntitySet
from connectors.emulators.microsoft_metadata import finops_enums


def _element(tag: str, attributes: dict[str, str], children: str | None = None) -> str:
    text = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items())
    return f"<{tag}{text} />" if children is None else f"<{tag}{text}>{children}</{tag}>"


def _entity_type(entity_set: EntitySet) -> str:
    parts = [_element("Key", {}, "".join(_element("PropertyRef", {"Name": name}) for name in entity_set.keys))]
    for prop in entity_set.metadata.properties.values():
        nullable = {} if prop.nullable else {"Nullable": "false"}
        parts.append(_element("Property", {"Name": prop.name, "Type": prop.qualified_type, **nullable}))
    for name in entity_set.joins:
        navigation = entity_set.navigation(name)
        target = ENTITY_SETS[navigation.target].qualified_type
        parts.append(_element("NavigationProperty", {
            "Name": name, "Type": f"Collection({target})" if navigation.many else target}))
    return _element("EntityType", {"Name": entity_set.type_name}, "".join(parts))


def _enum_type(name: str) -> str:
    members = "".join(_element("Member", {"Name": member, "Value": str(value)})
                      for member, value in finops_enums()[name].items())
    return _element("EnumType", {"Name": name}, members)


def _entity_set(entity_set: EntitySet) -> str:
    bindings = "".join(_element("NavigationPropertyBinding", {"Path": name,
                                                              "Target": entity_set.navigation(name).target})
                       for name in entity_set.joins)
    return _element("EntitySet", {"Name": entity_set.name, "EntityType": entity_set.qualified_type}, bindings)


@cache
def csdl() -> str:
    used = sorted({prop.type for entity_set in ENTITY_SETS.values()
                   for prop in entity_set.metadata.properties.values() if prop.is_enum})
    types = "".join(_entity_type(entity_set) for entity_set in ENTITY_SETS.values())
    enums = "".join(_enum_type(name) for name in used)
    container = _element("EntityContainer", {"Name": "Resources"},
                         "".join(_entity_set(entity_set) for entity_set in ENTITY_SETS.values()))
    schema = _element("Schema", {"Namespace": NAMESPACE, "xmlns": "http://docs.oasis-open.org/odata/ns/edm"},
                      types + enums + container)
    return ('<?xml version="1.0" encoding="utf-8"?>'
            + _element("edmx:Edmx", {"Version": "4.0", "xmlns:edmx": "http://docs.oasis-open.org/odata/ns/edmx"},
                       _element("edmx:DataServices", {}, schema)))
