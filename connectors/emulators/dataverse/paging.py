"""Dataverse's `$skiptoken`: a URL-encoded paging cookie holding the sort values and primary key of the last row
served, so the next page is a seek (rows inserted meanwhile never make a row come back twice).

The shape follows the documented cookie, `<cookie pagenumber="2" pagingcookie="%3ccookie page%3d%221%22%3e
%3caccountid last%3d%22%7b...%7d%22 .../%3e%3c%2fcookie%3e" istracking="False" />`. A tracking read also
carries the row version it started at, so its delta link (on the last page) misses nothing written while paging.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape, unescape

from connectors.emulators.dataverse.errors import DataverseError
from connectors.emulators.dataverse.resources import parse_guid

_HEX = re.compile(r"%[0-9A-F]{2}")
_QUOTE = {'"': "&quot;"}
_OUTER = re.compile(r'<cookie pagenumber="(\d+)" pagingcookie="([^"<>]*)" istracking="(True|False)" />\Z')
_INNER = re.compile(r'<cookie page="(\d+)"(?: version="(\d+)")?>((?:<[A-Za-z_][A-Za-z0-9_]* last="[^"<>]*" />)*)'
                    r"</cookie>\Z")
_COLUMN = re.compile(r'<([A-Za-z_][A-Za-z0-9_]*) last="([^"<>]*)" />')


@dataclass(frozen=True)
class PagePosition:
    """Where the next page starts: `last` holds the sort columns' values of the last row served, then its key."""

    page: int
    last: tuple
    tracking: bool = False
    snapshot: int | None = None  # tracking reads: the store version the first page was read at


def invalid_skiptoken() -> DataverseError:
    # Assumption: Dataverse's wording for a paging cookie it cannot read.
    return DataverseError(400, "0x80060888", "The $skiptoken value is not a valid paging cookie. Use the "
                          "@odata.nextLink exactly as it was returned.")


def _lower_hex(text: str) -> str:
    return _HEX.sub(lambda match: match.group(0).lower(), text)


def encode_skiptoken(position: PagePosition, columns: list[str]) -> str:
    """The `$skiptoken` value, already percent-encoded for the nextLink; `columns` end with the primary key."""
    elements = []
    for name, value in zip(columns[:-1], position.last[:-1], strict=True):
        elements.append(f'<{name} last="{escape(json.dumps(value), _QUOTE)}" />')
    elements.append(f'<{columns[-1]} last="{{{str(position.last[-1]).upper()}}}" />')
    version = f' version="{position.snapshot}"' if position.snapshot is not None else ""
    inner = f'<cookie page="{position.page - 1}"{version}>{"".join(elements)}</cookie>'
    outer = (f'<cookie pagenumber="{position.page}" pagingcookie="{_lower_hex(quote(inner, safe=""))}" '
             f'istracking="{"True" if position.tracking else "False"}" />')
    return quote(outer, safe="")


def decode_skiptoken(token: str, columns: list[str]) -> PagePosition:
    """The position a `$skiptoken` (as decoded from the query string) stands for; 400 when it was altered."""
    outer = _OUTER.match(token)
    inner = outer and _INNER.match(unquote(outer.group(2)))
    if not inner:
        raise invalid_skiptoken()
    page, tracking = int(outer.group(1)), outer.group(3) == "True"
    snapshot = int(inner.group(2)) if inner.group(2) else None
    found = _COLUMN.findall(inner.group(3))
    if page < 2 or int(inner.group(1)) != page - 1 or tracking != (snapshot is not None):
        raise invalid_skiptoken()
    if [name for name, _ in found] != columns:
        raise invalid_skiptoken()
    try:
        values = [json.loads(unescape(value, {"&quot;": '"'})) for _, value in found[:-1]]
    except ValueError:
        raise invalid_skiptoken() from None
    record_id = parse_guid(found[-1][1])
    if record_id is None or any(isinstance(v, dict | list) for v in values):
        raise invalid_skiptoken()
    return PagePosition(page, (*values, record_id), tracking, snapshot)
