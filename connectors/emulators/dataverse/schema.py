"""The Sales tables the emulator serves, built from Microsoft's published metadata (`dataverse_tables()`): entity
sets, keys, columns with their EDM types, lookups with their `@odata.bind` navigation names, collection navigations,
states and recorded choices.

One description drives everything else (validation of writes, `$select`/`$filter` checks, rendering, `$metadata`,
`EntityDefinitions`), so a column exists for reads exactly when it exists for writes, as in Dataverse. What
Microsoft does not publish and the emulator needs (default states, the few columns whose validity the reference
corrects) is written here by hand, each with its source; `require` lets hand-written code elsewhere fail at import
when it names a column the metadata lacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from connectors.emulators.microsoft_metadata import DATAVERSE_NAMESPACE, DataverseTable, dataverse_tables

STRING, GUID, INT, BIGINT = "Edm.String", "Edm.Guid", "Edm.Int32", "Edm.Int64"
DECIMAL, DOUBLE, BOOLEAN = "Edm.Decimal", "Edm.Double", "Edm.Boolean"
DATETIME, BINARY = "Edm.DateTimeOffset", "Edm.Binary"

EDM_TYPES = {
    "String": STRING, "Memo": STRING, "EntityName": STRING,
    "Integer": INT, "Picklist": INT, "State": INT, "Status": INT, "BigInt": BIGINT,
    "Money": DECIMAL, "Decimal": DECIMAL, "Double": DOUBLE, "Boolean": BOOLEAN,
    "DateTime": DATETIME, "Uniqueidentifier": GUID, "Image": BINARY,
}
LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
CHOICE_TYPES = frozenset({"Picklist", "State", "Status"})
# A lookup's companion attributes (`<lookup>name`, `<lookup>yominame`, `<lookup>type`) are AttributeOf the lookup:
# attributes in the table definition, but not properties of the Web API's entity type (metadata NOTES, section 2).
_ATTRIBUTE_OF_SUFFIXES = ("yominame", "name", "type")
_NOTE = re.compile(r"\s*\((?:state (\d+)|invariant [^)]*)\)\s*\Z")

# Corrections to the metadata's one `writable` flag ("valid for create or update"), each from a documented fact.
NOT_VALID_FOR_CREATE = {
    ("products", "pricelevelid"),  # reference 1.3 (CE product.md): IsValidForCreate False, set it by update
}
NOT_VALID_FOR_UPDATE = {
    ("products", "productstructure"),  # reference 1.3: the product structure cannot be updated
}
# Assumption: owningbusinessunit is writable on user-owned tables. The entity pages record it read-only (the old
# rule: the owner decides), but Dataverse's record ownership across business units lets a create or update set it,
# and Microsoft's own samples (Customer Insights - Journeys) bind `owningbusinessunit@odata.bind` on create.
WRITABLE_DESPITE_METADATA = frozenset({"owningbusinessunit"})
# Emulator behaviour: the state a record starts in when the body names none (reference 1.3: new products are
# created in Draft unless the organization is configured otherwise).
DEFAULT_STATES = {"products": 2}


@dataclass(frozen=True)
class Column:
    """One attribute of a table. `edm` is the Web API type; `attribute_type` Dataverse's (None when unknown, then
    served as a read-only Edm.String); `options` are recorded choices only."""

    name: str
    edm: str
    attribute_type: str | None
    max_length: int | None
    required_level: str
    valid_for_create: bool
    valid_for_update: bool
    options: dict[int, str] | None = None
    solution: str = ""
    attribute_of: str | None = None

    @property
    def read_only(self) -> bool:
        return not (self.valid_for_create or self.valid_for_update)

    def writable(self, *, creating: bool) -> bool:
        return self.valid_for_create if creating else self.valid_for_update


@dataclass(frozen=True)
class Lookup:
    """A lookup column, read back as `_<attribute>_value` and written through one `@odata.bind` navigation per
    target table (`navigation` maps each to the target's logical name)."""

    attribute: str
    attribute_type: str
    targets: tuple[str, ...]
    navigation: dict[str, str]
    required_level: str
    valid_for_create: bool
    valid_for_update: bool

    @property
    def value_field(self) -> str:
        return f"_{self.attribute}_value"

    @property
    def type_field(self) -> str:
        """The internal field that remembers which table a stored lookup points to (the emulator's own)."""
        return f"_{self.attribute}_target"

    def writable(self, *, creating: bool) -> bool:
        return self.valid_for_create if creating else self.valid_for_update


@dataclass(frozen=True)
class Navigation:
    """A single-valued navigation property: `target_set` is None when the emulator does not serve the target table
    (systemuser, team, ...); `lookup` is None when the referencing attribute is not a lookup column."""

    name: str
    target: str
    target_set: str | None
    lookup: Lookup | None
    partner: str | None = None


@dataclass(frozen=True)
class Children:
    """A collection-valued navigation property: the rows of `entity_set` whose `lookup` points at this record."""

    navigation: str
    entity_set: str
    lookup: str
    relationship: str | None = None

    @property
    def value_field(self) -> str:
        return f"_{self.lookup}_value"


@dataclass(frozen=True)
class State:
    label: str
    default_status: int | None
    statuses: dict[int, str]


@dataclass
class EntitySet:
    name: str
    logical: str
    key: str
    primary_name: str
    attributes: dict[str, Column]  # every attribute of the table definition, lookups and AttributeOf ones included
    lookups: dict[str, Lookup]
    navigation: dict[str, Navigation] = field(default_factory=dict)
    children: dict[str, Children] = field(default_factory=dict)
    states: dict[int, State] | None = None
    default_state: int = 0

    @property
    def entity_type(self) -> str:
        return f"{DATAVERSE_NAMESPACE}.{self.logical}"

    @cached_property
    def columns(self) -> dict[str, Column]:
        """The structural properties of the Web API entity type (lookups are read as `_x_value` instead)."""
        return {name: column for name, column in self.attributes.items()
                if column.attribute_type not in LOOKUP_TYPES and column.attribute_of is None}

    @cached_property
    def lookup_by_value_field(self) -> dict[str, Lookup]:
        return {lookup.value_field: lookup for lookup in self.lookups.values()}

    @cached_property
    def properties(self) -> dict[str, str]:
        """Every readable property and its EDM type, in the metadata's order, lookups as `_x_value`."""
        props = {self.key: GUID}
        for name, column in self.attributes.items():
            if name in self.lookups:
                props[self.lookups[name].value_field] = GUID
            elif name in self.columns:
                props[name] = column.edm
        return props

    @cached_property
    def stored_properties(self) -> tuple[str, ...]:
        """The rendered properties held in the row as-is (versionnumber comes from the store's row version)."""
        return tuple(name for name in self.properties if name != "versionnumber")

    @cached_property
    def bindable(self) -> dict[str, tuple[Lookup, str]]:
        """Navigation property -> (its lookup, the served entity set) for every bind the emulator can resolve."""
        return {nav.name: (nav.lookup, nav.target_set) for nav in self.navigation.values()
                if nav.lookup is not None and nav.target_set is not None}


def require(entity_set: str, *names: str) -> None:
    """Fail at import when hand-written emulator code names a property the metadata does not give the table."""
    table = ENTITY_SETS.get(entity_set)
    if table is None:
        raise AssertionError(f"the emulator does not serve the entity set '{entity_set}'")
    missing = [name for name in names if name not in table.properties]
    if missing:
        raise AssertionError(f"{entity_set} has no {', '.join(missing)} in Microsoft's metadata")


def _label(text: str) -> tuple[str, int | None]:
    """`'Active(state 0)'` -> ('Active', 0); `'Retired(invariant Inactive)'` -> ('Retired', None)."""
    match = _NOTE.search(text)
    if match is None:
        return text.strip(), None
    state = match.group(1)
    return text[:match.start()].strip(), None if state is None else int(state)


def _states(table: DataverseTable) -> dict[int, State] | None:
    if "statecode" not in table.columns or "statecode" not in table.choices:
        return None
    statuses: dict[int, dict[int, str]] = {}
    for value, text in table.choices.get("statuscode", {}).items():
        label, state = _label(text)
        if state is not None:
            statuses.setdefault(state, {})[value] = label
    states = {}
    for value, text in table.choices["statecode"].items():
        own = statuses.get(value, {})
        # The first status recorded for a state is its default, as Dataverse uses the first configured one.
        states[value] = State(_label(text)[0], next(iter(own), None), own)
    return states


def _column(name: str, table: DataverseTable, attribute_of: str | None) -> Column:
    raw, entity_set = table.columns[name], table.entity_set
    if raw.type is None:
        return Column(name, STRING, None, raw.max_length, raw.required_level, False, False, solution=raw.solution,
                      attribute_of=attribute_of)
    edm = GUID if raw.type in LOOKUP_TYPES else EDM_TYPES[raw.type]
    writable = raw.writable or (name in WRITABLE_DESPITE_METADATA and name in table.lookups
                                and bool(table.lookups[name].navigation))
    options = None
    if raw.type in CHOICE_TYPES and name in table.choices:
        options = {value: _label(text)[0] for value, text in table.choices[name].items()}
    return Column(name, edm, raw.type, raw.max_length, raw.required_level,
                  writable and (entity_set, name) not in NOT_VALID_FOR_CREATE,
                  writable and (entity_set, name) not in NOT_VALID_FOR_UPDATE,
                  options, raw.solution, attribute_of)


def _entity_set(table: DataverseTable, served: dict[str, str]) -> EntitySet:
    attributes = {}
    for name in table.columns:
        owner = next((lookup for lookup in table.lookups for suffix in _ATTRIBUTE_OF_SUFFIXES
                      if name == lookup + suffix), None)
        attributes[name] = _column(name, table, owner)
    lookups = {}
    for name, raw in table.lookups.items():
        column = attributes[name]
        targets = {}
        for nav in raw.navigation:
            recorded = table.navigation.get(nav)
            target = recorded.referenced_entity if recorded and recorded.referenced_entity else None
            targets[nav] = target or (raw.targets[0] if len(raw.targets) == 1 else "")
        lookups[name] = Lookup(name, raw.type, raw.targets, targets, column.required_level, column.valid_for_create,
                               column.valid_for_update)
    navigation = {}
    for nav in table.navigation.values():
        if nav.collection or not nav.referenced_entity:
            continue
        lookup = next((lookup for lookup in lookups.values() if nav.name in lookup.navigation), None)
        navigation[nav.name] = Navigation(nav.name, nav.referenced_entity, served.get(nav.referenced_entity), lookup)
    return EntitySet(table.entity_set, table.logical_name, table.key, table.primary_name, attributes, lookups,
                     navigation, states=_states(table), default_state=DEFAULT_STATES.get(table.entity_set, 0))


def _link_children(sets: dict[str, EntitySet], tables: dict[str, DataverseTable]) -> None:
    """Collection-valued navigations: the recorded ones, and the other side of every recorded relationship between
    two served tables; each single-valued navigation learns its partner. Assumption: a one-to-many relationship's
    navigation on the referenced table is named as the relationship, as system relationships are (`quote_details`,
    `invoice_details`); the entity pages record only a few of them (metadata NOTES, section 2)."""
    for name, table in tables.items():
        for nav in table.navigation.values():
            if nav.collection and nav.referencing_entity_set in sets and nav.referencing_attribute:
                sets[name].children[nav.name] = Children(nav.name, nav.referencing_entity_set,
                                                         nav.referencing_attribute, nav.relationship)
    for name, table in tables.items():
        child = sets[name]
        for nav in table.navigation.values():
            own = child.navigation.get(nav.name)
            parent = sets.get(own.target_set or "") if own is not None else None
            if parent is None or own.lookup is None or not nav.relationship:
                continue
            taken = parent.properties.keys() | parent.navigation.keys()
            if nav.relationship not in parent.children and nav.relationship not in taken:
                parent.children[nav.relationship] = Children(nav.relationship, name, own.lookup.attribute,
                                                             nav.relationship)
            partner = parent.children.get(nav.relationship)
            if partner is not None and (partner.entity_set, partner.lookup) == (name, own.lookup.attribute):
                child.navigation[nav.name] = Navigation(own.name, own.target, own.target_set, own.lookup,
                                                        partner.navigation)


def _build() -> dict[str, EntitySet]:
    tables = dataverse_tables()
    served = {table.logical_name: name for name, table in tables.items()}
    sets = {name: _entity_set(table, served) for name, table in tables.items()}
    _link_children(sets, tables)
    return sets


ENTITY_SETS: dict[str, EntitySet] = _build()
BY_LOGICAL_NAME: dict[str, EntitySet] = {entity_set.logical: entity_set for entity_set in ENTITY_SETS.values()}


def lookup_target(lookup: Lookup, row: dict) -> EntitySet | None:
    """The served table a stored lookup points to: the one the row remembers, else the lookup's only target."""
    named = row.get(lookup.type_field)
    if named:
        return ENTITY_SETS.get(named)
    if len(lookup.targets) == 1:
        return BY_LOGICAL_NAME.get(lookup.targets[0])
    return None


# Emulator behaviour: the sales documents and their lines. A line belongs to its header (parental: deleting the
# header deletes the lines; the header's totals come from them).
DOCUMENT_LINES = {"quotes": "quote_details", "salesorders": "order_details", "invoices": "invoice_details"}
LINE_SETS: dict[str, tuple[EntitySet, Children]] = {
    ENTITY_SETS[header].children[navigation].entity_set: (ENTITY_SETS[header], ENTITY_SETS[header].children[navigation])
    for header, navigation in DOCUMENT_LINES.items()
}
