"""Stored rows as Dataverse returns them: `@odata.etag` first, the selected columns and the primary key, lookups
as `_<name>_value`, annotations only when the `Prefer` header asked for them, and `$expand`ed records inline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from connectors.emulators.dataverse.schema import BOOLEAN, EntitySet, lookup_target

FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"

Row = Mapping[str, object]
Resolver = Callable[[str, object], Row | None]  # (entity set, primary key) -> the stored row or None


@dataclass
class Expansion:
    """One `$expand` item: a navigation property, the entity set it reaches, and its nested `$select`."""

    navigation: str
    target: EntitySet
    select: list[str] | None
    collection: bool = False
    lookup_field: str = ""  # single-valued: the row's `_x_value`; collection: the child's field pointing back
    type_field: str | None = None
    nested: list[Expansion] = field(default_factory=list)


@dataclass
class Renderer:
    """Renders rows of one entity set for one request; `annotations` decides which annotations appear."""

    entity_set: EntitySet
    select: list[str] | None = None
    annotations: Callable[[str], bool] | None = None
    expand: list[Expansion] = field(default_factory=list)
    resolve: Resolver | None = None
    children: Mapping[str, Mapping[object, list[Row]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._names = self._property_names(self.entity_set, self.select)

    @staticmethod
    def _property_names(entity_set: EntitySet, select: list[str] | None) -> tuple[str, ...]:
        if select is None:
            return (*entity_set.stored_properties, "versionnumber")
        names = list(select)
        if entity_set.key not in names:
            names.append(entity_set.key)
        return tuple(names)

    def render(self, row: Row) -> dict[str, object]:
        return self._render(self.entity_set, row, self._names, self.expand)

    def _render(self, entity_set: EntitySet, row: Row, names: tuple[str, ...],
                expand: list[Expansion]) -> dict[str, object]:
        version = row["_version"]
        out: dict[str, object] = {"@odata.etag": f'W/"{version}"'}
        if self.annotations is None:
            for name in names:
                out[name] = version if name == "versionnumber" else row.get(name)
        else:
            for name in names:
                value = version if name == "versionnumber" else row.get(name)
                out[name] = value
                self._annotate(entity_set, row, name, value, out)
        for item in expand:
            out[item.navigation] = self._expanded(row, item)
        return out

    def _expanded(self, row: Row, item: Expansion) -> object:
        names = self._property_names(item.target, item.select)
        if item.collection:
            lines = self.children.get(item.navigation, {}).get(row[self.entity_set.key], [])
            return [self._render(item.target, line, names, item.nested) for line in lines]
        target_id = row.get(item.lookup_field)
        if target_id is None or self.resolve is None:
            return None
        if item.type_field is not None and row.get(item.type_field) != item.target.name:
            return None
        target = self.resolve(item.target.name, target_id)
        return None if target is None else self._render(item.target, target, names, item.nested)

    def _annotate(self, entity_set: EntitySet, row: Row, name: str, value: object, out: dict) -> None:
        wanted = self.annotations
        if value is None:
            return
        lookup = entity_set.lookup_by_value_field.get(name)
        if lookup is not None:
            target_set = lookup_target(lookup, row)
            logical = target_set.logical if target_set is not None else (lookup.targets or ("",))[0]
            if wanted(FORMATTED) and self.resolve is not None and target_set is not None:
                target_row = self.resolve(target_set.name, value)
                label = None if target_row is None else target_row.get(target_set.primary_name)
                if label is not None:
                    out[f"{name}@{FORMATTED}"] = str(label)
            navigation = next((nav for nav, target in lookup.navigation.items() if target == logical), None)
            if wanted(NAVIGATION) and navigation is not None:
                out[f"{name}@{NAVIGATION}"] = navigation
            if wanted(LOGICAL_NAME) and logical:
                out[f"{name}@{LOGICAL_NAME}"] = logical
            return
        if wanted(FORMATTED):
            label = _formatted(entity_set, row, name, value)
            if label is not None:
                out[f"{name}@{FORMATTED}"] = label


def _formatted(entity_set: EntitySet, row: Row, name: str, value: object) -> str | None:
    """The display text Dataverse puts next to choices, yes/no columns, numbers and states."""
    if name == "statecode" and entity_set.states:
        state = entity_set.states.get(value)
        return None if state is None else state.label
    if name == "statuscode" and entity_set.states:
        state = entity_set.states.get(row.get("statecode"))
        return None if state is None else state.statuses.get(value)
    if name == "versionnumber":
        return f"{value:,}"
    column = entity_set.columns.get(name)
    if column is None:
        return None
    if column.options:
        return column.options.get(value)
    if column.edm == BOOLEAN:
        return "Yes" if value else "No"
    if column.attribute_type == "Money":
        return f"{value:,.2f}"
    return None


def annotation_filter(patterns: list[str] | None) -> Callable[[str], bool] | None:
    """What `odata.include-annotations` asks for: `*`, exact names, `Namespace.*`, and `-name` exclusions."""
    if not patterns:
        return None
    include = [p for p in patterns if not p.startswith("-")]
    exclude = [p[1:] for p in patterns if p.startswith("-")]

    def matches(pattern: str, name: str) -> bool:
        if pattern == "*":
            return True
        if pattern.endswith(".*"):
            return name.startswith(pattern[:-1])
        return pattern == name

    def wanted(name: str) -> bool:
        return any(matches(p, name) for p in include) and not any(matches(p, name) for p in exclude)

    return wanted
