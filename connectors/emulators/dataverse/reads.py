"""GET of a collection (with `$select`, `$filter`, `$orderby`, `$top`, `$count`, `$expand` and seek paging), of
one record (with conditional GET), and of `$count`.

Rows are gathered under the store lock; rendering and JSON serialization happen after it is released.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass

from connectors.emulators.dataverse import errors
from connectors.emulators.dataverse.errors import ODATA_VERSION, DataverseError, query_error
from connectors.emulators.dataverse.paging import PagePosition, decode_skiptoken, encode_skiptoken
from connectors.emulators.dataverse.preferences import MAX_PAGE_SIZE, Preferences, etag_list, etag_version
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.rendering import Expansion, Renderer, annotation_filter
from connectors.emulators.dataverse.schema import ENTITY_SETS, EntitySet
from connectors.emulators.odata.errors import ODataQueryError
from connectors.emulators.odata.filter import DATAVERSE, compile_filter
from connectors.emulators.odata.query import QueryOptions, parse_query, sort_key, validate_properties
from connectors.emulators.server import Request, Response, text_response

COUNT_LIMIT = 5000
READ_OPTIONS = ("$select", "$filter", "$orderby", "$top", "$skip", "$count", "$expand", "$skiptoken", "$deltatoken")
TRACKING_REJECTS = ("filter", "orderby", "expand", "top")
JSON_TYPE = "application/json; odata.metadata=minimal"


@dataclass
class Query:
    """A validated read of one entity set: what to return, in which order, and how to render it."""

    entity_set: EntitySet
    options: QueryOptions
    predicate: object | None
    renderer: Renderer
    context: str

    @property
    def columns(self) -> list[str]:
        """The seek columns of the paging cookie: the `$orderby` columns, then the primary key."""
        return [name for name, _ in self.options.orderby] + [self.entity_set.key]


UNSUPPORTED_QUERIES = ("fetchXml", "savedQuery", "userQuery")


def parse_options(request: Request) -> QueryOptions:
    options = parse_query(request.query_string, allowed=READ_OPTIONS)
    if options.skip is not None:
        raise query_error("Skip Clause is not supported in CRM")
    for name in UNSUPPORTED_QUERIES:
        if name in options.params:  # refused rather than ignored, so a client never reads the wrong rows
            raise DataverseError(501, "", f"The emulator does not support the '{name}' query parameter.")
    return options


def build_query(entity_set: EntitySet, options: QueryOptions, prefs: Preferences, records: Records,
                api_url: str) -> Query:
    """Check every option against the entity type and compile the filter once."""
    if options.select is not None:
        validate_properties(options.select, entity_set.properties, entity_set.entity_type)
    validate_properties([name for name, _ in options.orderby], entity_set.properties, entity_set.entity_type)
    expansions = parse_expand(entity_set, options.expand) if options.expand else []
    predicate = None
    if options.filter is not None:
        predicate = compile_filter(options.filter, DATAVERSE, entity_set.properties, entity_set.entity_type)
    wanted = annotation_filter(prefs.annotations)
    if wanted is not None:
        prefs.apply(f'odata.include-annotations="{",".join(prefs.annotations)}"')
    renderer = Renderer(entity_set, options.select, wanted, expansions, records.get)
    return Query(entity_set, options, predicate, renderer, context_url(api_url, entity_set, options.select,
                                                                         expansions))


def context_url(api_url: str, entity_set: EntitySet, select: list[str] | None, expansions: list[Expansion]) -> str:
    items = list(select or [])
    for item in expansions:
        items.append(f"{item.navigation}({','.join(item.select)})" if item.select else item.navigation)
    return f"{api_url}$metadata#{entity_set.name}" + (f"({','.join(items)})" if items else "")


def parse_expand(entity_set: EntitySet, text: str) -> list[Expansion]:
    """`nav`, `nav($select=a,b)`, comma-separated; single-valued lookups and a header's lines."""
    expansions = []
    for item in split_top_level(text, ","):
        name, _, rest = item.partition("(")
        name = name.strip()
        select = None
        if rest:
            if not rest.endswith(")"):
                raise query_error(f"Syntax error in $expand at '{item}'.")
            for option in split_top_level(rest[:-1], ";"):
                key, _, value = option.partition("=")
                if key.strip() != "$select":
                    raise query_error(f"The emulator supports only $select inside $expand, not '{key.strip()}'.")
                select = [column.strip() for column in value.split(",") if column.strip()]
        expansions.append(_expansion(entity_set, name, select))
    return expansions


