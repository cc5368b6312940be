"""`$expand` as F&O supports it: first level only, each navigation optionally with its own `$select`
(`$expand=SalesOrderLines($select=ItemNumber,LineAmount)`); deeper expansion is refused with 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.emulators.finops import render
from connectors.emulators.finops.entities import ENTITY_SETS
from connectors.emulators.finops.surface import EntitySet, Navigation
from connectors.emulators.odata.errors import ODataQueryError, unknown_property
from connectors.emulators.odata.query import validate_properties

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

_ITEM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*\Z", re.DOTALL)


@dataclass(frozen=True)
class Expansion:
    navigation: Navigation
    target: EntitySet
    select: list[str] | None


def parse_expand(entity_set: EntitySet, text: str | None) -> list[Expansion]:
    if not text:
        return []
    expansions = []
    for item in _top_level_items(text):
        match = _ITEM.match(item)
        if match is None:
            raise ODataQueryError(f"The $expand item '{item.strip()}' is malformed.")
        name, nested = match.groups()
        navigation = entity_set.navigation(name)
        if navigation is None:  # not a navigation of the type, or one whose target the emulator does not serve
            raise unknown_property(name, entity_set.qualified_type)
        target = ENTITY_SETS[navigation.target]
        expansions.append(Expansion(navigation, target, _nested_select(target, nested)))
    return expansions


def _top_level_items(text: str) -> list[str]:
    items, depth, start = [], 0, 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(text[start:position])
            start = position + 1
    items.append(text[start:])
    return items


def _nested_select(target: EntitySet, nested: str | None) -> list[str] | None:
    if not nested or not nested.strip():
        return None
    select = None
    for option in nested.split(";"):
        name, _, value = option.partition("=")
        if name.strip() != "$select":
            raise ODataQueryError(f"The option '{name.strip()}' inside $expand is not supported; only $select is, "
                                  "and expansion is first level only.")
        select = [part.strip() for part in value.split(",") if part.strip()]
        validate_properties(select, target.properties, target.qualified_type)
    return select


def expanded(app: FinOpsEmulator, entity_set: EntitySet, row: Mapping[str, object],
             expansions: list[Expansion]) -> dict[str, object]:
    """The rendered navigation values of one row; the caller holds the store lock."""
    out: dict[str, object] = {}
    for expansion in expansions:
        out[expansion.navigation.name] = navigate(app, row, expansion.navigation, expansion.target,
                                                  expansion.select)
    return out


def related_rows(app: FinOpsEmulator, row: Mapping[str, object], navigation: Navigation) -> list[Mapping]:
    """The target rows of a navigation through its declared join, those the target entity set shows."""
    target = ENTITY_SETS[navigation.target]
    table = app.store.tables[target.table.name]
    join = navigation.join
    values = tuple(row[name] for name in join.local)
    if navigation.many:
        found = table.find_all(join.index, values)
    else:
        one = table.find(join.index, values) if join.index else table.get(values)
        found = [] if one is None else [one]
    return found if target.visible is None else [child for child in found if target.visible(child)]


def navigate(app: FinOpsEmulator, row: Mapping[str, object], navigation: Navigation, target: EntitySet,
             select: list[str] | None) -> object:
    rows = [render.entity(target, child, select) for child in related_rows(app, row, navigation)]
    if navigation.many:
        return rows
    return rows[0] if rows else None
