"""One Web API request (outside `$batch` or inside it) routed by resource and method to reads, change tracking,
writes and the bulk messages, with Dataverse's conditional-request rules and response shapes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from connectors.emulators.dataverse import bulk, errors
from connectors.emulators.dataverse.changes import count_changes, read_delta, read_tracked
from connectors.emulators.dataverse.csdl import metadata_document
from connectors.emulators.dataverse.definitions import handle_definitions
from connectors.emulators.dataverse.errors import ODATA_VERSION, DataverseError
from connectors.emulators.dataverse.preferences import Preferences, etag_list, etag_version, parse_prefer
from connectors.emulators.dataverse.reads import (
    build_query,
    json_body,
    parse_options,
    read_collection,
    read_count,
    read_entity,
)
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.resources import RecordKey, Resource, parse_resource
from connectors.emulators.dataverse.schema import ENTITY_SETS, EntitySet
from connectors.emulators.dataverse.writes import Writer
from connectors.emulators.odata.query import QueryOptions
from connectors.emulators.server import Request, Response, empty_response, text_response


@dataclass
class Outcome:
    """A response, plus the URL of the record it created or wrote (what a batch `$n` reference stands for)."""

    response: Response
    entity_url: str | None = None


Operations = Callable[[int], AbstractContextManager[None]]  # n operations' delay and execution time, as one block


class Handlers:
    """Answers API requests against one emulator's records; raises DataverseError for every refusal. A bulk
    message charges its targets through `operations` (any other request is one operation, charged by its caller)."""

    def __init__(self, records: Records, writer: Writer, api_url: str, root_business_unit: str, user_id: str,
                 operations: Operations = lambda count: nullcontext()):
        self.records = records
        self.writer = writer
        self.api_url = api_url
        self.root_business_unit = root_business_unit
        self.user_id = user_id
        self.operations = operations

    def handle(self, request: Request, resource_path: str, references: Mapping[str, str]) -> Outcome:
        environment = self.records.environment
        if resource_path.split("(", 1)[0].split("/", 1)[0] == "EntityDefinitions":
            return Outcome(handle_definitions(request, resource_path, environment, self.api_url))
        resource = parse_resource(resource_path, environment.active_keys)
        method = request.method
        if resource.kind == "root" and method == "GET":
            return Outcome(self._service_document())
        if resource.kind == "metadata" and method == "GET":
            return Outcome(Response(200, metadata_document(environment), [("Content-Type", "application/xml"),
                                                                           ODATA_VERSION]))
        if resource.kind == "function" and method == "GET":
            return Outcome(self._who_am_i())
        entity_set = resource.entity_set
        if resource.kind == "collection" and method == "GET":
            return Outcome(self._get_collection(request, entity_set))
        if resource.kind == "collection" and method == "POST":
            return self._post(request, entity_set, references)
        if resource.kind == "action" and method == "POST":
            return Outcome(bulk.run(self, request, entity_set, resource.name, references))
        if resource.kind == "count" and method == "GET":
            options = parse_options(request)
            if options.deltatoken:
                self._check_tracking(entity_set)
                return Outcome(text_response(200, str(count_changes(entity_set, self.records, options.deltatoken)),
                                             [ODATA_VERSION]))
            return Outcome(read_count(entity_set, self.records, options))
        if resource.kind == "entity" and method == "GET":
            return Outcome(self._get_entity(request, entity_set, resource.key))
        if resource.kind == "entity" and method == "PATCH":
            return self._patch(request, entity_set, resource.key, _json(request, entity_set), references)
        if resource.kind == "entity" and method == "DELETE":
            return Outcome(self._delete(request, entity_set, resource.key))
        if resource.kind == "property":
            return self._property(request, resource, references)
        raise DataverseError(405, "0x80060888", f"The requested resource does not support http method '{method}'.")

    # --- reads -------------------------------------------------------------------------------------------
    def _get_collection(self, request: Request, entity_set: EntitySet) -> Response:
        options, prefs = parse_options(request), parse_prefer(request.headers)
        if options.deltatoken is not None or prefs.track_changes:
            self._check_tracking(entity_set)
        if options.deltatoken is not None:
            return read_delta(request, entity_set, options, prefs, self.records, self.api_url)
        if prefs.track_changes:
            return read_tracked(request, entity_set, options, prefs, self.records, self.api_url)
        return read_collection(request, entity_set, options, prefs, self.records, self.api_url)

    def _check_tracking(self, entity_set: EntitySet) -> None:
        """A change-tracking read (the initial one or a delta link) of a table that does not track changes."""
        if not self.records.environment.tracks(entity_set.name):
            raise errors.change_tracking_off(entity_set.logical)

    def _get_entity(self, request: Request, entity_set: EntitySet, key: RecordKey) -> Response:
        options, prefs = parse_options(request), parse_prefer(request.headers)
        with self.records.store.lock:
            row = self.records.find(entity_set, key)
        return read_entity(request, entity_set, row, options, prefs, self.records, self.api_url,
                           _missing(entity_set, key))

    # --- writes ------------------------------------------------------------------------------------------
    def _post(self, request: Request, entity_set: EntitySet, references: Mapping[str, str]) -> Outcome:
        body = _json(request, entity_set)
        options, prefs = parse_options(request), parse_prefer(request.headers)
        row = self.writer.create(entity_set, body, api_url=self.api_url, references=references)
        url = f"{self.api_url}{entity_set.name}({row[entity_set.key]})"
        if prefs.return_representation:
            return Outcome(self._representation(201, entity_set, row, options, prefs), url)
        return Outcome(empty_response(204, [ODATA_VERSION, ("OData-EntityId", url)]), url)

    def _patch(self, request: Request, entity_set: EntitySet, key: RecordKey, body: object,
               references: Mapping[str, str]) -> Outcome:
        """Update, or create when missing (an upsert), unless If-Match / If-None-Match say otherwise."""
        options, prefs = parse_options(request), parse_prefer(request.headers)
        row, created = self.write_by_key(entity_set, key, body, references,
                                         if_match=etag_list(request.headers.get("If-Match")),
                                         if_none_match=etag_list(request.headers.get("If-None-Match")))
        url = self.api_url + (key.segment if key.index is not None else f"{entity_set.name}({row[entity_set.key]})")
        if prefs.return_representation:
            status = 201 if created else 200
            return Outcome(self._representation(status, entity_set, row, options, prefs), url)
        return Outcome(empty_response(204, [ODATA_VERSION, ("OData-EntityId", url)]), url)

    def write_by_key(self, entity_set: EntitySet, key: RecordKey, body: object, references: Mapping[str, str], *,
                     if_match: list[str] | None = None, if_none_match: list[str] | None = None) -> tuple[dict, bool]:
        """The write behind PATCH by key and the bulk messages' targets: update, or create when missing (an
        upsert), unless the conditions say otherwise; (the row, whether it was created)."""
        with self.records.store.transaction():
            existing = self.records.find(entity_set, key)
            self._check_conditions(entity_set, key, existing, if_match, if_none_match)
            if existing is None:
                row = self.writer.create(entity_set, body, api_url=self.api_url, references=references, key=key)
            else:
                row = self.writer.update(entity_set, existing, body, api_url=self.api_url, references=references,
                                         key=key)
        return row, existing is None

    def _delete(self, request: Request, entity_set: EntitySet, key: RecordKey) -> Response:
        if_match = etag_list(request.headers.get("If-Match"))
        with self.records.store.transaction():
            existing = self.records.find(entity_set, key)
            if existing is None:
                raise _missing(entity_set, key)
            self._check_conditions(entity_set, key, existing, if_match, None)
            self.writer.delete(entity_set, existing)
        return empty_response(204, [ODATA_VERSION])

    def _property(self, request: Request, resource: Resource, references: Mapping[str, str]) -> Outcome:
        """`GET|PUT|DELETE /accounts(<id>)/name`: read, set or clear one column."""
        entity_set, key, name = resource.entity_set, resource.key, resource.name
        if request.method == "GET":
            with self.records.store.lock:
                row = self.records.find(entity_set, key)
            if row is None:
                raise _missing(entity_set, key)
            value = row["_version"] if name == "versionnumber" else row.get(name)
            if value is None:
                return Outcome(empty_response(204, [ODATA_VERSION]))
            context = f"{self.api_url}$metadata#{entity_set.name}({row[entity_set.key]})/{name}"
            return Outcome(json_body(200, {"@odata.context": context, "value": value}, []))
        if request.method not in ("PUT", "DELETE"):
            raise DataverseError(405, "0x80060888", f"The requested resource does not support http method "
                                 f"'{request.method}'.")
        if request.method == "PUT":
            payload = _json(request, entity_set)
            if not isinstance(payload, dict) or "value" not in payload:
                raise errors.payload_error(entity_set.name, "Microsoft.OData.ODataException: A property value "
                                           "must be sent as {\"value\": ...}.")
            value = payload["value"]
        else:
            value = None
        with self.records.store.transaction():
            existing = self.records.find(entity_set, key)
            if existing is None:
                raise _missing(entity_set, key)
            self.writer.update(entity_set, existing, {name: value}, api_url=self.api_url, references=references)
        return Outcome(empty_response(204, [ODATA_VERSION]))

    def _check_conditions(self, entity_set: EntitySet, key: RecordKey, existing: dict | None,
                          if_match: list[str] | None, if_none_match: list[str] | None) -> None:
        if if_match is not None:
            if existing is None:
                raise _missing(entity_set, key)
            if "*" not in if_match and all(etag_version(tag) != existing["_version"] for tag in if_match):
                raise errors.version_mismatch()
        if if_none_match is not None and existing is not None and (
                "*" in if_none_match or any(etag_version(tag) == existing["_version"] for tag in if_none_match)):
            raise errors.duplicate_record()

    def _representation(self, status: int, entity_set: EntitySet, row: dict, options: QueryOptions,
                        prefs: Preferences) -> Response:
        prefs.apply("return=representation")
        query = build_query(entity_set, options, prefs, self.records, self.api_url)
        body = {"@odata.context": query.context + "/$entity", **query.renderer.render(row)}
        return json_body(status, body, [*prefs.header(), ("ETag", f'W/"{row["_version"]}"')])

    # --- service documents -------------------------------------------------------------------------------
    def _service_document(self) -> Response:
        value = [{"name": name, "kind": "EntitySet", "url": name} for name in (*ENTITY_SETS, "EntityDefinitions")]
        return json_body(200, {"@odata.context": f"{self.api_url}$metadata", "value": value}, [])

    def _who_am_i(self) -> Response:
        organization = str(uuid.uuid5(uuid.NAMESPACE_URL, self.api_url))
        return json_body(200, {"@odata.context": f"{self.api_url}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                               "BusinessUnitId": self.root_business_unit, "UserId": self.user_id,
                               "OrganizationId": organization}, [])


def _missing(entity_set: EntitySet, key: RecordKey) -> DataverseError:
    if key.record_id is not None:
        return errors.not_found(entity_set.logical, key.record_id)
    return errors.not_found_by_key(entity_set.logical)


def _json(request: Request, entity_set: EntitySet) -> object:
    try:
        return request.json()
    except ValueError as exc:
        raise errors.payload_error(entity_set.name, f"Microsoft.OData.ODataException: {exc}") from None
