"""`POST /_emulator/rows`: plant a row in a stored table, for data Microsoft's users create in F&O's client
rather than over OData (a released product whose shared product does not exist yet, a stopped product).

The row goes through the table's entity logic (defaults, validation, foreign keys) as a write would, so planted
data is as consistent as created data. Body: `{"table": "InventTable", "values": {"ProductNumber": "P1", ...}}`,
values by stored column; answers 201 with the stored row, or 400 naming what is wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.emulators.finops.entities import ENTITY_SETS
from connectors.emulators.finops.errors import BadRequest
from connectors.emulators.finops.logic import rules_for
from connectors.emulators.finops.schema import COMPANY, TableSpec
from connectors.emulators.finops.tables import TABLES_BY_NAME
from connectors.emulators.finops.validation import infolog, stored_value
from connectors.emulators.finops.writes import assign
from connectors.emulators.server import Response, json_response
from connectors.emulators.store import DuplicateKey

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator


def column_types(table: TableSpec) -> dict[str, str]:
    """Every column a row of the table may hold: the declared ones and those entity sets over it expose."""
    types = {declared.name: declared.edm for declared in table.fields}
    for entity_set in ENTITY_SETS.values():
        if entity_set.table is table:
            for column, edm in entity_set.column_types.items():
                types.setdefault(column, edm)
    return types


def insert_row(app: FinOpsEmulator, body: dict) -> Response:
    table = TABLES_BY_NAME.get(body.get("table"))
    values = body.get("values")
    if table is None:
        return json_response(400, {"error": f"no stored table {body.get('table')!r}; one of {sorted(TABLES_BY_NAME)}"})
    if not isinstance(values, dict):
        return json_response(400, {"error": "values must be a JSON object of column -> value"})
    types = column_types(table)
    unknown = sorted(set(values) - set(types))
    if unknown:
        return json_response(400, {"error": f"{table.name} has no column {unknown[0]!r}"})
    try:
        converted = {column: stored_value(column, types[column], value) for column, value in values.items()}
    except BadRequest as exc:
        return json_response(400, {"error": exc.message})
    row = table.blank_row()
    assign(row, converted, table, types)
    if table.per_company:
        row[COMPANY] = converted.get(COMPANY) or app.default_company
    rules = rules_for(table.name)
    with app.store.transaction():
        rules.prepare(app, row, None, set(converted))
        problems = (infolog(app, table, table.name, row, set(converted) | set(table.by_name), types)
                    + rules.check(app, row))
        if problems:
            return json_response(400, {"error": "; ".join(problems)})
        try:
            stored = app.store.tables[table.name].insert(row)
        except DuplicateKey as exc:
            return json_response(400, {"error": f"{table.name} already holds a row with {exc.index} {exc.values}"})
        rules.after_write(app, stored, None)
    return json_response(201, {"table": table.name, "row": {k: v for k, v in stored.items() if k != "_version"}})
