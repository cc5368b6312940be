"""What stands between a request body and a stored row: the OData layer's type checks (400 with ODataLib's
wording) and the entity's validateField/validateWrite (500 with an Infolog, reference 2.4).

Assumption: the exact Infolog wording for a too-long string, an unknown enum name and an unknown company is not
public; the messages follow the documented pattern ("Warning: …; Warning: validateField failed on field …").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from connectors.emulators.finops.errors import BadRequest
from connectors.emulators.finops.keys import stored_date
from connectors.emulators.finops.schema import COMPANY, ENUMS, EntitySet, Field, ForeignKey

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

_INTEGER_TYPES = frozenset({"Edm.Int32", "Edm.Int64"})


def read_body(entity_set: EntitySet, payload: object) -> dict[str, object]:
    """The body's property values converted to stored form; annotations (`@odata.type`, ...) are ignored."""
    if not isinstance(payload, dict):
        raise BadRequest(f"The request body must be a JSON object describing a '{entity_set.qualified_type}' "
                         "entity.")
    values: dict[str, object] = {}
    for name, value in payload.items():
        if "@" in name:
            continue
        if name not in entity_set.properties:
            raise BadRequest(f"The property '{name}' does not exist on type '{entity_set.qualified_type}'. Make sure "
                             "to only use property names that are defined by the type.")
        values[name] = _stored(entity_set.field(name), value)
    return values


def _stored(field: Field, value: object) -> object:
    edm = field.edm
    if value is None:  # X++ has no null: a null is the field's empty value
        return field.default
    if field.enum:
        if isinstance(value, str):
            return next((m for m in ENUMS[field.enum] if m.casefold() == value.casefold()), value)
    elif edm == "Edm.String":
        if isinstance(value, str):
            return value.lower() if field.name == COMPANY else value
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
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise BadRequest(f"Cannot convert the literal '{value}' to the expected type '{edm}'.")


def infolog(app: FinOpsEmulator, entity_set: EntitySet, row: Mapping[str, object],
            changed: Collection[str]) -> list[str]:
    """The warnings validateField (for `changed` fields) and validateWrite would log; empty when the row is valid."""
    table = entity_set.table
    messages: list[str] = []
    failed = f"validateField failed on field '{entity_set.ax_entity}.{{}}'."
    if table.per_company and app.legal_entity(str(row[COMPANY])) is None:
        messages.append(f"Warning: Company '{row[COMPANY]}' does not exist.")
    for field in table.fields:
        if field.name not in changed:
            continue
        value = row[field.name]
        if field.size is not None and len(str(value)) > field.size:
            messages += [f"Warning: The value '{value}' in field '{field.caption}' is too long; the maximum length "
                         f"is {field.size} characters.", "Warning: " + failed.format(field.name)]
        if field.enum and value not in ENUMS[field.enum]:
            messages += [f"Warning: '{value}' is not a valid value of the enumeration '{field.enum}' for field "
                         f"'{field.caption}'.", "Warning: " + failed.format(field.name)]
    for field in table.fields:
        if field.mandatory and row[field.name] == field.default:
            messages.append(f"Warning: Field '{field.caption}' must be filled in.")
    for foreign_key in table.foreign_keys:
        if any(name in changed for name in foreign_key.fields):
            messages += _missing_reference(app, entity_set, foreign_key, row, failed)
    return messages


def _missing_reference(app: FinOpsEmulator, entity_set: EntitySet, foreign_key: ForeignKey, row: Mapping[str, object],
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
    caption = entity_set.field(name).caption
    return [f"Warning: The value '{values[-1]}' in field '{caption}' is not found in the related table "
            f"'{foreign_key.related_label}'.", "Warning: " + failed.format(name)]
