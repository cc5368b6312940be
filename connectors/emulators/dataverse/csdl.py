"""The `$metadata` document (CSDL), generated from the same tables the emulator serves and its environment: entity
types with their key, properties (MaxLength on text), single-valued navigation properties with the lookup they set,
collection-valued ones, the Active alternate keys, entity sets annotated with whether they track changes, and the
bulk messages as actions bound to a collection of the abstract `crmbaseentity` every entity type derives from.

Navigation properties to tables the emulator does not serve (systemuser, team, ...) are left out, as a bind to them
is refused; their lookups stay readable properties.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from connectors.emulators.dataverse.environment import Environment
from connectors.emulators.dataverse.resources import COLLECTION_ACTIONS
from connectors.emulators.dataverse.schema import ENTITY_SETS, EntitySet

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"


def _entity_type(entity_set: EntitySet, keys: dict[str, tuple[str, ...]]) -> list[str]:
    lines = [f'<EntityType Name="{entity_set.logical}" BaseType="mscrm.crmbaseentity">',
             f'<Key><PropertyRef Name="{entity_set.key}" /></Key>']
    for name, edm in entity_set.properties.items():
        column = entity_set.columns.get(name)
        length = f' MaxLength="{column.max_length}"' if column is not None and column.max_length else ""
        lines.append(f'<Property Name="{name}" Type="{edm}"{length} />')
    for nav in entity_set.navigation.values():
        if nav.target_set is None or nav.lookup is None:
            continue
        partner = f' Partner="{nav.partner}"' if nav.partner else ""
        target = ENTITY_SETS[nav.target_set]
        lines.append(f'<NavigationProperty Name="{nav.name}" Type="mscrm.{nav.target}" Nullable="false"{partner}>'
                     f'<ReferentialConstraint Property="{nav.lookup.value_field}" ReferencedProperty="{target.key}" />'
                     "</NavigationProperty>")
    for child in entity_set.children.values():
        partner = next((nav.name for nav in ENTITY_SETS[child.entity_set].navigation.values()
                        if nav.partner == child.navigation), None)
        partner_attribute = f' Partner="{partner}"' if partner else ""
        lines.append(f'<NavigationProperty Name="{child.navigation}" '
                     f'Type="Collection(mscrm.{ENTITY_SETS[child.entity_set].logical})"{partner_attribute} />')
    if keys:
        lines.append('<Annotation Term="OData.Community.Keys.V1.AlternateKeys"><Collection>')
        for columns in keys.values():
            refs = "".join('<Record Type="OData.Community.Keys.V1.PropertyRef">'
                           f'<PropertyValue Property="Alias" String={quoteattr(column)} />'
                           f'<PropertyValue Property="Name" PropertyPath={quoteattr(column)} /></Record>'
                           for column in columns)
            lines.append('<Record Type="OData.Community.Keys.V1.AlternateKey"><PropertyValue Property="Key">'
                         f"<Collection>{refs}</Collection></PropertyValue></Record>")
        lines.append("</Collection></Annotation>")
    lines.append("</EntityType>")
    return lines


def _bulk_actions() -> list[str]:
    """As the Web API reference describes them: bound to a collection of crmbaseentity, one `Targets` parameter;
    CreateMultiple returns CreateMultipleResponse (`Ids`). Assumption: UpdateMultiple and UpsertMultiple are
    declared without a return type, since both answer 204 with no body."""
    lines = ['<ComplexType Name="CreateMultipleResponse">'
             '<Property Name="Ids" Type="Collection(Edm.Guid)" Nullable="false" /></ComplexType>']
    for name in sorted(COLLECTION_ACTIONS):
        returns = '<ReturnType Type="mscrm.CreateMultipleResponse" Nullable="false" />' if name == "CreateMultiple" \
            else ""
        lines.append(f'<Action Name="{name}" IsBound="true">'
                     '<Parameter Name="entityset" Type="Collection(mscrm.crmbaseentity)" Nullable="false" />'
                     '<Parameter Name="Targets" Type="Collection(mscrm.crmbaseentity)" Nullable="false" />'
                     f"{returns}</Action>")
    return lines


def metadata_document(environment: Environment) -> bytes:
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             f'<edmx:Edmx Version="4.0" xmlns:edmx="{EDMX}">',
             "<edmx:DataServices>",
             f'<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="{EDM}">']
    lines.append('<EntityType Name="crmbaseentity" Abstract="true" />')
    for entity_set in ENTITY_SETS.values():
        lines += _entity_type(entity_set, environment.active_keys(entity_set.name))
    lines += _bulk_actions()
    lines.append('<EntityContainer Name="System">')
    for entity_set in ENTITY_SETS.values():
        tracked = "true" if environment.tracks(entity_set.name) else "false"
        lines.append(f'<EntitySet Name="{entity_set.name}" EntityType="Microsoft.Dynamics.CRM.{entity_set.logical}">'
                     '<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record>'
                     f'<PropertyValue Property="Supported" Bool="{tracked}" /></Record></Annotation></EntitySet>')
    lines += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "\n".join(lines).encode()
