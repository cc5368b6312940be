"""The emulators' in-memory database: tables in key order, unique indexes, row versions, tombstones, rollback.

One lock guards a whole store, so a page read never sees half a write and a change set is atomic. Key
comparisons ignore case, as SQL Server's default collation does in both Microsoft systems.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sortedcontainers import SortedDict


class DuplicateKey(Exception):
    """An insert or update would give two rows the same primary or alternate key."""

    def __init__(self, table: str, index: str, values: tuple):
        super().__init__(f"{table}: duplicate {index} {values}")
        self.table = table
        self.index = index
        self.values = values


def normalize(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def _sortable(values: tuple) -> tuple:
    # None sorts first and never compares against a str or a number.
    return tuple((0, "") if v is None else (1, normalize(v)) for v in values)


class Table:
    """The rows of one entity set, ordered by primary key."""

    def __init__(self, store: Store, name: str, key: tuple[str, ...], unique: dict[str, tuple[str, ...]] | None = None,
                 multi: dict[str, tuple[str, ...]] | None = None):
        self.store = store
        self.name = name
        self.key = key
        self.unique = dict(unique or {})
        self.multi = dict(multi or {})  # non-unique indexes, e.g. lines by their header's number
        self._rows: SortedDict = SortedDict()
        self._indexes: dict[str, dict[tuple, tuple]] = {index: {} for index in self.unique}
        self._groups: dict[str, dict[tuple, set[tuple]]] = {index: {} for index in self.multi}
        self._tombstones: list[tuple[int, tuple]] = []

    def __len__(self) -> int:
        return len(self._rows)

    def key_of(self, row: dict) -> tuple:
        return tuple(row.get(field) for field in self.key)

    def get(self, key: tuple) -> dict | None:
        return self._rows.get(_sortable(key))

    def find(self, index: str, values: tuple) -> dict | None:
        """A row by one of its alternate keys."""
        primary = self._indexes[index].get(_sortable(values))
        return None if primary is None else self._rows.get(primary)

    def find_all(self, index: str, values: tuple) -> list[dict]:
        """The rows whose fields of a non-unique index equal `values`, in key order."""
        keys = self._groups[index].get(_sortable(values), ())
        return [self._rows[key] for key in sorted(keys)]

    def in_key_order(self, rows: Iterable[dict]) -> list[dict]:
        return sorted(rows, key=lambda row: _sortable(self.key_of(row)))

    def scan(self, after: tuple | None = None) -> Iterator[dict]:
        """Rows in key order, starting after the given key (for seek paging that never repeats a row)."""
        if after is None:
            keys = self._rows.irange()
        else:
            keys = self._rows.irange(minimum=_sortable(after), inclusive=(False, True))
        for key in keys:
            yield self._rows[key]

    def insert(self, row: dict) -> dict:
        sort_key = _sortable(self.key_of(row))
        if sort_key in self._rows:
            raise DuplicateKey(self.name, "primary key", self.key_of(row))
        self._check_unique(row, None)
        row["_version"] = self.store.next_version()
        self._rows[sort_key] = row
        self._index(row, sort_key)
        self.store.on_undo(lambda: self._remove(sort_key))
        return row

    def replace(self, row: dict) -> dict:
        """Store a new version of an existing row (same primary key)."""
        sort_key = _sortable(self.key_of(row))
        old = self._rows[sort_key]
        self._check_unique(row, sort_key)
        self._unindex(old)
        row["_version"] = self.store.next_version()
        self._rows[sort_key] = row
        self._index(row, sort_key)

        def undo() -> None:
            self._unindex(row)
            self._rows[sort_key] = old
            self._index(old, sort_key)

        self.store.on_undo(undo)
        return row

    def delete(self, key: tuple) -> dict | None:
        sort_key = _sortable(key)
        row = self._rows.get(sort_key)
        if row is None:
            return None
        self._remove(sort_key)
        self._tombstones.append((self.store.next_version(), self.key_of(row)))

        def undo() -> None:
            self._tombstones.pop()
            self._rows[sort_key] = row
            self._index(row, sort_key)

        self.store.on_undo(undo)
        return row

    def changes_since(self, version: int) -> tuple[list[dict], list[tuple]]:
        """Rows written after `version` (in version order) and the keys of rows deleted after it."""
        changed = sorted((row for row in self._rows.values() if row["_version"] > version),
                         key=lambda row: row["_version"])
        deleted = [key for stamp, key in self._tombstones if stamp > version]
        return changed, deleted

    def deletions_since(self, version: int) -> list[tuple[int, tuple]]:
        """(version of the delete, key) of rows deleted after `version`, oldest first: for paging a delta."""
        return [(stamp, key) for stamp, key in self._tombstones if stamp > version]

    def set_unique(self, unique: dict[str, tuple[str, ...]]) -> None:
        """Replace the unique indexes (an alternate key defined, activated or dropped); when the stored rows break
        one, raise DuplicateKey naming it and change nothing."""
        indexes: dict[str, dict[tuple, tuple]] = {}
        for index, fields in unique.items():
            entries: dict[tuple, tuple] = {}
            for sort_key, row in self._rows.items():
                values = tuple(row.get(field) for field in fields)
                if any(v is None or v == "" for v in values):
                    continue
                if _sortable(values) in entries:
                    raise DuplicateKey(self.name, index, values)
                entries[_sortable(values)] = sort_key
            indexes[index] = entries
        self.unique = dict(unique)
        self._indexes = indexes

    def clear(self) -> None:
        self._rows.clear()
        self._tombstones.clear()
        for index in self._indexes.values():
            index.clear()
        for group in self._groups.values():
            group.clear()

    def _remove(self, sort_key: tuple) -> None:
        row = self._rows.pop(sort_key)
        self._unindex(row)

    def _check_unique(self, row: dict, own_key: tuple | None) -> None:
        for index, fields in self.unique.items():
            values = tuple(row.get(field) for field in fields)
            if any(v is None or v == "" for v in values):
                continue
            holder = self._indexes[index].get(_sortable(values))
            if holder is not None and holder != own_key:
                raise DuplicateKey(self.name, index, values)

    def _index(self, row: dict, sort_key: tuple) -> None:
        for index, fields in self.unique.items():
            values = tuple(row.get(field) for field in fields)
            if not any(v is None or v == "" for v in values):
                self._indexes[index][_sortable(values)] = sort_key
        for index, fields in self.multi.items():
            self._groups[index].setdefault(_sortable(tuple(row.get(field) for field in fields)), set()).add(sort_key)

    def _unindex(self, row: dict) -> None:
        for index, fields in self.unique.items():
            self._indexes[index].pop(_sortable(tuple(row.get(field) for field in fields)), None)
        sort_key = _sortable(self.key_of(row))
        for index, fields in self.multi.items():
            group_key = _sortable(tuple(row.get(field) for field in fields))
            group = self._groups[index].get(group_key)
            if group is not None:
                group.discard(sort_key)
                if not group:
                    del self._groups[index][group_key]


class Store:
    """All tables of one emulator, one lock, one version counter (like SQL Server's rowversion)."""

    def __init__(self):
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {}
        self.version = 1000
        self._undo: list[Callable[[], None]] | None = None

    def table(self, name: str, key: tuple[str, ...], unique: dict[str, tuple[str, ...]] | None = None,
              multi: dict[str, tuple[str, ...]] | None = None) -> Table:
        self.tables[name] = Table(self, name, key, unique, multi)
        return self.tables[name]

    def next_version(self) -> int:
        self.version += 1
        return self.version

    def on_undo(self, action: Callable[[], None]) -> None:
        if self._undo is not None:
            self._undo.append(action)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen, or none: an exception undoes them in reverse order and propagates."""
        with self.lock:
            if self._undo is not None:  # already inside one: join it
                yield
                return
            self._undo = []
            try:
                yield
            except BaseException:
                for action in reversed(self._undo):
                    action()
                raise
            finally:
                self._undo = None

    def clear(self) -> None:
        with self.lock:
            for table in self.tables.values():
                table.clear()
