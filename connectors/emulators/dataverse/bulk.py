"""The bulk messages: `CreateMultiple`, `UpdateMultiple` and `UpsertMultiple`, actions bound to an entity set that
write records of its table in one request (`POST accounts/Microsoft.Dynamics.CRM.CreateMultiple {"Targets": [...]}`).

What Microsoft documents (bulk-operations.md, the CreateMultiple and UpsertMultiple action references): every item
of `Targets` must carry `@odata.type`; CreateMultiple answers 200 with the created records' `Ids`, UpdateMultiple
and UpsertMultiple answer 204 with no body; UpsertMultiple names each record by `@odata.id`, a URL with its
alternate key, and UpdateMultiple by its primary key; on standard tables (all the emulator serves) the request is
one transaction, so any failing target rolls every other back. "There's no set limit on the number of records" on
standard tables, only message size and time limits: the server's body limit stands in for the first. Service
protection counts the request once toward the number of requests and every target toward execution time.

Each target goes through the same writer, the same `write_by_key` and so the same validation and webhooks as the
single create, update or upsert it stands for.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from connectors.emulators.dataverse import errors
from connectors.emulators.dataverse.errors import ODATA_VERSION, DataverseError
from connectors.emulators.dataverse.preferences import Preferences, parse_prefer
from connectors.emulators.dataverse.resources import RecordKey, parse_guid, parse_resource, relative_path
from connectors.emulators.dataverse.schema import EntitySet
from connectors.emulators.server import Request, Response, empty_response, json_response

if TYPE_CHECKING:
    from connectors.emulators.dataverse.handlers import Handlers

# Assumption: the key under which a failed request names its failing target. Microsoft documents per-record details
# (RequestIndex, Id, StatusCode) for bulk messages on elastic tables only, as the error detail
# `Plugin.BulkApiErrorDetails`, which the Web API returns as an `@Microsoft.PowerApps.CDS.ErrorDetails.*` annotation
# when `Prefer: odata.include-annotations` asks for them; the emulator names the one failing target of its standard
# tables the same way, and only when asked (without it, as on a real standard table, the error alone is returned).
ERROR_DETAILS = "Microsoft.PowerApps.CDS.ErrorDetails.Plugin.BulkApiErrorDetails"
# Captured from Dataverse (microsoft/PowerPlatform-DataverseClient-Python PR #127): an UpsertMultiple target whose
# body repeats its alternate-key columns fails on the create path (the update path tolerates it).
_KEY_IN_BODY = DataverseError(400, "0x80040216", "An unexpected error occurred.")


class _TargetFailed(Exception):
    def __init__(self, index: int, record_id: str | None, error: DataverseError):
        super().__init__(error.message)
        self.index = index
        self.record_id = record_id
        self.error = error


def run(handlers: Handlers, request: Request, entity_set: EntitySet, message: str,
        references: Mapping[str, str]) -> Response:
    """Write every target or none; the answer of the message, or the failing target's own error."""
    prefs = parse_prefer(request.headers)
    targets = _targets(request, entity_set, message)
    ids: list[str] = []
    try:
        with handlers.operations(len(targets)), handlers.records.store.transaction():
            for index, target in enumerate(targets):
                ids.append(_write(handlers, entity_set, message, index, target, references))
    except _TargetFailed as failed:
        return _failure(failed, prefs)
    if message == "CreateMultiple":
        context = f"{handlers.api_url}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
        return json_response(200, {"@odata.context": context, "Ids": ids}, [ODATA_VERSION])
    return empty_response(204, [ODATA_VERSION])


def _targets(request: Request, entity_set: EntitySet, message: str) -> list[dict]:
    try:
        body = request.json()
    except ValueError as exc:
        raise errors.payload_error(entity_set.name, f"Microsoft.OData.ODataException: {exc}") from None
    targets = body.get("Targets") if isinstance(body, dict) else None
    if not isinstance(targets, list):
        # Assumption: the wording of ODataLib's refusal of a missing non-nullable action parameter.
        raise errors.payload_error(entity_set.name, "Microsoft.OData.ODataException: The parameter 'Targets' of "
                                   f"the action '{message}' is not nullable and was not given a collection.")
    if not targets:
        # Assumption: an empty collection is refused (the documents never send one).
        raise errors.invalid_argument(f"{message} needs at least one record in Targets.")
    return targets


