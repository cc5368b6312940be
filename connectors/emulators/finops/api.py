"""Routing of `/data/` requests to reads, writes and `$batch`, and the mapping of their failures to F&O's bodies.

Every write runs in a store transaction, so a failed one leaves nothing behind and a change set can join several.
PUT is a partial update, as in F&O (reference 2.4, BLOG-RU). `cross-company=true` widens reads and key
lookups from the default company to every company.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.emulators.finops import reads, render, writes
from connectors.emulators.finops.csdl import csdl
from connectors.emulators.finops.entities import ENTITY_SETS
from connectors.emulators.finops.errors import (
    CONTENT_TYPE,
    ODATA_VERSION,
    BadRequest,
    from_exception,
    method_not_allowed,
    no_route,
)
from connectors.emulators.finops.expand import related_rows
from connectors.emulators.finops.keys import key_segment, parse_path, resolve_key
from connectors.emulators.finops.surface import EntitySet
from connectors.emulators.odata.errors import ODataQueryError
from connectors.emulators.odata.query import QueryOptions, parse_query
from connectors.emulators.server import Request, Response, empty_response, json_response

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

_QUERY_OPTIONS = ("select", "filter", "orderby", "top", "skip", "count", "expand")


def execute(app: FinOpsEmulator, request: Request) -> Response:
    """One operation, standalone or inside a batch; known failures become F&O's error responses."""
    try:
        return _route(app, request)
    except Exception as exc:  # only the API's own errors are mapped; anything else re-raises below
        response = from_exception(exc)
        if response is None:
            raise
        return response


def _route(app: FinOpsEmulator, request: Request) -> Response:
    relative = request.path[len(app.api_root):]
    if relative in ("", "$metadata"):
        if request.method != "GET":
            return method_not_allowed(request.method, ["GET"])
        return _service_document(app) if not relative else _metadata(app)
    if relative == "$batch":
        raise BadRequest("A batch cannot contain another batch.")
    try:
        resource = parse_path(relative)
    except ODataQueryError as exc:  # a malformed path is not a query option error
        raise BadRequest(exc.message) from None
    entity_set = ENTITY_SETS.get(resource.entity_set)
    if entity_set is None or relative.startswith("$"):
        return no_route(app.origin + request.raw_path)
    method = "PATCH" if request.method == "PUT" else request.method
    options = parse_query(request.query_string, allowed=_QUERY_OPTIONS)
    cross_company = options.params.get("cross-company", "").lower() == "true"
    company = None if cross_company else app.default_company
    if resource.key is None:
        return _collection(app, entity_set, request, method, options, company, resource.segments)
    try:
        key = resolve_key(entity_set, resource.key)
    except ODataQueryError as exc:
        raise BadRequest(exc.message) from None
    if resource.segments:
        return _navigation(app, entity_set, request, method, options, company, key, resource.segments)
    if method == "GET":
        with app.store.lock:
            row = writes.lookup(app, entity_set, key, company)
        full = render.full_metadata(request.headers.get("Accept"))
        return reads.read_entity(app, entity_set, row, options, full=full)
    refused = _refused(entity_set, method, {"PATCH", "DELETE"})
    if refused:
        return refused
    if_match = request.headers.get("If-Match")
    with app.store.transaction():
        if method == "PATCH":
            writes.update(app, entity_set, key, _body(request), if_match=if_match, company=company)
        else:
            writes.delete(app, entity_set, key, if_match=if_match, company=company)
    return empty_response(204, [ODATA_VERSION])


def _collection(app: FinOpsEmulator, entity_set: EntitySet, request: Request, method: str, options: QueryOptions,
                company: str | None, segments: list[str]) -> Response:
    if segments == ["$count"]:
        return _refused(entity_set, method, {"GET"}) or reads.read_count(app, entity_set, options, company)
    if segments:
        return no_route(app.origin + request.raw_path)
    refused = _refused(entity_set, method, {"GET", "POST"})
    if refused:
        return refused
    if method == "GET":
        return reads.read_collection(app, entity_set, request, options, company)
    with app.store.transaction():
        row = writes.create(app, entity_set, _body(request))
    location = f"{app.api_url}{entity_set.name}{key_segment(entity_set, row)}"
    payload = {"@odata.context": render.context_url(app.api_url, entity_set, None, single=True),
               **render.entity(entity_set, row, full=render.full_metadata(request.headers.get("Accept")))}
    return json_response(201, payload, [ODATA_VERSION, ("Location", location), ("OData-EntityId", location),
                                        ("ETag", render.etag(row))], content_type=CONTENT_TYPE)


def _navigation(app: FinOpsEmulator, entity_set: EntitySet, request: Request, method: str, options: QueryOptions,
                company: str | None, key: tuple, segments: list[str]) -> Response:
    navigation = entity_set.navigation(segments[0])
    if navigation is None or len(segments) > 1:
        return no_route(app.origin + request.raw_path)
    if method != "GET":
        return method_not_allowed(method, ["GET"])
    target = ENTITY_SETS[navigation.target]
    with app.store.lock:
        row = writes.lookup(app, entity_set, key, company)
        children = related_rows(app, row, navigation)
    if navigation.many:
        return reads.read_collection(app, target, request, options, None, source=lambda after: children)
    if not children:
        return no_route(app.origin + request.raw_path)
    return reads.read_entity(app, target, children[0], options)


def _refused(entity_set: EntitySet, method: str, supported: set[str]) -> Response | None:
    """405 when this resource or a read-only entity set does not take the method."""
    if method in supported and method in entity_set.methods:
        return None
    return method_not_allowed(method, sorted(supported & entity_set.methods))


def _body(request: Request) -> object:
    try:
        return request.json()
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _service_document(app: FinOpsEmulator) -> Response:
    payload = {"@odata.context": f"{app.api_url}$metadata",
               "value": [{"name": name, "kind": "EntitySet", "url": name} for name in ENTITY_SETS]}
    return json_response(200, payload, [ODATA_VERSION], content_type=CONTENT_TYPE)


def _metadata(app: FinOpsEmulator) -> Response:
    return Response(200, csdl().encode(), [("Content-Type", "application/xml"), ODATA_VERSION])
