"""The emulator's tables on top of the shared store; document lines are indexed by their header (the store's
non-unique index), so totals and `$expand` of lines never scan a whole table.

Callers hold `store.lock` (or a transaction) around writes and around reads of lines.
"""

from __future__ import annotations

from connectors.emulators.dataverse.resources import RecordKey
from connectors.emulators.dataverse.schema import ENTITY_SETS, LINE_SETS, EntitySet
from connectors.emulators.store import Store, Table

Row = dict
HEADER_INDEX = "header"


class Records:
    """Typed access to the emulator's rows: by id, by alternate key, and lines by header."""

    def __init__(self, store: Store):
        self.store = store
        self.tables: dict[str, Table] = {}
        for entity_set in ENTITY_SETS.values():
            multi = None
            if entity_set.name in LINE_SETS:
                multi = {HEADER_INDEX: (f"_{LINE_SETS[entity_set.name][1].lookup}_value",)}
            self.tables[entity_set.name] = store.table(entity_set.name, (entity_set.key,),
                                                       dict(entity_set.alternate_keys), multi)

    def table(self, name: str) -> Table:
        return self.tables[name]

    def get(self, entity_set: str, record_id: object) -> Row | None:
        return self.tables[entity_set].get((record_id,))

    def find(self, entity_set: EntitySet, key: RecordKey) -> Row | None:
        table = self.tables[entity_set.name]
        if key.record_id is not None:
            return table.get((key.record_id,))
        return table.find(key.index, key.values)

    def insert(self, entity_set: EntitySet, row: Row) -> Row:
        return self.tables[entity_set.name].insert(row)

    def replace(self, entity_set: EntitySet, row: Row) -> Row:
        return self.tables[entity_set.name].replace(row)

    def delete(self, entity_set: EntitySet, row: Row) -> None:
        self.tables[entity_set.name].delete((row[entity_set.key],))

    def lines_of(self, line_set: str, header_id: str) -> list[Row]:
        """A header's lines in line order (sequence number, then id)."""
        lines = self.tables[line_set].find_all(HEADER_INDEX, (header_id,))
        return sorted(lines, key=lambda line: (line.get("sequencenumber") or 0))
