"""Microsoft's published metadata, the one source of truth about entity sets, fields, types, keys and navigation
names: `finops.json` (F&O data entities, from a client generated from a real `$metadata`), `dataverse.json` (Sales
tables, from Microsoft's entity reference pages) and `p2c_solution.json` (the columns and key the Prospect to cash
solution adds in Sales). The files are copies of `shared/reference/metadata/` and keep their sources.

The emulators are built from this module, and the tests hold every template against it, so an emulator can never
agree with a mistake of ours that Microsoft would refuse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
FINOPS_NAMESPACE = "Microsoft.Dynamics.DataEntities"
DATAVERSE_NAMESPACE = "Microsoft.Dynamics.CRM"


def _load(name: str) -> dict:
    with (HERE / name).open(encoding="utf-8") as handle:
        return json.load(handle)


# --- Finance and Operations ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FinOpsProperty:
    """One property of a data entity: `type` is an Edm type (`Edm.String`) or an enum's name (`NoYes`)."""

    name: str
    type: str
    nullable: bool
    is_enum: bool

    @property
    def qualified_type(self) -> str:
        return f"{FINOPS_NAMESPACE}.{self.type}" if self.is_enum else self.type


@dataclass(frozen=True)
class FinOpsNavigation:
    name: str
    target_set: str
    collection: bool


@dataclass(frozen=True)
class FinOpsEntity:
    entity_set: str
    type_name: str  # unqualified, e.g. CustomerV3
    key: tuple[str, ...]
    properties: dict[str, FinOpsProperty]  # in the metadata's order
    navigation: dict[str, FinOpsNavigation]
    source: str

    @property
    def qualified_type(self) -> str:
        return f"{FINOPS_NAMESPACE}.{self.type_name}"


@cache
def finops_enums() -> dict[str, dict[str, int]]:
    """Enum type name -> member name -> value, as F&O's `$metadata` declares them."""
    return {name: dict(enum["members"]) for name, enum in _load("finops.json")["enums"].items()}


@cache
def finops_entities() -> dict[str, FinOpsEntity]:
    """Entity set name -> entity, for every F&O data entity the metadata holds."""
    data = _load("finops.json")
    enums = set(data["enums"])
    prefix = FINOPS_NAMESPACE + "."
    entities = {}
    for name, raw in data["entities"].items():
        properties = {}
        for prop_name, prop in raw["properties"].items():
            type_name = prop["type"].removeprefix(prefix)
            properties[prop_name] = FinOpsProperty(prop_name, type_name, bool(prop["nullable"]), type_name in enums)
        navigation = {nav: FinOpsNavigation(nav, target["target_set"], bool(target["collection"]))
                      for nav, target in raw["navigation"].items()}
        entities[name] = FinOpsEntity(name, raw["type"].removeprefix(prefix), tuple(raw["key"]), properties,
                                      navigation, raw["source"])
    return entities


# --- Dataverse -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataverseColumn:
    """One column. `type` is Dataverse's AttributeType (String, Lookup, Picklist, Money, ...), not an Edm type;
    `required_level` is None, Recommended, ApplicationRequired or SystemRequired."""

    name: str
    type: str | None
    max_length: int | None
    required_level: str
    writable: bool
    solution: str = ""  # "msdynce_ProspectToCashIntegration" for the P2C solution's columns


@dataclass(frozen=True)
class DataverseLookup:
    """A lookup column: read back as `_<name>_value`, written through one `@odata.bind` navigation per target."""

    name: str
    type: str  # Lookup, Customer or Owner
    targets: tuple[str, ...]  # logical names
    navigation: tuple[str, ...]  # the single-valued navigation properties that bind it
    writable: bool

    @property
    def read_property(self) -> str:
        return f"_{self.name}_value"


@dataclass(frozen=True)
class DataverseNavigation:
    """A navigation property: single-valued ones point at the `referenced_entity`, collection-valued ones list the
    `referencing_entity` rows whose `referencing_attribute` points back; `relationship` is the relationship's name."""

    name: str
    collection: bool
    referenced_entity: str | None
    referenced_entity_set: str | None
    referencing_attribute: str | None
    relationship: str | None = None
    referencing_entity: str | None = None
    referencing_entity_set: str | None = None


@dataclass(frozen=True)
class DataverseTable:
    entity_set: str
    logical_name: str
    key: str
    primary_name: str
    columns: dict[str, DataverseColumn]
    lookups: dict[str, DataverseLookup]
    navigation: dict[str, DataverseNavigation]
    choices: dict[str, dict[int, str]]  # column -> value -> label (recorded ones only)
    alternate_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)  # defined by the P2C solution

    @property
    def entity_type(self) -> str:
        return f"{DATAVERSE_NAMESPACE}.{self.logical_name}"


def parse_choices(text: str) -> dict[int, str]:
    """`'0=Draft;1=Active'` -> {0: 'Draft', 1: 'Active'}; a label's `(state N)` note stays in the label."""
    options = {}
    for part in text.split(";"):
        value, _, label = part.partition("=")
        options[int(value)] = label.strip()
    return options


@cache
def dataverse_tables() -> dict[str, DataverseTable]:
    """Entity set name -> table, with the Prospect to cash solution's columns added, for every recorded table."""
    data = _load("dataverse.json")
    solution = _load("p2c_solution.json")
    tables = {}
    for name, raw in data["entities"].items():
        logical = raw["logical_name"]
        columns = {col: DataverseColumn(col, prop["type"], prop["max_length"], prop["required_level"],
                                        bool(prop["writable"]))
                   for col, prop in raw["properties"].items()}
        for col, prop in solution["columns"].get(name, {}).items():
            columns[col] = DataverseColumn(col, prop["type"], prop["max_length"], prop["required_level"],
                                           bool(prop["writable"]), solution="msdynce_ProspectToCashIntegration")
        lookups = {col: DataverseLookup(col, lookup["type"], tuple(lookup.get("targets") or ()),
                                        tuple(lookup.get("bind_navigation_properties") or ()),
                                        bool(lookup.get("writable")))
                   for col, lookup in raw["lookups"].items()}
        navigation = {nav: DataverseNavigation(nav, target["kind"] == "collection-valued",
                                               target.get("referenced_entity"), target.get("referenced_entity_set"),
                                               target.get("referencing_attribute"), target.get("relationship"),
                                               target.get("referencing_entity"), target.get("referencing_entity_set"))
                      for nav, target in raw["navigation"].items() if not nav.startswith("?")}
        choices: dict[str, dict[int, str]] = {}
        for recorded in (data["enums"], solution["choices"]):  # a solution's options extend the recorded ones
            for key, value in recorded.items():
                table, column = key.split(".", 1)
                if table == logical:
                    choices[column] = {**choices.get(column, {}), **parse_choices(value["options"])}
        alternate_keys = {key: tuple(cols) for key, cols in solution["alternate_keys"].get(name, {}).items()}
        tables[name] = DataverseTable(name, logical, raw["key"][0], raw["primary_name_attribute"], columns, lookups,
                                      navigation, choices, alternate_keys)
    return tables
