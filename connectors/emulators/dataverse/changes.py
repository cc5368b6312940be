"""Change tracking: `Prefer: odata.track-changes` gives every row and a delta link; the delta link gives the rows
created or updated since, then `$deletedEntity` tombstones, and a new delta link.

A delta token is `<row version>!<MM/dd/yyyy HH:mm:ss>` (UTC), as Dataverse writes it. Large reads and deltas
page like any read; the delta link comes on the last page and starts at the version the first page was read
at, so a change made while paging is delivered again rather than lost.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from connectors.emulators.dataverse.errors import DataverseError, query_error
from connectors.emulators.dataverse.paging import PagePosition, decode_skiptoken, encode_skiptoken
from connectors.emulators.dataverse.preferences import MAX_PAGE_SIZE, Preferences
from connectors.emulators.dataverse.reads import TRACKING_REJECTS, build_query, collect, json_body, next_link
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.schema import EntitySet
from connectors.emulators.odata.query import QueryOptions
from connectors.emulators.server import Request, Response

EXPIRE_AFTER = timedelta(days=7)  # Organization.ExpireChangeTrackingInDays, 7 by default
_TOKEN = re.compile(r"(\d+)!(\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2})\Z")
_TOKEN_TIME = "%m/%d/%Y %H:%M:%S"  # noqa: S105 - a date format, not a secret
_CLOCK_SKEW = timedelta(minutes=5)


def reject_tracking_options(options: QueryOptions) -> None:
    for name in TRACKING_REJECTS:
        value = getattr(options, name)
        if value not in (None, [], False):
            raise query_error(f'The "${name}" query parameter isn\'t supported when Change Tracking is enabled.')


def delta_link(api_url: str, entity_set: EntitySet, select: list[str] | None, version: int) -> str:
    token = f"{version}!{datetime.now(UTC).strftime(_TOKEN_TIME)}"
    encoded = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(token, safe=""))
    query = ([f"$select={','.join(select)}"] if select else []) + [f"$deltatoken={encoded}"]
    return f"{api_url}{entity_set.name}?{'&'.join(query)}"


def parse_delta_token(token: str, current_version: int) -> int:
    """The row version a delta token starts after; 400 when malformed or from the future, expired after 7 days."""
    match = _TOKEN.match(token)
    if match is None:
        raise invalid_token(token)
    try:
        issued = datetime.strptime(match.group(2), _TOKEN_TIME).replace(tzinfo=UTC)
    except ValueError:
        raise invalid_token(token) from None
    version, now = int(match.group(1)), datetime.now(UTC)
    if version > current_version or issued > now + _CLOCK_SKEW:
        raise invalid_token(token)
    if now - issued > EXPIRE_AFTER:
        # ExpiredVersionStamp. Assumption: the status; the code and message are the SDK's for this fault.
        raise DataverseError(400, "0x80044352", "Version stamp associated with the client has expired. Please "
                             "perform a full sync.")
    return version


def invalid_token(token: str) -> DataverseError:
    # Assumption: the wording for a delta token the service cannot read.
    return query_error(f"The $deltatoken value '{token}' is not valid.")


def read_tracked(request: Request, entity_set: EntitySet, options: QueryOptions, prefs: Preferences,
                 records: Records, api_url: str) -> Response:
    """The first read of a change-tracking sync: every row, paged, and the delta link on the last page."""
    reject_tracking_options(options)
    prefs.apply("odata.track-changes")
    query = build_query(entity_set, options, prefs, records, api_url)
    page_size = _page_size(prefs)
    position = None
    if options.skiptoken:
        position = decode_skiptoken(options.skiptoken, query.columns)
        if not position.tracking:
            raise query_error("The $skiptoken does not belong to a change-tracking read.")
    with records.store.lock:
        snapshot = position.snapshot if position is not None else records.store.version
    rows, more, _ = collect(query, records, position, page_size)
    body: dict[str, object] = {"@odata.context": query.context,
                               "value": [query.renderer.render(row) for row in rows]}
    if more:
        page = 2 if position is None else position.page + 1
        cookie = PagePosition(page, (rows[-1][entity_set.key],), tracking=True, snapshot=snapshot)
        body["@odata.nextLink"] = next_link(api_url, entity_set, request, encode_skiptoken(cookie, query.columns))
    else:
        body["@odata.deltaLink"] = delta_link(api_url, entity_set, options.select, snapshot)
    return json_body(200, body, prefs.header())


def read_delta(request: Request, entity_set: EntitySet, options: QueryOptions, prefs: Preferences,
               records: Records, api_url: str) -> Response:
    """The changes since a delta token: new and updated rows, then tombstones, then a new delta link."""
    reject_tracking_options(options)
    query = build_query(entity_set, options, prefs, records, api_url)
    columns = ["versionnumber", entity_set.key]
    position = decode_skiptoken(options.skiptoken, columns) if options.skiptoken else None
    page_size = _page_size(prefs)
    table = records.table(entity_set.name)
    with records.store.lock:
        since = parse_delta_token(options.deltatoken, records.store.version)
        upto = position.snapshot if position is not None else records.store.version
        after = since if position is None else position.last[0]
        changed, _ = table.changes_since(after)
        changed = [row for row in changed if row["_version"] <= upto]
        deleted = [(stamp, key[0]) for stamp, key in table.deletions_since(after) if stamp <= upto
                   and not _recreated(table, key, stamp, upto)]
    events = sorted([(row["_version"], row[entity_set.key], row) for row in changed]
                    + [(stamp, record_id, None) for stamp, record_id in deleted], key=lambda event: event[0])
    page, more = events[:page_size], len(events) > page_size
    tombstone_context = f"{api_url}$metadata#{entity_set.name}/$deletedEntity"
    value = [query.renderer.render(row) for _, _, row in page if row is not None]
    value += [{"@odata.context": tombstone_context, "id": record_id, "reason": "deleted"}
              for _, record_id, row in page if row is None]
    body: dict[str, object] = {"@odata.context": query.context + "/$delta", "value": value}
    if more:
        last_version, last_id, _ = page[-1]
        cookie = PagePosition(2 if position is None else position.page + 1, (last_version, last_id),
                              tracking=True, snapshot=upto)
        body["@odata.nextLink"] = next_link(api_url, entity_set, request, encode_skiptoken(cookie, columns))
    else:
        body["@odata.deltaLink"] = delta_link(api_url, entity_set, options.select, upto)
    return json_body(200, body, prefs.header())


def count_changes(entity_set: EntitySet, records: Records, token: str) -> int:
    """`GET /accounts/$count?$deltatoken=...`: how many changes a delta read would return."""
    table = records.table(entity_set.name)
    with records.store.lock:
        since = parse_delta_token(token, records.store.version)
        changed, _ = table.changes_since(since)
        deleted = table.deletions_since(since)
        return len(changed) + sum(1 for stamp, key in deleted
                                  if not _recreated(table, key, stamp, records.store.version))


def _recreated(table, key: tuple, stamp: int, upto: int) -> bool:
    """A record deleted and then written again under the same id shows as changed, not deleted."""
    row = table.get(key)
    return row is not None and stamp < row["_version"] <= upto


def _page_size(prefs: Preferences) -> int:
    if prefs.max_page_size is None:
        return MAX_PAGE_SIZE
    prefs.apply(f"odata.maxpagesize={prefs.max_page_size}")
    return prefs.max_page_size
