"""Where a page ended, carried in the nextLink, so following the links seeks instead of re-skipping.

F&O's nextLinks are positional (`$skip=N`, reference 2.3), and positions shift when rows are written while a
client pages: on the real service a row can come twice or be missed. The emulator keeps `$skip` (and `$top`)
in its links exactly as F&O does, and adds one custom option, `emulator-cursor`, naming the last row served;
a request carrying it continues right after that row, so concurrent writes never make a reader see a row
twice. A client that builds its own `$skip` URL gets plain positional paging. Connectors should still
de-duplicate by key, as the real service gives no such guarantee.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote_plus

from connectors.emulators.odata.query import sort_key
from connectors.emulators.store import normalize

CURSOR = "emulator-cursor"
Row = Mapping[str, object]


@dataclass(frozen=True)
class Cursor:
    """The table key of the last row served, and its `$orderby` values (none in key order)."""

    key: tuple
    order: tuple = ()


def encode(cursor: Cursor) -> str:
    text = json.dumps([list(cursor.key), list(cursor.order)], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(token: str | None, key_length: int, order_length: int) -> Cursor | None:
    """The cursor in a link, or None when there is none or it does not fit this query (then `$skip` rules)."""
    if not token:
        return None
    try:
        key, order = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError, binascii.Error):
        return None
    plain = (str, int, float)
    if (not isinstance(key, list) or not isinstance(order, list) or len(key) != key_length
            or len(order) != order_length or not all(isinstance(v, plain) for v in key + order)):
        return None
    return Cursor(tuple(key), tuple(order))


def next_query(query_string: str, skip: int, top: int | None, cursor: Cursor | None) -> str:
    """The request's own query string (as sent) with `$skip` (and `$top`, and the cursor) moved on."""
    replaced = ("$skip", "$top", CURSOR)
    kept = [pair for pair in query_string.split("&") if pair and unquote_plus(pair.partition("=")[0]) not in replaced]
    kept.append(f"$skip={skip}")
    if top is not None:
        kept.append(f"$top={top}")
    if cursor is not None:
        kept.append(f"{CURSOR}={encode(cursor)}")
    return "&".join(kept)


def ordered_position(rows: Sequence[Row], cursor: Cursor, orderby: list[tuple[str, bool]],
                     properties: Mapping[str, str], key_of: Callable[[Row], tuple]) -> int:
    """How many of `rows` (in `$orderby` order, ties in key order) come at or before the cursor's row."""
    by_order = sort_key(orderby, properties)

    def position(row: Row) -> tuple:
        return by_order(row), tuple(normalize(value) for value in key_of(row))

    anchor = dict(zip((name for name, _ in orderby), cursor.order, strict=True))
    return bisect_right(rows, (by_order(anchor), tuple(normalize(v) for v in cursor.key)), key=position)
