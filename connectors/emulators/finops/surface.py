"""An entity set as F&O publishes it: its name, type, key, properties and navigation properties come from
Microsoft's metadata; only where it is stored (a table, a column alias) and how a navigation joins are declared.

`check` holds the declarations against the metadata and fails at import, so a hand-declared column can never
expose a property F&O does not have, or with another type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from connectors.emulators.finops.schema import NAMESPACE, Field, TableSpec, empty_value, label_of
from connectors.emulators.microsoft_metadata import FinOpsEntity, FinOpsProperty, finops_entities

ALL_METHODS = frozenset({"GET", "POST", "PATCH", "DELETE"})
READ_ONLY = frozenset({"GET"})
Row = Mapping[str, object]


class SchemaError(Exception):
    """A declaration that disagrees with Microsoft's metadata or with the emulator's own tables."""


def property_type(prop: FinOpsProperty) -> str:
    """The type as the emulator writes it: an EDM type, or "Enum:<EnumType>"."""
    return f"Enum:{prop.type}" if prop.is_enum else prop.type


@dataclass(frozen=True)
class Join:
    """How a navigation property finds its target rows: those whose `index` fields (the target table's primary
    key when None) equal this row's `local` columns. Microsoft's metadata keeps no ReferentialConstraints, so
    the join fields are the emulator's own declaration."""

    local: tuple[str, ...]
    index: str | None = None


@dataclass(frozen=True)
class Navigation:
    name: str
    target: str  # entity set name
    many: bool
    join: Join


@dataclass(frozen=True, eq=False)
class EntitySet:
    """A public collection over a stored table. `aliases` maps a property to the column it is stored in when
    the names differ; `joins` declares the navigation properties the emulator can follow."""

    name: str
    table: TableSpec
    ax_entity: str  # e.g. CustCustomerV3Entity, named by write failures
    aliases: Mapping[str, str] = field(default_factory=dict)
    methods: frozenset[str] = ALL_METHODS
    visible: Callable[[Row], bool] | None = None
    joins: Mapping[str, Join] = field(default_factory=dict)

    @cached_property
    def metadata(self) -> FinOpsEntity:
        entity = finops_entities().get(self.name)
        if entity is None:
            raise SchemaError(f"{self.name} is not an entity set in Microsoft's metadata")
        return entity

    @property
    def type_name(self) -> str:
        return self.metadata.type_name

    @property
    def qualified_type(self) -> str:
        return f"{NAMESPACE}.{self.type_name}"

    @property
    def keys(self) -> tuple[str, ...]:
        return self.metadata.key

    @property
    def per_company(self) -> bool:
        return self.table.per_company

    @cached_property
    def properties(self) -> dict[str, str]:
        """Property name -> type ("Edm.String", "Enum:NoYes"), in the metadata's order."""
        return {name: property_type(prop) for name, prop in self.metadata.properties.items()}

    @cached_property
    def columns(self) -> dict[str, str]:
        """Property name -> the stored column that holds it."""
        return {name: self.aliases.get(name, name) for name in self.metadata.properties}

    @cached_property
    def column_types(self) -> dict[str, str]:
        """Stored column -> the type this entity set gives it."""
        return {self.columns[name]: edm for name, edm in self.properties.items()}

    @cached_property
    def enum_types(self) -> dict[str, str]:
        """Enum-typed property -> its enum type's name (unqualified)."""
        return {name: prop.type for name, prop in self.metadata.properties.items() if prop.is_enum}

    @cached_property
    def layout(self) -> tuple[tuple[str, str, object], ...]:
        """(property, column, empty value) in the metadata's order: what rendering walks for each row."""
        return tuple((name, self.columns[name], empty_value(edm)) for name, edm in self.properties.items())

    @cached_property
    def _lookup(self) -> dict[str, tuple[str, object]]:
        return {name: (column, empty) for name, column, empty in self.layout}

    def view(self, row: Row) -> RowView:
        return RowView(row, self._lookup)

    @cached_property
    def plain(self) -> frozenset[str]:
        """Properties every stored row holds under their own name (declared, unaliased columns), which a
        `$filter` can read from the row itself."""
        declared = self.table.by_name
        return frozenset(name for name, column in self.columns.items() if column == name and name in declared)

    @cached_property
    def key_index(self) -> tuple[str | None, tuple[str, ...]]:
        """(unique index or None for the primary key, its columns): where the entity's key is looked up."""
        wanted = {self.columns[name] for name in self.keys}
        if wanted == set(self.table.key):
            return None, self.table.key
        for index, fields in self.table.unique.items():
            if wanted == set(fields):
                return index, fields
        raise SchemaError(f"{self.name}: no primary key or unique index of {self.table.name} matches the key "
                          f"{', '.join(self.keys)}")

    def key_lookup(self, key: tuple) -> tuple[str | None, tuple]:
        """The index and its values for a key given in the entity's key order."""
        index, fields = self.key_index
        by_column = {self.columns[name]: value for name, value in zip(self.keys, key, strict=True)}
        return index, tuple(by_column[column] for column in fields)

    def column_field(self, column: str) -> Field | None:
        return self.table.by_name.get(column)

    def max_length(self, name: str) -> int | None:
        """The size of the column a string property is stored in (the emulator's own: Microsoft's metadata has
        no MaxLength); None when the column is not declared or not a limited string."""
        declared = self.column_field(self.columns[name])
        return declared.size if declared else None

    def caption(self, column: str) -> str:
        declared = self.column_field(column)
        return declared.caption if declared else label_of(column)

    def navigation(self, name: str) -> Navigation | None:
        join = self.joins.get(name)
        if join is None:
            return None
        link = self.metadata.navigation[name]
        return Navigation(name, link.target_set, link.collection, join)


