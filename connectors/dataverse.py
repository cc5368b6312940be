"""The Dataverse Web API client (Dynamics 365 Sales): alternate-key upserts, lookups, change tracking.

PATCH by key is an upsert unless told otherwise, so each write says what it means: `If-Match: *` to update
only, `If-None-Match: *` to create only, `If-Match: <etag>` to update only if unchanged. `return=representation`
makes the service say whether it created (201) or updated (200) and hand back the id and the etag.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal

from connectors.base import ODataClient, WriteResult
from connectors.batch import Operation
from connectors.changes import ChangeRead, DeltaRead, WatermarkRead
from connectors.classify import classify_dataverse
from connectors.errors import DuplicateError, NotFoundError, ValidationError
from connectors.odata import Key, bind, key_path, literal
from connectors.service_metadata import TABLE_DEFINITION_QUERY, TableDefinition, table_definition
from connectors.transport import ApiProfile

WriteMode = Literal["upsert", "update", "create"]

# Characters that break a key URL on Dataverse, however they are encoded (400 "Error in query syntax").
FORBIDDEN_KEY_CHARACTERS = frozenset("<>*%&:/\\")


def primary_key_of(entity_set: str) -> str:
    """The primary key column of an entity set by Dataverse's naming (`accounts` -> `accountid`,
    `opportunities` -> `opportunityid`); pass `primary_key=` where a table breaks the pattern."""
    if entity_set.endswith("ies"):
        return entity_set[:-3] + "yid"
    if entity_set.endswith("sses"):
        return entity_set[:-2] + "id"
    return entity_set.removesuffix("s") + "id"


class DataverseClient(ODataClient):
    system = "dataverse"
    max_batch_operations = 1000
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
