"""GET on collections, single entities, `$count` and navigation properties, with F&O's server-driven paging.

Pages hold at most 10,000 rows (reference 2.3) and link to the next one with `$skip` (and `$top` when the
client gave one), keeping every other option such as `cross-company=true`; see `paging` for the cursor the
links also carry. Rows come in key order unless `$orderby` says otherwise; a page is a seek over the ordered
table, never a sort or copy of it. Assumption: `Prefer: odata.maxpagesize=N` below 10,000 is honoured and
echoed in Preference-Applied.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.emulators.finops import indexed, paging, render
from connectors.emulators.finops.errors import CONTENT_TYPE, ODATA_VERSION, BadRequest
from connectors.emulators.finops.expand import Expansion, expanded, parse_expand
from connectors.emulators.finops.schema import COMPANY
from connectors.emulators.finops.surface import EntitySet
from connectors.emulators.odata.filter import FINOPS, compile_filter
from connectors.emulators.odata.lexer import tokenize
from connectors.emulators.odata.query import QueryOptions, order_rows, validate_properties
from connectors.emulators.server import Request, Response, text_response
from connectors.emulators.store import normalize

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

MAX_PAGE_SIZE = 10_000
Row = Mapping[str, object]


@dataclass
class Query:
    """The checked options of one read: what to match (a stored row), how to order, what to render."""

    match: Callable[[Row], bool]
    options: QueryOptions
    expansions: list[Expansion]


def prepare(entity_set: EntitySet, options: QueryOptions) -> Query:
    """Compile `$filter` and check every property `$select`, `$orderby` and `$expand` name.

    The filter reads a stored row directly when every property it names is a column every row holds; otherwise
    it reads the entity's view of the row, which supplies aliases and empty values.
    """
    properties, type_name = entity_set.properties, entity_set.qualified_type
    validate_properties(options.select or (), properties, type_name)
    validate_properties((name for name, _ in options.orderby), properties, type_name)
    match = _everything
    if options.filter:
        test = compile_filter(options.filter, FINOPS, properties, type_name)
        named = {token.text for token in tokenize(options.filter) if token.kind == "name"} & properties.keys()
        if named <= entity_set.plain:
            match = test
        else:
            view = entity_set.view
            match = lambda row: test(view(row))  # noqa: E731 - one closure per request
    return Query(match, options, parse_expand(entity_set, options.expand))


def _everything(row: Row) -> bool:
    return True


def scoped_rows(app: FinOpsEmulator, entity_set: EntitySet, company: str | None, filter: str | None = None,
                after: tuple | None = None) -> Iterator[Row]:
    """Rows of the entity set in table-key order, in one company or all of them, starting after a key: from
    an index when the filter's equalities allow (see `indexed`), else a company's key range or the table."""
    table = app.store.tables[entity_set.table.name]
    visible = entity_set.visible
    scoped = company is not None and entity_set.per_company
    index_read = indexed.plan(entity_set, filter, company) if filter else None
    if index_read is not None:
        rows = indexed.read(table, index_read)
        if after is not None:
            bound = _comparable(after)
            rows = [row for row in rows if _comparable(table.key_of(row)) > bound]
        for row in rows:
            if (not scoped or row[COMPANY] == company) and (visible is None or visible(row)):
                yield row
    elif scoped:
        for row in table.scan(after if after is not None else (company,)):
            if row[COMPANY] != company:
                return
            if visible is None or visible(row):
                yield row
    else:
        for row in table.scan(after):
            if visible is None or visible(row):
                yield row


def _comparable(key: tuple) -> tuple:
    return tuple(normalize(value) for value in key)


def read_collection(app: FinOpsEmulator, entity_set: EntitySet, request: Request, options: QueryOptions,
                    company: str | None, source: Callable[[tuple | None], Iterable[Row]] | None = None) -> Response:
    query = prepare(entity_set, options)
    page_size, applied = _page_size(request)
    top = options.top
    limit = page_size if top is None else min(page_size, top)
    seekable = source is None  # a navigation's rows are few; only whole entity sets page by cursor
    source = source or (lambda after: scoped_rows(app, entity_set, company, options.filter, after))
    key_of = app.store.tables[entity_set.table.name].key_of
    cursor = paging.decode(options.params.get(paging.CURSOR), len(entity_set.table.key), len(options.orderby))
    cursor = cursor if seekable else None
    view = entity_set.view
    with app.store.lock:
        if options.orderby:  # ordered by what the entity shows: views, unwrapped for the page
            matching = order_rows((view(row) for row in source(None) if query.match(row)), options.orderby,
                                  entity_set.properties)
            start = (paging.ordered_position(matching, cursor, options.orderby, entity_set.properties,
                                             lambda seen: key_of(seen.row)) if cursor else options.skip or 0)
            page, more = [seen.row for seen in matching[start:start + limit]], len(matching) > start + limit
            total = len(matching) if options.count else None
        else:
            page, more = _seek(source(cursor.key if cursor else None), query.match,
                               0 if cursor else options.skip or 0, limit)
            total = sum(1 for row in source(None) if query.match(row)) if options.count else None
        children = [expanded(app, entity_set, row, query.expansions) for row in page]
    payload: dict[str, object] = {
        "@odata.context": render.context_url(app.api_url, entity_set, options.select,
                                             [e.navigation.name for e in query.expansions])}
    if total is not None:
        payload["@odata.count"] = total
    full = render.full_metadata(request.headers.get("Accept"))
    payload["value"] = [{**render.entity(entity_set, row, options.select, full=full), **extra}
                        for row, extra in zip(page, children, strict=True)]
    if more and (top is None or top > len(page)):
        last = page[-1]
        end = (paging.Cursor(key_of(last), tuple(view(last).get(name) for name, _ in options.orderby)) if seekable
               else None)
        next_query = paging.next_query(request.query_string, (options.skip or 0) + len(page),
                                       None if top is None else top - len(page), end)
        payload["@odata.nextLink"] = f"{app.origin}{request.raw_path}?{next_query}"
    headers = [ODATA_VERSION] + ([("Preference-Applied", f"odata.maxpagesize={applied}")] if applied else [])
    return _json(200, payload, headers)


def _seek(rows: Iterable[Row], match: Callable[[Row], bool], skip: int, limit: int) -> tuple[list[Row], bool]:
    page: list[Row] = []
    for row in rows:
        if not match(row):
            continue
        if skip:
            skip -= 1
            continue
        if len(page) == limit:
            return page, True
        page.append(row)
    return page, False


def read_count(app: FinOpsEmulator, entity_set: EntitySet, options: QueryOptions, company: str | None) -> Response:
    query = prepare(entity_set, options)
    with app.store.lock:
        total = sum(1 for row in scoped_rows(app, entity_set, company, options.filter) if query.match(row))
    return text_response(200, str(total), [ODATA_VERSION])


def read_entity(app: FinOpsEmulator, entity_set: EntitySet, row: Row, options: QueryOptions, *,
                full: bool = False) -> Response:
    """One entity (already looked up under the store lock by the caller)."""
    if options.filter or options.orderby or options.top is not None or options.skip is not None or options.count:
        raise BadRequest("Only $select and $expand apply to a single entity.", query_option=True)
    query = prepare(entity_set, options)
    with app.store.lock:
        extra = expanded(app, entity_set, row, query.expansions)
    payload = {"@odata.context": render.context_url(app.api_url, entity_set, options.select,
                                                    [e.navigation.name for e in query.expansions], single=True),
               **render.entity(entity_set, row, options.select, full=full), **extra}
    return _json(200, payload, [ODATA_VERSION, ("ETag", render.etag(row))])


def _page_size(request: Request) -> tuple[int, int | None]:
    for preference in (request.headers.get("Prefer") or "").split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            size = int(value.strip())
            if 0 < size < MAX_PAGE_SIZE:
                return size, size
    return MAX_PAGE_SIZE, None


def _json(status: int, payload: object, headers: list[tuple[str, str]]) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, body, [("Content-Type", CONTENT_TYPE), *headers])
