"""Change feeds: one interface, three strategies, each read page by page with a cursor for the next read.

- Dataverse change tracking: the delta link is the cursor; tombstones come back as deletes.
- A modified-on watermark where tracking is off: the cursor is the read's start (server clock) minus an overlap,
  never the newest timestamp seen, so a row written during the read, or tied at the boundary, comes again.
- A full scan (F&O's commercial entities have no modified timestamp): every row; the caller compares hashes.

Usage: `read = client.delta_changes(...)`; `for changes in read: ...`; then store `read.cursor`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.errors import ChangeTrackingExpiredError, ValidationError
from connectors.odata import literal
from connectors.paging import Page

if TYPE_CHECKING:
    from connectors.base import ODataClient


@dataclass(frozen=True)
class Change:
    """One changed record: its key, its current row (None when deleted) and whether it was deleted."""

    key: dict[str, Any]
    row: dict[str, Any] | None
    deleted: bool = False


class ChangeRead:
    """One pass over a change feed. Iterate it (once) for lists of changes, a page at a time; `cursor` is where
    the next pass starts, known only when every page has been read."""

    def __init__(self) -> None:
        self._state = "new"
        self._cursor: str | None = None

    def __iter__(self) -> Iterator[list[Change]]:
        if self._state != "new":
            raise RuntimeError("a change read can be iterated only once")
        self._state = "reading"
        for changes in self._changes():
            if changes:
                yield changes
        self._state = "done"

    @property
    def cursor(self) -> str | None:
        if self._state != "done":
            raise RuntimeError("the next cursor is known once every page has been read")
        return self._cursor

    def _changes(self) -> Iterator[list[Change]]:
        raise NotImplementedError


class FullScanRead(ChangeRead):
    """Every row as a change; there is no cursor, a full scan always starts from the beginning."""

    def __init__(self, pages: Iterator[Page], key_fields: tuple[str, ...]):
        super().__init__()
        self._pages = pages
        self._key_fields = key_fields

    def _changes(self) -> Iterator[list[Change]]:
        for page in self._pages:
            yield [Change(_key(row, self._key_fields), row) for row in page.rows]


class DeltaRead(ChangeRead):
    """Dataverse change tracking. With no cursor, reads every row and ends with the first delta link; with one,
    reads what changed since. A delta link the service refuses raises ChangeTrackingExpiredError."""

    def __init__(self, client: ODataClient, entity_set: str, *, primary_key: str, select: Sequence[str],
                 cursor: str | None):
        super().__init__()
        self._client = client
        self._entity_set = entity_set
        self._primary_key = primary_key
        self._select = tuple(select)
        self._start = cursor

    def _changes(self) -> Iterator[list[Change]]:
        prefer = ("odata.track-changes",)
        if self._start:
            pages = self._client.pages_from(self._start, entity_set=self._entity_set, prefer=prefer)
        else:  # $filter, $orderby, $top and $expand cannot be combined with change tracking
            pages = self._client.pages(self._entity_set, select=self._select, prefer=prefer)
        delta_link = None
        for page in self._expiry_checked(pages):
            yield [self._change(row) for row in page.rows]
            delta_link = page.delta_link or delta_link
        if not delta_link:
            raise ValidationError(f"No delta link came back: is change tracking enabled on {self._entity_set}?",
                                  entity_set=self._entity_set)
        self._cursor = delta_link

    def _expiry_checked(self, pages: Iterator[Page]) -> Iterator[Page]:
        try:
            first = next(pages, None)
        except ValidationError as exc:
            if not self._start:
                raise
            # A stored delta link the service will not take again can only be replaced by a full read.
            raise ChangeTrackingExpiredError(exc.message, status=exc.status, code=exc.code,
                                             entity_set=self._entity_set) from exc
        if first is not None:
            yield first
            yield from pages

    def _change(self, row: dict[str, Any]) -> Change:
        if "$deletedEntity" in str(row.get("@odata.context", "")):
            return Change({self._primary_key: row.get("id")}, None, deleted=True)
        return Change({self._primary_key: row.get(self._primary_key)}, row)


class WatermarkRead(ChangeRead):
    """Rows whose `since_field` is at or after the cursor (inclusive), in (`since_field`, key) order.

    The next cursor is this read's start on the service's clock minus `overlap`: rows written during the read,
    or tied on the boundary second, come again next time, and the caller recognises repeats by payload hash.
    A row written during the read can also show up twice in it (its old version, then its new one on a later
    page): only its first appearance is returned, the next read brings the new version. Deletes are not seen.
    """

    def __init__(self, client: ODataClient, entity_set: str, *, key_fields: Sequence[str], since_field: str,
                 select: Sequence[str], filter: str | None, cursor: str | None, overlap: timedelta):
        super().__init__()
        self._client = client
        self._entity_set = entity_set
        self._key_fields = tuple(key_fields)
        self._since_field = since_field
        self._select = tuple(dict.fromkeys([*select, since_field, *key_fields])) if select else ()
        self._filter = filter
        self._since = _timestamp(cursor) if cursor else None
        self._overlap = overlap

    def _changes(self) -> Iterator[list[Change]]:
        clauses = [f"({self._filter})"] if self._filter else []
        if self._since is not None:
            clauses.append(f"{self._since_field} ge {literal(self._since)}")
        local_start = datetime.now(UTC)
        start: datetime | None = None
        seen: set[bytes] = set()  # 16-byte digests of the keys read so far: ~80 bytes per row
        pages = self._client.pages(self._entity_set, select=self._select, filter=" and ".join(clauses) or None,
                                   orderby=",".join([self._since_field, *self._key_fields]))
        for page in pages:
            if start is None:  # when the first request was sent, on the service's clock if it told us
                start = page.server_time - page.elapsed if page.server_time else local_start
            changes = []
            for row in page.rows:
                key = _key(row, self._key_fields)
                digest = hashlib.blake2b(repr(tuple(key.values())).encode(), digest_size=16).digest()
                if digest not in seen:
                    seen.add(digest)
                    changes.append(Change(key, row))
            yield changes
        self._cursor = literal((start or local_start) - self._overlap)


def _key(row: dict[str, Any], key_fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: row.get(name) for name in key_fields}


def _timestamp(value: str) -> datetime:
    """An OData DateTimeOffset (`2024-05-01T10:00:00Z`) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
