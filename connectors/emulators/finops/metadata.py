"""A CSDL `$metadata` document for the emulated entity sets: keys, property types, enum types, navigations.

Real F&O metadata lists thousands of entities; this one lists what the emulator serves, in the same namespace.
"""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import quoteattr

from connectors.emulators.finops.entities import ENTITY_SETS
from connectors.emulators.finops.schema import ENUMS, NAMESPACE, EntitySet


def _property(entity_set: EntitySet, name: str) -> str:
    field = entity_set.field(name)
    edm = f"{NAMESPACE}.{field.enum}" if field.enum else field.edm
    nullable = ' Nullable="false"' if name in entity_set.keys or edm != "Edm.String" else ""
    size = f' MaxLength="{field.size}"' if field.size else ""
    return f'<Property Name="{name}" Type="{edm}"{nullable}{size} />'


def _navigation_type(many: bool, target: EntitySet) -> str:
    return f"Collection({target.qualified_type})" if many else target.qualified_type


def _entity_type(entity_set: EntitySet) -> str:
    keys = "".join(f'<PropertyRef Name="{name}" />' for name in entity_set.keys)
    properties = "".join(_property(entity_set, name) for name in entity_set.fields)
    navigations = "".join(
        f'<NavigationProperty Name="{nav.name}" Type="{_navigation_type(nav.many, ENTITY_SETS[nav.target])}" />'
        for nav in entity_set.navigations)
    return f'<EntityType Name="{entity_set.type_name}"><Key>{keys}</Key>{properties}{navigations}</EntityType>'


@cache
def csdl() -> str:
    enums = "".join(
        f'<EnumType Name="{name}">'
        + "".join(f"<Member Name={quoteattr(member)} Value=\"{value}\" />" for value, member in enumerate(members))
        + "</EnumType>"
        for name, members in ENUMS.items())
    types = "".join(_entity_type(entity_set) for entity_set in ENTITY_SETS.values())
    sets = "".join(f'<EntitySet Name="{name}" EntityType="{entity_set.qualified_type}" />'
                   for name, entity_set in ENTITY_SETS.items())
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
            f'<Schema Namespace="{NAMESPACE}" xmlns="http://docs.oasis-open.org/odata/ns/edm">{enums}{types}'
            f'<EntityContainer Name="Resources">{sets}</EntityContainer></Schema>'
            '</edmx:DataServices></edmx:Edmx>')