def _expansion(entity_set: EntitySet, name: str, select: list[str] | None) -> Expansion:
    if name in entity_set.navigation:
        nav = entity_set.navigation[name]
        if nav.target_set is None or nav.lookup is None:
            raise DataverseError(501, "", f"The emulator does not serve the '{nav.target}' table, so it cannot expand "
                                 f"'{name}'.")
        lookup = nav.lookup
        type_field = lookup.type_field if len(lookup.navigation) > 1 else None
        expansion = Expansion(name, ENTITY_SETS[nav.target_set], select, lookup_field=lookup.value_field,
                              type_field=type_field)
    elif name in entity_set.children:
        child = entity_set.children[name]
        expansion = Expansion(name, ENTITY_SETS[child.entity_set], select, collection=True,
                              lookup_field=child.value_field)
    elif name in entity_set.properties:
        raise query_error(f"Property '{name}' on type '{entity_set.entity_type}' is not a navigation property or "
                          "complex property. Only navigation properties can be expanded.")
    else:
        raise ODataQueryError(f"Could not find a property named '{name}' on type '{entity_set.entity_type}'.")
    if select is not None:
        validate_properties(select, expansion.target.properties, expansion.target.entity_type)
    return expansion


def split_top_level(text: str, separator: str) -> list[str]:
    """Split at `separator` outside parentheses (`$expand` items and their nested options)."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == separator and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    if depth != 0 or any(not part for part in parts):
        raise query_error(f"Syntax error in '{text}'.")
    return parts


def read_collection(request: Request, entity_set: EntitySet, options: QueryOptions, prefs: Preferences,
                    records: Records, api_url: str) -> Response:
    query = build_query(entity_set, options, prefs, records, api_url)
    if prefs.max_page_size is not None:
        page_size, pageable = prefs.max_page_size, True
        prefs.apply(f"odata.maxpagesize={page_size}")
    elif options.top is not None:
        page_size, pageable = min(options.top, MAX_PAGE_SIZE), False  # Assumption: $top caps at 5000
    else:
        page_size, pageable = MAX_PAGE_SIZE, True
    position = decode_skiptoken(options.skiptoken, query.columns) if options.skiptoken else None
    if position is not None and position.tracking:
        raise errors.DataverseError(400, "0x80060888", "The $skiptoken belongs to a change-tracking read; send "
                                    "the Prefer: odata.track-changes header with it.")
    rows, more, count = collect(query, records, position, page_size, count=options.count)
    body: dict[str, object] = {"@odata.context": query.context}
    if count is not None:
        body["@odata.count"] = min(count, COUNT_LIMIT)
        _count_annotations(body, prefs, count)
    body["value"] = [query.renderer.render(row) for row in rows]
    if more and pageable:
        page = 2 if position is None else position.page + 1
        last = rows[-1]
        cookie = PagePosition(page, tuple(last.get(name) for name in query.columns))
        body["@odata.nextLink"] = next_link(api_url, entity_set, request, encode_skiptoken(cookie, query.columns))
    return json_body(200, body, prefs.header())


def collect(query: Query, records: Records, position: PagePosition | None, page_size: int, *,
            count: bool = False) -> tuple[list[dict], bool, int | None]:
    """One page of rows after `position`, whether more follow, and the capped match count when asked."""
    entity_set, predicate = query.entity_set, query.predicate
    table = records.table(entity_set.name)
    with records.store.lock:
        total = _count(table, predicate) if count else None
        if not query.options.orderby:  # the table's own order: a seek from the last key served
            page = []
            for row in table.scan(after=None if position is None else (position.last[-1],)):
                if predicate is None or predicate(row):
                    page.append(row)
                    if len(page) > page_size:
                        break
            _gather_children(query, records, page[:page_size])
            return page[:page_size], len(page) > page_size, total
        matching = [row for row in table.scan() if predicate is None or predicate(row)]
    key = sort_key([*query.options.orderby, (entity_set.key, False)], entity_set.properties)
    matching.sort(key=key)
    start = 0
    if position is not None:
        anchor = dict(zip(query.columns, position.last, strict=True))
        start = bisect.bisect_right(matching, key(anchor), key=key)
    page = matching[start:start + page_size + 1]
    with records.store.lock:
        _gather_children(query, records, page[:page_size])
    return page[:page_size], len(page) > page_size, total


def _count(table, predicate) -> int:
    if predicate is None:
        return len(table)
    found = 0
    for row in table.scan():
        if predicate(row):
            found += 1
            if found > COUNT_LIMIT:
                break
    return found


def _gather_children(query: Query, records: Records, rows: list[dict]) -> None:
    """Read the lines that `$expand` shows for these rows while the lock is held."""
    renderer = query.renderer
    for item in renderer.expand:
        if item.collection:
            key = query.entity_set.key
            renderer.children = {**renderer.children,
                                 item.navigation: {row[key]: records.referencing(item.target.name, item.lookup_field,
                                                                                 row[key])
                                                   for row in rows}}


def _count_annotations(body: dict, prefs: Preferences, count: int) -> None:
    wanted = annotation_filter(prefs.annotations)
    if wanted is not None and wanted("Microsoft.Dynamics.CRM.totalrecordcount"):
        body["@Microsoft.Dynamics.CRM.totalrecordcount"] = min(count, COUNT_LIMIT)
    if wanted is not None and wanted("Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"):
        body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = count > COUNT_LIMIT


def next_link(api_url: str, entity_set: EntitySet, request: Request, skiptoken: str) -> str:
    """The request's own query string (exactly as sent) with the new `$skiptoken` in place of any old one."""
    kept = [pair for pair in request.query_string.split("&") if pair and not pair.startswith("$skiptoken=")]
    return f"{api_url}{entity_set.name}?" + "&".join([*kept, f"$skiptoken={skiptoken}"])