class RowView:
    """A stored row read by property name, with the empty value of what it does not hold: what `$filter` and
    `$orderby` see, so they agree with what is rendered. Other names read the row's own columns."""

    __slots__ = ("_lookup", "row")

    def __init__(self, row: Row, lookup: Mapping[str, tuple[str, object]]):
        self.row = row
        self._lookup = lookup

    def get(self, name: str, default: object = None) -> object:
        column, empty = self._lookup.get(name, (name, default))
        return self.row.get(column, empty)

    def __getitem__(self, name: str) -> object:
        return self.get(name)


def check(entity_sets: Iterable[EntitySet]) -> dict[str, EntitySet]:
    """The entity sets by name, once every declaration agrees with the metadata and the tables; SchemaError
    names the first that does not."""
    served = {entity_set.name: entity_set for entity_set in entity_sets}
    for entity_set in served.values():
        _check_columns(entity_set)
        entity_set.key_index  # noqa: B018 - raises SchemaError when the key has no index
        for name, join in entity_set.joins.items():
            _check_join(entity_set, name, join, served)
    _check_shared_columns(served.values())
    return served


def _check_columns(entity_set: EntitySet) -> None:
    table, metadata = entity_set.table, entity_set.metadata
    for prop, column in entity_set.aliases.items():
        if prop not in metadata.properties:
            raise SchemaError(f"{entity_set.name}: alias of '{prop}', which is not a property of "
                              f"{metadata.type_name}")
        if column not in table.by_name:
            raise SchemaError(f"{entity_set.name}: '{prop}' is aliased to '{column}', which {table.name} does "
                              "not declare")
    for prop, column in entity_set.columns.items():
        declared = table.by_name.get(column)
        if declared is not None and declared.edm != entity_set.properties[prop]:
            raise SchemaError(f"{entity_set.name}.{prop} is {entity_set.properties[prop]} in Microsoft's metadata, "
                              f"but {table.name}.{column} is declared {declared.edm}")


def _check_join(entity_set: EntitySet, name: str, join: Join, served: Mapping[str, EntitySet]) -> None:
    link = entity_set.metadata.navigation.get(name)
    if link is None:
        raise SchemaError(f"{entity_set.name}: '{name}' is not a navigation property of {entity_set.type_name}")
    target = served.get(link.target_set)
    if target is None:
        raise SchemaError(f"{entity_set.name}.{name} leads to {link.target_set}, which is not served")
    unknown = [column for column in join.local if column not in entity_set.table.by_name]
    if unknown:
        raise SchemaError(f"{entity_set.name}.{name} joins on '{unknown[0]}', which {entity_set.table.name} "
                          "does not declare")
    table = target.table
    if join.index is None:
        fields, many = table.key, False
    elif join.index in table.unique:
        fields, many = table.unique[join.index], False
    elif join.index in table.multi:
        fields, many = table.multi[join.index], True
    else:
        raise SchemaError(f"{entity_set.name}.{name}: {table.name} has no index '{join.index}'")
    if many != link.collection or len(fields) != len(join.local):
        raise SchemaError(f"{entity_set.name}.{name} is {'a collection' if link.collection else 'single'} in "
                          f"the metadata; its join does not fit the index {join.index or 'primary key'}")


def _check_shared_columns(entity_sets: Iterable[EntitySet]) -> None:
    """Every declared column is exposed by some entity set over its table or marked internal, and entity sets
    over one table agree on the type of each column they share."""
    by_table: dict[str, list[EntitySet]] = {}
    for entity_set in entity_sets:
        by_table.setdefault(entity_set.table.name, []).append(entity_set)
    for group in by_table.values():
        table, seen = group[0].table, {}
        for entity_set in group:
            for column, edm in entity_set.column_types.items():
                if seen.setdefault(column, (edm, entity_set.name))[0] != edm:
                    raise SchemaError(f"{table.name}.{column} is {edm} in {entity_set.name} but "
                                      f"{seen[column][0]} in {seen[column][1]}; declare an alias")
        for declared in table.fields:
            if declared.name not in seen and not declared.internal:
                raise SchemaError(f"{table.name}.{declared.name} is exposed by no entity set over the table "
                                  f"({', '.join(s.name for s in group)}): fix the name or mark it internal")
