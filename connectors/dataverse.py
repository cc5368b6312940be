"""The Dataverse Web API client (Dynamics 365 Sales): alternate-key upserts, the bulk messages, lookups, change
tracking.

PATCH by key is an upsert unless told otherwise, so each write says what it means: `If-Match: *` to update
only, `If-None-Match: *` to create only, `If-Match: <etag>` to update only if unchanged. `return=representation`
makes the service say whether it created (201) or updated (200) and hand back the id and the etag.

The bulk messages (CreateMultiple, UpdateMultiple, UpsertMultiple; bulk-operations.md) write many records of one
table in one request, counted once toward the request limit; on standard tables they are all or nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal

import requests

from connectors.base import ODataClient, WriteResult
from connectors.batch import Operation
from connectors.changes import ChangeRead, DeltaRead, WatermarkRead
from connectors.classify import classify_dataverse
from connectors.errors import BulkTargetError, DuplicateError, NotFoundError, ValidationError
from connectors.odata import Key, bind, key_path, literal
from connectors.service_metadata import TABLE_DEFINITION_QUERY, TableDefinition, table_definition
from connectors.transport import ApiProfile

WriteMode = Literal["upsert", "update", "create"]

# Characters that break a key URL on Dataverse, however they are encoded (400 "Error in query syntax").
FORBIDDEN_KEY_CHARACTERS = frozenset("<>*%&:/\\")
# Per-target details of a failed bulk message: documented for elastic tables (RequestIndex, Id, StatusCode in the
# error detail Plugin.BulkApiErrorDetails, returned as an annotation when asked for); a standard table may not
# give them, and then the caller learns only that one target failed.
BULK_ERROR_DETAILS = "@Microsoft.PowerApps.CDS.ErrorDetails.Plugin.BulkApiErrorDetails"
_ASK_ERROR_DETAILS = 'odata.include-annotations="Microsoft.PowerApps.CDS.ErrorDetails.*"'
BulkTarget = tuple[Key, Mapping[str, Any]]  # (the record's id or alternate key, the values to write)


def primary_key_of(entity_set: str) -> str:
    """The primary key column of an entity set by Dataverse's naming (`accounts` -> `accountid`,
    `opportunities` -> `opportunityid`); pass `primary_key=` where a table breaks the pattern."""
    if entity_set.endswith("ies"):
        return entity_set[:-3] + "yid"
    if entity_set.endswith("sses"):
        return entity_set[:-2] + "id"
    return entity_set.removesuffix("s") + "id"


def logical_name_of(entity_set: str) -> str:
    """The table's logical name by the same naming (`accounts` -> `account`), for `@odata.type`."""
    return primary_key_of(entity_set).removesuffix("id")