def read_entity(request: Request, entity_set: EntitySet, row: dict | None, options: QueryOptions,
                prefs: Preferences, records: Records, api_url: str, missing: DataverseError) -> Response:
    if options.filter or options.orderby or options.top is not None or options.count or options.skiptoken:
        raise query_error("Only $select and $expand apply to a single record.")
    if row is None:
        raise missing
    query = build_query(entity_set, options, prefs, records, api_url)
    tag = f'W/"{row["_version"]}"'
    conditions = etag_list(request.headers.get("If-None-Match"))
    # Conditional GET never applies with $expand or annotations, whose content the row version does not cover.
    if conditions and not options.expand and not prefs.annotations:
        version = row["_version"]
        if "*" in conditions or any(etag_version(c) == version for c in conditions):
            return Response(304, b"", [ODATA_VERSION, ("ETag", tag)])
    with records.store.lock:
        _gather_children(query, records, [row])
    body = {"@odata.context": query.context + "/$entity", **query.renderer.render(row)}
    return json_body(200, body, [*prefs.header(), ("ETag", tag)])


def read_count(entity_set: EntitySet, records: Records, options: QueryOptions) -> Response:
    """`GET /accounts/$count`: the number as text/plain, capped like `$count=true`."""
    predicate = None
    if options.filter is not None:
        predicate = compile_filter(options.filter, DATAVERSE, entity_set.properties, entity_set.entity_type)
    table = records.table(entity_set.name)
    with records.store.lock:
        count = _count(table, predicate)
    return text_response(200, str(min(count, COUNT_LIMIT)), [ODATA_VERSION])


def json_body(status: int, body: dict, headers: list[tuple[str, str]]) -> Response:
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, payload, [("Content-Type", JSON_TYPE), ODATA_VERSION, *headers])
