"""What stands between a request body and a stored row: the OData layer's checks against the entity type
(400 with ODataLib's wording) and the entity's validateField/validateWrite (500 with an Infolog, reference 2.4).

ODataLib, reading a body against the metadata, refuses a property the type does not declare, a null for a
property declared Nullable="false", and an enum value that is not a JSON string: its JSON reader takes enum
members as quoted names only, and its own test (FlagsEnumAsEntityProperty_IntAsValue_..._Error) expects
"Cannot read the value '2' as a quoted JSON string value." for a number. A null for a nullable property stores
the empty X++ value.

Assumptions: enum members match exactly, case included (the docs do not say whether F&O takes 'yes' for
'Yes'), and a name that does not match fails the write like a validateField failure (500 with an Infolog),
since nothing public says which layer refuses it; the exact Infolog wording for a too-long string, an unknown
enum name and an unknown company is not public, so the messages follow the documented pattern ("Warning: …;
Warning: validateField failed on field …").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from connectors.emulators.finops.errors import BadRequest
from connectors.emulators.finops.keys import stored_date
from connectors.emulators.finops.schema import (
    COMPANY,
    EMPTY_GUID,
    ForeignKey,
    TableSpec,
    empty_value,
    enum_name,
    label_of,
)
from connectors.emulators.finops.surface import EntitySet
from connectors.emulators.microsoft_metadata import finops_enums

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

_INTEGER_TYPES = frozenset({"Edm.Int32", "Edm.Int64"})


def read_body(entity_set: EntitySet, payload: object) -> dict[str, object]:
    """The body's values by stored column, converted to stored form; annotations (`@odata.type`, ...) are
    ignored."""
    if not isinstance(payload, dict):
        raise BadRequest(f"The request body must be a JSON object describing a '{entity_set.qualified_type}' "
                         "entity.")
    metadata = entity_set.metadata.properties
    values: dict[str, object] = {}
    for name, value in payload.items():
        if "@" in name:
            continue
        prop = metadata.get(name)
        if prop is None:
            raise BadRequest(f"The property '{name}' does not exist on type '{entity_set.qualified_type}'. Make sure "
                             "to only use property names that are defined by the type.")
        edm = entity_set.properties[name]
        if value is None and not prop.nullable:
            expected = f"{prop.qualified_type}[Nullable=False]"
            raise BadRequest(f"A null value was found for the property named '{name}', which has the expected type "
                             f"'{expected}'. The expected type '{expected}' does not allow null values.")
        values[entity_set.columns[name]] = stored_value(name, edm, value)
    return values


def stored_value(name: str, edm: str, value: object) -> object:
    """A JSON value as the column stores it; BadRequest with ODataLib's wording when it is not of the type."""
    if value is None:  # X++ has no null: a nullable property stores its empty value
        return empty_value(edm)
    if enum_name(edm):
        if isinstance(value, str):
            return value
        raise BadRequest(f"Cannot read the value '{value}' as a quoted JSON string value.")
    if edm == "Edm.String":
        if isinstance(value, str):
            return value.lower() if name == COMPANY else value
    elif edm in _INTEGER_TYPES:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif edm == "Edm.DateTimeOffset":
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return stored_date(parsed)
    elif edm == "Edm.Guid":
        if isinstance(value, str) and len(value) == len(EMPTY_GUID) and value.count("-") == 4:
            return value.lower()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise BadRequest(f"Cannot convert the literal '{value}' to the expected type '{edm}'.")


def infolog(app: FinOpsEmulator, table: TableSpec, ax_entity: str, row: Mapping[str, object],
            changed: Collection[str], types: Mapping[str, str]) -> list[str]:
    """The warnings validateField (for `changed` columns) and validateWrite would log; empty when the row is
    valid. `types` gives each written column's type (an enum name is checked against its enum)."""
    messages: list[str] = []
    failed = f"validateField failed on field '{ax_entity}.{{}}'."
    if table.per_company and app.legal_entity(str(row[COMPANY])) is None:
        messages.append(f"Warning: Company '{row[COMPANY]}' does not exist.")
    for column in changed:
        declared = table.by_name.get(column)
        edm = declared.edm if declared else types[column]
        value, caption = row.get(column, empty_value(edm)), declared.caption if declared else label_of(column)
        if declared is not None and declared.size is not None and len(str(value)) > declared.size:
            messages += [f"Warning: The value '{value}' in field '{caption}' is too long; the maximum length "
                         f"is {declared.size} characters.", "Warning: " + failed.format(column)]
        enum = enum_name(edm)
        if enum and value not in finops_enums()[enum]:
            messages += [f"Warning: '{value}' is not a valid value of the enumeration '{enum}' for field "
                         f"'{caption}'.", "Warning: " + failed.format(column)]
    for declared in table.fields:
        if declared.mandatory and row[declared.name] == declared.default:
            messages.append(f"Warning: Field '{declared.caption}' must be filled in.")
    for foreign_key in table.foreign_keys:
        if any(name in changed for name in foreign_key.fields):
            messages += _missing_reference(app, table, foreign_key, row, failed)
    return messages


def _missing_reference(app: FinOpsEmulator, table: TableSpec, foreign_key: ForeignKey, row: Mapping[str, object],
                       failed: str) -> list[str]:
    values = tuple(row[name] for name in foreign_key.fields)
    if any(value in ("", None) for value in values):
        return []
    target = app.store.tables[foreign_key.table]
    lookup = (row[COMPANY], *values) if target.key[0] == COMPANY else values
    found = target.find(foreign_key.index, lookup) if foreign_key.index else target.get(lookup)
    if found is not None:
        return []
    name = foreign_key.fields[-1]
    return [f"Warning: The value '{values[-1]}' in field '{table.by_name[name].caption}' is not found in the related "
            f"table '{foreign_key.related_label}'.", "Warning: " + failed.format(name)]
