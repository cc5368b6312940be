"""Create, update and delete through an entity set, as F&O runs them: the OData layer's body checks (400), the
entity's defaults and validation (500 with the Infolog), then the store. Callers hold a store transaction, so a
failure leaves nothing behind and a change set can join several writes.

F&O has no upsert: PATCH on a missing key is 404. Keys cannot change on update. Without `cross-company=true`
a key outside the default company is not found, for writes as for reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.emulators.finops.errors import NotFound, PreconditionFailed, WriteFailed
from connectors.emulators.finops.logic import rules_for
from connectors.emulators.finops.render import etag
from connectors.emulators.finops.rules import fresh
from connectors.emulators.finops.schema import COMPANY, TableSpec, empty_value
from connectors.emulators.finops.surface import EntitySet
from connectors.emulators.finops.validation import infolog, read_body
from connectors.emulators.store import DuplicateKey, normalize

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

Row = dict[str, object]


def lookup(app: FinOpsEmulator, entity_set: EntitySet, key: tuple, company: str | None) -> Row:
    """The visible row with this key; `company` limits it to one company (None: every company)."""
    table = app.store.tables[entity_set.table.name]
    index, values = entity_set.key_lookup(key)
    row = table.find(index, values) if index else table.get(values)
    if (row is None or (company is not None and entity_set.per_company and row[COMPANY] != company)
            or (entity_set.visible is not None and not entity_set.visible(row))):
        raise NotFound(entity_set.name)
    return row


def create(app: FinOpsEmulator, entity_set: EntitySet, payload: object) -> Row:
    values = read_body(entity_set, payload)
    row = entity_set.table.blank_row()
    assign(row, values, entity_set.table, entity_set.column_types)
    if entity_set.per_company:
        row[COMPANY] = values.get(COMPANY) or app.default_company  # writes land in the body's company
    rules = rules_for(entity_set.table.name)
    rules.prepare(app, row, None, set(values))
    _validate(app, entity_set, row, set(values) | {f.name for f in entity_set.table.fields})
    table = app.store.tables[entity_set.table.name]
    try:
        stored = table.insert(row)
    except DuplicateKey as exc:
        raise _duplicate(entity_set.table, entity_set.ax_entity, exc, "create") from None
    rules.after_write(app, stored, None)
    return stored


def update(app: FinOpsEmulator, entity_set: EntitySet, key: tuple, payload: object, *, if_match: str | None,
           company: str | None) -> Row:
    old = lookup(app, entity_set, key, company)
    check_etag(old, if_match)
    values = read_body(entity_set, payload)
    fixed = dict.fromkeys((*entity_set.table.key, *(entity_set.columns[name] for name in entity_set.keys)))
    moved = [column for column in fixed if column in values and normalize(values[column]) != normalize(old[column])]
    if moved:
        caption = entity_set.caption(moved[0])
        raise WriteFailed(entity_set.ax_entity, [f"Warning: The field '{caption}' is part of the key and cannot be "
                                                 f"changed from '{old[moved[0]]}' to '{values[moved[0]]}'."])
    row = fresh(old)
    assign(row, values, entity_set.table, entity_set.column_types)
    for column in fixed:
        row[column] = old[column]
    rules = rules_for(entity_set.table.name)
    rules.prepare(app, row, old, set(values))
    _validate(app, entity_set, row, set(values))
    try:
        stored = app.store.tables[entity_set.table.name].replace(row)
    except DuplicateKey as exc:
        raise _duplicate(entity_set.table, entity_set.ax_entity, exc, "edit") from None
    rules.after_write(app, stored, old)
    return stored


def assign(row: Row, values: dict[str, object], table: TableSpec, types: dict[str, str]) -> None:
    """Write values into a row; a column the table does not declare is kept only while it holds something
    other than its empty value, so rows stay as small as what the logic and the clients put in them."""
    for column, value in values.items():
        if column in table.by_name or value != empty_value(types[column]):
            row[column] = value
        else:
            row.pop(column, None)


def delete(app: FinOpsEmulator, entity_set: EntitySet, key: tuple, *, if_match: str | None,
           company: str | None) -> None:
    old = lookup(app, entity_set, key, company)
    check_etag(old, if_match)
    rules = rules_for(entity_set.table.name)
    problems = rules.before_delete(app, old)
    if problems:
        raise WriteFailed(entity_set.ax_entity, problems)
    table = app.store.tables[entity_set.table.name]
    table.delete(table.key_of(old))
    rules.after_write(app, None, old)


def check_etag(row: Row, if_match: str | None) -> None:
    """`If-Match: *` or the current ETag passes; any other value means the row changed since it was read.
    Assumption: F&O answers a stale ETag with 412, as standard OData does (the reference found no statement)."""
    if if_match is None:
        return
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" not in tags and etag(row) not in tags:
        raise PreconditionFailed


def _validate(app: FinOpsEmulator, entity_set: EntitySet, row: Row, changed: set[str]) -> None:
    table = entity_set.table
    problems = (infolog(app, table, entity_set.ax_entity, row, changed, entity_set.column_types)
                + rules_for(table.name).check(app, row))
    if problems:
        raise WriteFailed(entity_set.ax_entity, problems)


def _duplicate(table: TableSpec, ax_entity: str, exc: DuplicateKey, action: str) -> WriteFailed:
    fields = table.key if exc.index == "primary key" else table.unique[exc.index]
    shown = [(name, value) for name, value in zip(fields, exc.values, strict=True) if name != COMPANY]
    described = ", ".join(str(value) for _, value in shown)
    caption = table.by_name[shown[0][0]].caption if shown else "Key"
    return WriteFailed(ax_entity, [f"Info: Cannot {action} a record in {table.label} ({table.name}). "
                                   f"{caption}: {described}.\nThe record already exists.."])