def _write(handlers: Handlers, entity_set: EntitySet, message: str, index: int, target: object,
           references: Mapping[str, str]) -> str:
    """One target, written as its single message would be; the record's id."""
    record_id = None
    try:
        _check_type(entity_set, index, target)
        key = None if message == "CreateMultiple" else _key(handlers, entity_set, message, target)
        if key is None:
            record_id = target.get(entity_set.key)
            row = handlers.writer.create(entity_set, target, api_url=handlers.api_url, references=references)
        else:
            record_id = key.record_id
            if message == "UpsertMultiple" and key.index is not None and set(key.columns) & set(target) \
                    and handlers.records.find(entity_set, key) is None:
                raise _KEY_IN_BODY
            if_match = ["*"] if message == "UpdateMultiple" else None  # an update never creates
            row, _ = handlers.write_by_key(entity_set, key, target, references, if_match=if_match)
    except DataverseError as exc:
        raise _TargetFailed(index, record_id, exc) from None
    return row[entity_set.key]


def _check_type(entity_set: EntitySet, index: int, target: object) -> None:
    if not isinstance(target, dict):
        raise errors.payload_error(entity_set.name, f"Microsoft.OData.ODataException: Item {index} of Targets is "
                                   "not an entity object.")
    named = target.get("@odata.type")
    if not named:
        # Assumption: the wording. Targets is a collection of the abstract crmbaseentity, so each item must say
        # which entity type it is (bulk-operations.md: "You must set the @odata.type property for each item").
        raise errors.payload_error(entity_set.name, f"Microsoft.OData.ODataException: Item {index} of Targets has "
                                   "no '@odata.type'; every item of a collection of the abstract type "
                                   "'Microsoft.Dynamics.CRM.crmbaseentity' must name its entity type.")
    if str(named).lstrip("#") != entity_set.entity_type:
        # Assumption: the code and wording; the rule (records of the entity set's one table) is documented.
        raise errors.invalid_argument(f"Item {index} of Targets is a '{str(named).lstrip('#')}', but the records "
                                      f"of a bulk message on {entity_set.name} must all be "
                                      f"'{entity_set.entity_type}'.")


def _key(handlers: Handlers, entity_set: EntitySet, message: str, target: dict) -> RecordKey | None:
    """The record a target of UpdateMultiple or UpsertMultiple names: by `@odata.id` (a key URL relative to the
    service root, as in the documented UpsertMultiple request), else by its primary key column; None for an
    UpsertMultiple target that names none (it is created, as by an Upsert without a key)."""
    address = target.get("@odata.id")
    if isinstance(address, str) and address:
        path = relative_path(address, handlers.api_url)
        resource = parse_resource(path, handlers.records.environment.active_keys)
        if resource.kind != "entity" or resource.entity_set is None or resource.entity_set.name != entity_set.name:
            # Assumption: the wording; the URL must address one record of the entity set the action is bound to.
            raise errors.payload_error(entity_set.name, f"Microsoft.OData.ODataException: The '@odata.id' value "
                                       f"'{address}' is not the URL of one {entity_set.logical} record.")
        return resource.key
    record_id = target.get(entity_set.key)
    if record_id is None:
        if message == "UpsertMultiple":
            return None
        # Assumption: the SDK's message for an Update that names no record.
        raise errors.invalid_argument("Entity Id must be specified for Update")
    parsed = parse_guid(record_id) if isinstance(record_id, str) else None
    if parsed is None:
        raise errors.bad_literal(entity_set.name, record_id, "Edm.Guid", entity_set.key)
    return RecordKey(record_id=parsed, segment=f"{entity_set.name}({parsed})")


def _failure(failed: _TargetFailed, prefs: Preferences) -> Response:
    error = failed.error
    body: dict[str, object] = {"code": error.code, "message": error.message}
    if any(fnmatch.fnmatchcase(ERROR_DETAILS, pattern) for pattern in prefs.annotations or ()):
        details = [{"RequestIndex": failed.index, "Id": failed.record_id, "StatusCode": error.status}]
        body[f"@{ERROR_DETAILS}"] = json.dumps(details, separators=(",", ":"))
    return json_response(error.status, {"error": body}, [ODATA_VERSION, *error.headers])
