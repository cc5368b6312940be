"""A `$metadata` (CSDL) document generated from the schema: entity types with keys, properties, navigation
properties and alternate keys, and entity sets annotated for change tracking, as Dataverse annotates them.
"""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import quoteattr

from connectors.emulators.dataverse.schema import ENTITY_SETS, EntitySet


def _entity_type(entity_set: EntitySet) -> list[str]:
    lines = [f'<EntityType Name="{entity_set.logical}">',
             f'<Key><PropertyRef Name="{entity_set.key}" /></Key>']
    for name, edm in entity_set.properties.items():
        column = entity_set.column_map.get(name)
        length = f' MaxLength="{column.max_length}"' if column is not None and column.max_length else ""
        lines.append(f'<Property Name="{name}" Type="{edm}"{length} />')
    for navigation, (_, target) in entity_set.navigation.items():
        lines.append(f'<NavigationProperty Name="{navigation}" '
                     f'Type="mscrm.{ENTITY_SETS[target].logical}" Nullable="false" />')
    for child in entity_set.children:
        lines.append(f'<NavigationProperty Name="{child.navigation}" '
                     f'Type="Collection(mscrm.{ENTITY_SETS[child.entity_set].logical})" />')
    if entity_set.alternate_keys:
        lines.append('<Annotation Term="OData.Community.Keys.V1.AlternateKeys"><Collection>')
        for index, columns in entity_set.alternate_keys.items():
            refs = "".join(f'<PropertyValue Property="Name" PropertyPath={quoteattr(c)} />' for c in columns)
            lines.append(f'<Record Type="OData.Community.Keys.V1.AlternateKey"><PropertyValue Property="Key">'
                         f'<Collection><Record Type="OData.Community.Keys.V1.PropertyRef">'
                         f'<PropertyValue Property="Alias" String={quoteattr(index)} />{refs}'
                         f'</Record></Collection></PropertyValue></Record>')
        lines.append("</Collection></Annotation>")
    lines.append("</EntityType>")
    return lines


@cache
def metadata_document() -> bytes:
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
             "<edmx:DataServices>",
             '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">']
    for entity_set in ENTITY_SETS.values():
        lines += _entity_type(entity_set)
    lines.append('<EntityContainer Name="System">')
    for entity_set in ENTITY_SETS.values():
        lines.append(f'<EntitySet Name="{entity_set.name}" EntityType="Microsoft.Dynamics.CRM.{entity_set.logical}">'
                     '<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record>'
                     '<PropertyValue Property="Supported" Bool="true" /></Record></Annotation></EntitySet>')
    lines += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "\n".join(lines).encode()
