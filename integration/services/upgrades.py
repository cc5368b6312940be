"""Upgrading a project to a new version of its template without losing its own edits: a three-way merge.

The base is the template as it was when loaded into the project (kept on the project), "ours" the project's maps
now, "theirs" the new template. Leaf by leaf (an entity map's setting, a field map's setting, a value map entry,
a transform's options together): what only the template changed is applied, what only the project changed is
kept, what both changed alike is taken, and what both changed differently is a conflict: reported, and the
project's value kept unless the template is preferred. An entity map the template dropped is disabled, not
deleted, so its links and history stay. Which entity maps are enabled and the organization mappings are the
project's own and are not merged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from integration.services.project_files import MISSING, Change, leaf_changes, map_spec, shown, tree

# Leaves the merge takes as a whole (the settings of one transform go together).
_WHOLE = frozenset({"options"})


@dataclass(frozen=True)
class Conflict:
    path: tuple[str, ...]
    base: object
    ours: object
    theirs: object
    kept: str  # "project" or "template"

    def __str__(self) -> str:
        return (f"! {' / '.join(self.path)}: the template changed it from {shown(self.base)} to "
                f"{shown(self.theirs)}, the project to {shown(self.ours)}; kept the {self.kept}'s")


@dataclass
class MergeReport:
    applied: list[Change] = field(default_factory=list)  # the template's changes, taken
    kept: list[Change] = field(default_factory=list)  # the project's own edits, kept
    conflicts: list[Conflict] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)  # entity maps the template no longer has


def documents_merge(*, base: Mapping, ours: Mapping, theirs: Mapping,
                    prefer_template: bool = False) -> tuple[list[dict], MergeReport]:
    """The merged entity maps (template format, in run order) and what happened to every difference."""
    report = MergeReport()
    ours_tree = tree(ours)
    enabled = {name: spec.pop("enabled", True) for name, spec in ours_tree["entity maps"].items()}  # the project's
    merged = _merge((), _without_switches(tree(base)), ours_tree, _without_switches(tree(theirs)), report,
                    prefer_template)
    maps = merged["entity maps"]
    for name, spec in maps.items():
        spec["enabled"] = enabled.get(name, True)
    for name in sorted(set(ours_tree["entity maps"]) - set(maps)):
        # The template dropped it and the project had not changed it: keep it, disabled, with its history.
        maps[name] = {**ours_tree["entity maps"][name], "enabled": False}
        report.disabled.append(name)
    order = _order([m["name"] for m in base.get("entity_maps", [])], [m["name"] for m in ours.get("entity_maps", [])],
                   [m["name"] for m in theirs.get("entity_maps", [])], set(maps) - set(report.disabled))
    order += report.disabled  # after the template's maps: they no longer run
    specs = []
    for name in order:
        spec = dict(maps[name])
        fields = spec.pop("field maps")
        field_order = _order(_field_names(base, name), _field_names(ours, name), _field_names(theirs, name),
                             set(fields))
        specs.append({**spec, "field_maps": [fields[f] for f in field_order]})
    return specs, report


def _without_switches(document_tree: dict) -> dict:
    for spec in document_tree["entity maps"].values():
        spec.pop("enabled", None)
    return document_tree


def _field_names(document: Mapping, map_name: str) -> list[str]:
    spec = next((m for m in document.get("entity_maps", []) if m["name"] == map_name), None)
    return [f["destination_field"] for f in map_spec(spec)["field_maps"]] if spec else []


def _merge(path: tuple[str, ...], base: object, ours: object, theirs: object, report: MergeReport,
           prefer_template: bool) -> object:
    if ours == theirs:
        return ours
    if ours == base:
        report.applied += leaf_changes(path, ours, theirs)
        return theirs
    if theirs == base:
        report.kept += leaf_changes(path, base, ours)
        return ours
    if all(isinstance(value, dict) for value in (base, ours, theirs)) and not (path and path[-1] in _WHOLE):
        merged = {}
        for key in _keys(base, ours, theirs):
            value = _merge((*path, str(key)), base.get(key, MISSING), ours.get(key, MISSING),
                           theirs.get(key, MISSING), report, prefer_template)
            if value is not MISSING:
                merged[key] = value
        return merged
    if isinstance(ours, dict) and isinstance(theirs, dict) and base is MISSING and not (path and path[-1] in _WHOLE):
        # Both added the same thing, differently (a field map of the same name): merge what they agree on.
        return _merge(path, {}, ours, theirs, report, prefer_template)
    kept = "template" if prefer_template else "project"
    report.conflicts.append(Conflict(path, base, ours, theirs, kept))
    return theirs if prefer_template else ours


def _keys(*dicts: Mapping) -> list:
    seen: dict = {}
    for mapping in dicts:
        for key in mapping:
            seen.setdefault(key, None)
    return list(seen)


def _order(base: list[str], ours: list[str], theirs: list[str], present: set[str]) -> list[str]:
    """The merged order: the side that reordered (the template's when both or neither did), with the other side's
    additions placed after their predecessor there."""
    common = [name for name in base if name in ours and name in theirs]
    ours_moved = [n for n in ours if n in common] != common
    theirs_moved = [n for n in theirs if n in common] != common
    primary, other = (ours, theirs) if ours_moved and not theirs_moved else (theirs, ours)
    result = [name for name in primary if name in present]
    for position, name in enumerate(other):
        if name in present and name not in result:
            before = next((other[p] for p in range(position - 1, -1, -1) if other[p] in result), None)
            result.insert(result.index(before) + 1 if before else 0, name)
    result += sorted(name for name in present if name not in result)
    return result
