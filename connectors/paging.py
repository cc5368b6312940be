"""Reading a collection page by page through `@odata.nextLink`.

The nextLink is sent exactly as the service wrote it (Dataverse's skiptoken breaks if it is rebuilt or
re-encoded, F&O's `$skip` link keeps `cross-company`), with the same `Prefer` on every page. Only one page is
held at a time, so memory does not grow with the size of the collection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from connectors.errors import TransientError
from connectors.transport import Transport


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_link: str | None
    delta_link: str | None
    server_time: datetime | None  # the response's Date header: the service's clock, not ours
    elapsed: timedelta  # from sending the request to its response headers


def iter_pages(transport: Transport, url: str, *, prefer: str, entity_set: str,
               headers: Mapping[str, str] | None = None) -> Iterator[Page]:
    """The pages of the collection at `url`, fetched one at a time as the caller asks for them."""
    link: str | None = url
    while link:
        response = transport.request("GET", link, headers={**(headers or {}), "Prefer": prefer},
                                     entity_set=entity_set)
        payload = response.json()
        page = Page(rows=payload.get("value", []), next_link=payload.get("@odata.nextLink"),
                    delta_link=payload.get("@odata.deltaLink"), server_time=_server_time(response.headers),
                    elapsed=response.elapsed)
        if page.next_link == link:
            raise TransientError("The service returned the page's own URL as its nextLink", entity_set=entity_set)
        link = page.next_link
        yield page


def _server_time(headers: Mapping[str, str]) -> datetime | None:
    value = headers.get("Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