class DataverseClient(ODataClient):
    system = "dataverse"
    max_batch_operations = 1000
    # Half the documented 32 KB limit of a GET's URL, leaving the rest to the path and the other options.
    max_filter_length = 16000
    profile = ApiProfile(
        headers={"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"},
        read_headers={"If-None-Match": "null"},  # or an expanded collection may come from a stale cache
        classify=classify_dataverse,
        throttle_fallback=lambda attempt: float(2 ** attempt),  # Microsoft's sample, when Retry-After is missing
    )

    def checked_key(self, entity_set: str, key: Key) -> Key:
        if isinstance(key, Mapping):
            for value in key.values():
                bad = sorted(FORBIDDEN_KEY_CHARACTERS.intersection(str(value))) if isinstance(value, str) else []
                if bad:
                    raise ValidationError(f"The key value {value!r} contains {' '.join(bad)}, which Dataverse "
                                          "cannot take in a key URL", entity_set=entity_set, key=dict(key))
        return key

    # --- writes ----------------------------------------------------------------------------------------------
    def upsert(self, entity_set: str, key: Key, body: Mapping[str, Any], *, mode: WriteMode = "upsert",
               etag: str | None = None, select: Sequence[str] = (), primary_key: str | None = None) -> WriteResult:
        """Write one record by alternate key (or id). `mode`: "upsert" creates or updates, "update" never
        creates (NotFoundError), "create" never updates (DuplicateError); `etag` updates only that version
        (ConflictError otherwise).

        Assumption: an upsert is a look-up and then a create or an update, not one atomic step, so of two
        concurrent upserts of one new key the later can be refused as a duplicate (412, 0x80060892 or
        0x80040237) although the record now exists; it is sent once more, as an update."""
        try:
            return self.write(self.upsert_operation(entity_set, key, body, mode=mode, etag=etag, select=select,
                                                    primary_key=primary_key))
        except DuplicateError as duplicate:
            if mode != "upsert" or etag:
                raise
            try:
                return self.write(self.upsert_operation(entity_set, key, body, mode="update", select=select,
                                                        primary_key=primary_key))
            except (NotFoundError, DuplicateError):
                raise duplicate from None  # not a lost race: another key of the body is taken

    def upsert_operation(self, entity_set: str, key: Key, body: Mapping[str, Any], *, mode: WriteMode = "upsert",
                         etag: str | None = None, select: Sequence[str] = (),
                         primary_key: str | None = None) -> Operation:
        """The PATCH `upsert` sends, for use in a batch (`result_of` turns its outcome into a WriteResult)."""
        headers = {"Prefer": "return=representation"}
        if etag:
            headers["If-Match"] = etag
        elif mode == "update":
            headers["If-Match"] = "*"
        elif mode == "create":
            headers["If-None-Match"] = "*"
        pk = primary_key or primary_key_of(entity_set)
        path = key_path(entity_set, self.checked_key(entity_set, key))
        url = self.url(path, {"$select": tuple(dict.fromkeys([pk, *select]))})
        return Operation("PATCH", url, dict(body), headers, entity_set=entity_set, key=_plain(key), key_fields=(pk,))

    def create(self, entity_set: str, body: Mapping[str, Any], *, select: Sequence[str] = (),
               primary_key: str | None = None) -> WriteResult:
        """POST a new record (no key needed); the result carries its id."""
        return self.write(self.create_operation(entity_set, body, select=select, primary_key=primary_key))

    def create_operation(self, entity_set: str, body: Mapping[str, Any], *, select: Sequence[str] = (),
                         primary_key: str | None = None) -> Operation:
        pk = primary_key or primary_key_of(entity_set)
        url = self.url(entity_set, {"$select": tuple(dict.fromkeys([pk, *select]))})
        return Operation("POST", url, dict(body), {"Prefer": "return=representation"}, entity_set=entity_set,
                         key_fields=(pk,))

    # --- bulk messages ----------------------------------------------------------------------------------------
    def create_multiple(self, entity_set: str, bodies: Sequence[Mapping[str, Any]], *,
                        logical_name: str | None = None, primary_key: str | None = None) -> list[WriteResult]:
        """Create records of one table in one request (CreateMultiple): one result per body, in order, each with
        the new record's id. All or nothing: BulkTargetError when a target is refused, and nothing is created."""
        pk = primary_key or primary_key_of(entity_set)
        targets = [self._target(entity_set, None, body, logical_name, pk) for body in bodies]
        answer = self._bulk(entity_set, "CreateMultiple", targets, [None] * len(targets), idempotent=False)
        ids = [str(record_id) for record_id in answer.get("Ids") or ()]
        if len(ids) != len(targets):
            raise ValidationError(f"CreateMultiple answered {len(ids)} ids for {len(targets)} records",
                                  entity_set=entity_set)
        return [WriteResult("created", entity_set, {pk: record_id}, {pk: record_id}, None) for record_id in ids]

    def update_multiple(self, entity_set: str, targets: Sequence[BulkTarget], *, logical_name: str | None = None,
                        primary_key: str | None = None) -> list[WriteResult]:
        """Update existing records of one table in one request (UpdateMultiple), each named by its id or an
        alternate key: one result per target, in order, keyed as given (the service answers with no body). All
        or nothing: BulkTargetError when a target is refused (a missing record among them), nothing is written."""
        return self._by_key(entity_set, "UpdateMultiple", targets, "updated", logical_name, primary_key)

    def upsert_multiple(self, entity_set: str, targets: Sequence[BulkTarget], *, logical_name: str | None = None,
                        primary_key: str | None = None) -> list[WriteResult]:
        """Create or update records of one table in one request (UpsertMultiple), each named by an alternate key
        (or its id): one result per target, in order, with outcome "upserted" and the key as given, because the
        service answers 204 with no body, saying neither which it did nor the ids (`ids_by_key` reads them back
        in one request). All or nothing: BulkTargetError when a target is refused, and nothing is written."""
        return self._by_key(entity_set, "UpsertMultiple", targets, "upserted", logical_name, primary_key)

    def ids_by_key(self, entity_set: str, keys: Sequence[Mapping[str, Any]], *,
                   primary_key: str | None = None) -> dict[tuple, str]:
        """The ids of the records with these alternate keys (all naming the same columns), read with one `or`
        filter per URL's worth of keys (usually one GET): key values, in the keys' column order -> id. A key no
        record has is left out."""
        if not keys:
            return {}
        pk = primary_key or primary_key_of(entity_set)
        select = [pk, *keys[0]]
        return {values: str(row[pk]) for values, row in self.matching_rows(
            keys, lambda filter: self.rows(entity_set, select=select, filter=filter))}

    def _by_key(self, entity_set: str, message: str, targets: Sequence[BulkTarget], outcome: str,
                logical_name: str | None, primary_key: str | None) -> list[WriteResult]:
        pk = primary_key or primary_key_of(entity_set)
        keys = [_plain(key) for key, _ in targets]
        sent = [self._target(entity_set, key, body, logical_name, pk) for key, body in targets]
        self._bulk(entity_set, message, sent, keys, idempotent=True)
        return [WriteResult(outcome, entity_set, key if isinstance(key, dict) else {pk: key}, {}, None)
                for key in keys]

    def _target(self, entity_set: str, key: Key | None, body: Mapping[str, Any], logical_name: str | None,
                pk: str) -> dict[str, Any]:
        """One item of `Targets`: typed, and named by its id (in the body) or alternate key (in `@odata.id`, with
        the key columns left out of the body: Dataverse refuses them there when the record is new)."""
        target = {"@odata.type": f"Microsoft.Dynamics.CRM.{logical_name or logical_name_of(entity_set)}"}
        if isinstance(key, Mapping):
            target["@odata.id"] = key_path(entity_set, self.checked_key(entity_set, key))
            target.update((name, value) for name, value in body.items() if name not in key)
        else:
            target.update(body)
            if key is not None:
                target[pk] = _plain(key)
        return target

    def _bulk(self, entity_set: str, message: str, targets: list[dict[str, Any]], keys: list[Any], *,
              idempotent: bool) -> dict[str, Any]:
        response = self.transport.request(
            "POST", self.url(f"{entity_set}/Microsoft.Dynamics.CRM.{message}"), body={"Targets": targets},
            headers={"Prefer": _ASK_ERROR_DETAILS}, entity_set=entity_set, idempotent=idempotent,
            accept=_refused_for_its_content)
        body = _json_body(response)
        if response.status_code < 400:
            return body if isinstance(body, dict) else {}
        error = self.profile.classify(response.status_code, response.headers, body, entity_set=entity_set)
        index = _failed_index(body, len(targets))
        key = keys[index] if index is not None else None
        error.key = key
        which = f"target {index} ({key})" if index is not None else "a target (the service did not say which)"
        raise BulkTargetError(f"{message} wrote none of its {len(targets)} records: {which} was refused: "
                              f"{error.message}", error=error, index=index, status=error.status, code=error.code,
                              entity_set=entity_set, key=key)

    def result_key(self, operation: Operation, body: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        """The id from the body, else from `OData-EntityId` when it is the GUID form (an upsert by alternate key
        without a representation answers with the key form, which says nothing new)."""
        pk = operation.key_fields[0]
        if pk not in body:
            inside = headers.get("OData-EntityId", "").rstrip(")").rpartition("(")[2]
            try:
                return {pk: str(uuid.UUID(inside))}
            except ValueError:
                pass
        return super().result_key(operation, body, headers)

    def bind(self, entity_set: str, key: Key) -> str:
        """The value of `<navigation>@odata.bind`: `/accounts(<guid>)` or `/accounts(accountnumber='X')`."""
        return bind(entity_set, self.checked_key(entity_set, key))

    def table_definition(self, logical_name: str) -> TableDefinition | None:
        """The table's definition (columns with required levels, alternate keys with their index status, change
        tracking) from `EntityDefinitions`; None when the environment has no such table."""
        url = self.url(f"EntityDefinitions(LogicalName={literal(logical_name)})", TABLE_DEFINITION_QUERY)
        try:
            body = self.transport.request("GET", url, entity_set="EntityDefinitions").json()
        except NotFoundError:
            return None
        return table_definition(body)

    # --- change feeds ----------------------------------------------------------------------------------------
    def delta_changes(self, entity_set: str, *, select: Sequence[str], cursor: str | None = None,
                      primary_key: str | None = None) -> ChangeRead:
        """Change tracking: everything at first, then what changed since the stored delta link (`cursor`)."""
        return DeltaRead(self, entity_set, primary_key=primary_key or primary_key_of(entity_set), select=select,
                         cursor=cursor)

    def watermark_changes(self, entity_set: str, *, select: Sequence[str] = (), filter: str | None = None,
                          cursor: str | None = None, since_field: str = "modifiedon",
                          key_fields: Sequence[str] = (), overlap: timedelta = timedelta(seconds=5)) -> ChangeRead:
        """Rows modified at or after `cursor` (a timestamp from the previous read), for tables without tracking."""
        return WatermarkRead(self, entity_set, key_fields=key_fields or (primary_key_of(entity_set),),
                             since_field=since_field, select=select, filter=filter, cursor=cursor, overlap=overlap)


def _plain(key: Key) -> Any:
    """The key as errors and results show it."""
    if isinstance(key, Mapping):
        return dict(key)
    return str(uuid.UUID(str(key)))


def _refused_for_its_content(response: requests.Response) -> bool:
    """A bulk message's 4xx other than auth and throttling: a target's (or the request's) content was refused."""
    return 400 <= response.status_code < 500 and response.status_code not in (401, 403, 429)


def _json_body(response: requests.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return response.text


def _failed_index(body: Any, count: int) -> int | None:
    """The failing target's position, from the per-target error details when the service gave them."""
    error = body.get("error") if isinstance(body, dict) else None
    text = error.get(BULK_ERROR_DETAILS) if isinstance(error, dict) else None
    try:
        details = json.loads(text) if isinstance(text, str) else text
        indexes = [int(detail["RequestIndex"]) for detail in details or ()
                   if int(detail.get("StatusCode") or 0) >= 400]
    except (ValueError, TypeError, KeyError):
        return None
    return indexes[0] if indexes and 0 <= indexes[0] < count else None
