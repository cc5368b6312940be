"""The emulator's tables on top of the shared store, with the environment's alternate keys as unique indexes (only
Active keys index and constrain rows, as only they do in Dataverse). Document lines are indexed by their header
(the store's non-unique index), so totals and `$expand` of lines never scan a whole table.

Callers hold `store.lock` (or a transaction) around writes and around reads of related rows.
"""

from __future__ import annotations

from dataclasses import replace as with_status

from connectors.emulators.dataverse import errors
from connectors.emulators.dataverse.environment import AlternateKey, Environment
from connectors.emulators.dataverse.resources import RecordKey
from connectors.emulators.dataverse.schema import ENTITY_SETS, LINE_SETS, EntitySet
from connectors.emulators.store import DuplicateKey, Store, Table

Row = dict
HEADER_INDEX = "header"
# Price list items by price list and product: what pricing a document line looks up (pricing.py).
ITEM_INDEX = "item"
_OTHER_INDEXES = {"productpricelevels": {ITEM_INDEX: ("_pricelevelid_value", "_productid_value")}}


class Records:
    """Typed access to the emulator's rows: by id, by alternate key, lines by header, rows by a lookup."""

    def __init__(self, store: Store, environment: Environment | None = None):
        self.store = store
        self.environment = environment or Environment()
        self.tables: dict[str, Table] = {}
        for entity_set in ENTITY_SETS.values():
            multi = _OTHER_INDEXES.get(entity_set.name)
            if entity_set.name in LINE_SETS:
                multi = {HEADER_INDEX: (LINE_SETS[entity_set.name][1].value_field,)}
            self.tables[entity_set.name] = store.table(entity_set.name, (entity_set.key,),
                                                       self.environment.active_keys(entity_set.name), multi)

    def configure(self, environment: Environment) -> Environment:
        """Apply an environment's keys to the tables. A key that cannot become Active because stored rows share its
        values ends Failed, as its index job would in Dataverse (assumption: the emulator builds indexes at once)."""
        with self.store.lock:
            for name, table in self.tables.items():
                while True:
                    try:
                        table.set_unique(environment.active_keys(name))
                        break
                    except DuplicateKey as exc:
                        failed: AlternateKey = environment.keys[name][exc.index]
                        keys = {**environment.keys, name: {**environment.keys[name],
                                                           exc.index: with_status(failed, status="Failed")}}
                        environment = Environment(keys, environment.tracking)
            self.environment = environment
        return environment

    def table(self, name: str) -> Table:
        return self.tables[name]

    def get(self, entity_set: str, record_id: object) -> Row | None:
        return self.tables[entity_set].get((record_id,))

    def find(self, entity_set: EntitySet, key: RecordKey) -> Row | None:
        table = self.tables[entity_set.name]
        if key.record_id is not None:
            return table.get((key.record_id,))
        if key.index not in table.unique:  # the key stopped being Active since the URL was read
            raise errors.key_not_defined(entity_set.logical)
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

    def price_list_items(self, price_list_id: str, product_id: str) -> list[Row]:
        """A product's items in a price list (one per unit it is priced in)."""
        return self.tables["productpricelevels"].find_all(ITEM_INDEX, (price_list_id, product_id))

    def referencing(self, entity_set: str, value_field: str, record_id: str) -> list[Row]:
        """The rows of `entity_set` whose lookup `value_field` points at `record_id`, in key order."""
        if entity_set in LINE_SETS and LINE_SETS[entity_set][1].value_field == value_field:
            return self.lines_of(entity_set, record_id)
        return [row for row in self.tables[entity_set].scan() if row.get(value_field) == record_id]
