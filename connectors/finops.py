"""The Finance and Operations OData client: company-scoped composite keys, create-or-update, batched lookups by
natural key, full scans.

F&O has no upsert: POST creates (201, with server-generated fields), PATCH updates (204). The caller usually
knows which one it needs (`exists`); when it is wrong the other is tried. Reads and key URLs carry
`cross-company=true`, or only the service user's default company is visible. Writes sent together go in a `$batch`
with one change set per write (`write_each`), so one refused record never rolls back another.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from connectors.base import ODataClient, WriteResult
from connectors.batch import Operation, Part, one_change_set_each
from connectors.changes import ChangeRead
from connectors.classify import classify_finops
from connectors.config import ConnectionConfig
from connectors.errors import DuplicateError, NotFoundError, ValidationError
from connectors.odata import EnumMember, Key, equals_filter, key_path, literal
from connectors.paging import iter_pages
from connectors.transport import ApiProfile

COMPANY = "dataAreaId"
FULL_METADATA = "application/json;odata.metadata=full"


class KeyMatches(dict):
    """Natural key values -> the API key of the one record that has them. `ambiguous` holds the natural keys more
    than one record has (-> how many), which no write should pick a record for."""

    def __init__(self) -> None:
        super().__init__()
        self.ambiguous: dict[tuple, int] = {}


class FinOpsClient(ODataClient):
    system = "finops"
    max_batch_operations = 5000
    # Assumption: IIS's default maxQueryString (2,048 characters), which F&O is not documented to raise, less room
    # for the other options of the query.
    max_filter_length = 1500
    profile = ApiProfile(
        headers={"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"},
        read_headers={},
        classify=classify_finops,
        throttle_fallback=lambda attempt: 30.0,  # Microsoft's F&O sample, when Retry-After is missing
    )

    def __init__(self, config: ConnectionConfig):
        super().__init__(config)
        self._enum_types: dict[str, dict[str, str | None]] = {}  # entity set -> property -> enum type (or None)
        self._enum_asked: set[str] = set()  # entity sets read once for their types
        self._enum_lock = threading.Lock()

    def read_options(self) -> dict[str, Any]:
        return {"cross-company": "true"}

    def checked_key(self, entity_set: str, key: Key) -> Key:
        """F&O keys are name/value pairs and always carry the company; the connection's default fills it in."""
        if not isinstance(key, Mapping):
            raise ValidationError("An F&O key names its fields, e.g. {'dataAreaId': 'usmf', 'CustomerAccount': "
                                  "'US-001'}", entity_set=entity_set, key=key)
        if COMPANY not in key:
            if not self.config.default_company:
                raise ValidationError("The key has no dataAreaId and the connection no default company",
                                      entity_set=entity_set, key=dict(key))
            key = {COMPANY: self.config.default_company, **key}
        return key

    def record_url(self, entity_set: str, key: Key) -> str:
        """Enum-typed key values are written as enum literals (`EnumMember`), as F&O's key syntax requires."""
        typed = self._typed(entity_set, self.checked_key(entity_set, key))
        return self.url(key_path(entity_set, typed), self.read_options())

    # --- enum-typed values -----------------------------------------------------------------------------------
    def _typed(self, entity_set: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values with each enum member as an EnumMember. JSON says nothing of enums (a member reads as a
        string), so the types are learnt from answers given with full metadata: a lookup's, a create's, or one
        read of the entity set per process (an empty set teaches nothing, but then no key can match a record
        until the first create, whose answer teaches it) rather than from `$metadata`, which is tens of MB."""
        plain = [name for name, value in values.items() if isinstance(value, str) and not isinstance(value, EnumMember)]
        with self._enum_lock:
            known = self._enum_types.setdefault(entity_set, {})
            unknown = [name for name in plain if name not in known]
            ask = bool(unknown) and entity_set not in self._enum_asked
            self._enum_asked.add(entity_set)
        if ask:
            url = self.url(entity_set, {**self.read_options(), "$select": tuple(unknown), "$top": 1})
            response = self.transport.request("GET", url, headers={"Accept": FULL_METADATA}, entity_set=entity_set)
            self._learn_types(entity_set, unknown, response.json().get("value") or [])
        types = self._enum_types[entity_set]
        return {name: EnumMember(types[name], value) if name in plain and types.get(name) else value
                for name, value in values.items()}

    def _learn_types(self, entity_set: str, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
        """Record which of `names` are enums, from rows read with full metadata (nothing is learnt from none, or
        from an answer that did not honour full metadata: it would have no `@odata.type`)."""
        if not rows or "@odata.type" not in rows[0]:
            return
        row = rows[0]
        names = names or [name for name in row if "@" not in name]
        with self._enum_lock:
            known = self._enum_types.setdefault(entity_set, {})
            for name in names:
                annotation = row.get(f"{name}@odata.type")
                known[name] = annotation.lstrip("#") if annotation else None

    # --- writes ----------------------------------------------------------------------------------------------
    def upsert(self, entity_set: str, key: Mapping[str, Any], body: Mapping[str, Any], *,
               exists: bool | None = None, etag: str | None = None) -> WriteResult:
        """Create or update the record with this (complete) key. `exists` is the caller's best knowledge:
        True or None try PATCH first and POST on NotFoundError; False tries POST first and PATCH on
        DuplicateError. A POST that loses a race to another writer's (DuplicateError) becomes a PATCH."""
        key = dict(self.checked_key(entity_set, key))
        if exists is not False:
            try:
                return self.write(self.update_operation(entity_set, key, body, etag=etag))
            except NotFoundError:
                pass
        try:
            return self.write(self.create_operation(entity_set, {**body, **key}, key_fields=tuple(key)))
        except DuplicateError:
            return self.write(self.update_operation(entity_set, key, body, etag=etag))

    def update(self, entity_set: str, key: Mapping[str, Any], body: Mapping[str, Any], *,
               etag: str | None = None) -> WriteResult:
        """Update only (NotFoundError when there is no such record). Key values in `body` that differ from `key`
        are sent: F&O refuses to change a key field, with an Infolog that says so (ValidationError)."""
        result = self.write(self.update_operation(entity_set, key, body, etag=etag))
        return replace(result, key={name: body.get(name, value) for name, value in result.key.items()})

    def upsert_by_filter(self, entity_set: str, match: Mapping[str, Any], body: Mapping[str, Any], *,
                         key_fields: Sequence[str], company: str | None = None) -> WriteResult:
        """Create or update a record whose key the service generates (contact persons keyed by party number),
        finding it by a natural key first: `match`, within `company`. The lookup asks for full metadata, so an
        enum-typed key field is known as one when the record is addressed by its key.

        Two writers of one new record (a Create and an Update notification) can both find nothing and both
        create; the service refuses the second create (DuplicateError), whose writer then finds the record the
        first one created and updates it."""
        company = company or self.config.default_company
        if not company:
            raise ValidationError("Give the company (dataAreaId) to look the record up in", entity_set=entity_set,
                                  key=dict(match))
        scope = {COMPANY: company, **match}
        key = self._find(entity_set, scope, key_fields)
        if key is None:
            try:
                return self.write(self.create_operation(entity_set, {**body, **scope}, key_fields=tuple(key_fields)))
            except DuplicateError:
                key = self._find(entity_set, scope, key_fields)
                if key is None:
                    raise
        return self.write(self.update_operation(entity_set, key, body))

    def _find(self, entity_set: str, scope: Mapping[str, Any], key_fields: Sequence[str]) -> dict[str, Any] | None:
        """The service's key of the one record matching `scope` (read with full metadata, so enum-typed key fields
        are learnt); None when there is none."""
        url = self.url(entity_set, {**self.read_options(), "$select": tuple(key_fields),
                                    "$filter": equals_filter(scope), "$top": 2})
        rows = self.transport.request("GET", url, headers={"Accept": FULL_METADATA}, entity_set=entity_set,
                                      key=dict(scope)).json().get("value") or []
        if len(rows) > 1:
            match = {name: value for name, value in scope.items() if name != COMPANY}
            raise ValidationError(f"More than one record matches {equals_filter(match)} in {scope[COMPANY]}",
                                  entity_set=entity_set, key=dict(scope))
        if not rows:
            return None
        self._learn_types(entity_set, key_fields, rows)
        return {name: rows[0][name] for name in key_fields}

    def find_keys(self, entity_set: str, matches: Sequence[Mapping[str, Any]], *, key_fields: Sequence[str],
                  company: str | None = None) -> KeyMatches:
        """The API keys of records whose key the service generates (contact persons), found by natural keys
        (`matches`, all naming the same fields) within `company`, with one `or` filter per URL's worth of them
        (`dataAreaId eq 'usmf' and (ContactPersonId eq 'A' or ...)`): natural key values, in the matches' field
        order -> API key; a natural key no record has is left out. Read with full metadata, so enum-typed key
        fields are learnt and the keys address their records with no further read."""
        company = company or self.config.default_company
        if not company:
            raise ValidationError("Give the company (dataAreaId) to look the records up in", entity_set=entity_set)
        found = KeyMatches()
        if not matches:
            return found
        select = tuple(dict.fromkeys([*key_fields, *matches[0]]))

        def read(filter: str) -> Iterator[dict[str, Any]]:
            url = self.url(entity_set, {**self.read_options(), "$select": select, "$filter": filter})
            for page in iter_pages(self.transport, url, prefer=f"odata.maxpagesize={self.config.page_size}",
                                   entity_set=entity_set, headers={"Accept": FULL_METADATA}):
                self._learn_types(entity_set, key_fields, page.rows)
                yield from page.rows

        keys: dict[tuple, list[dict[str, Any]]] = {}
        for natural, row in self.matching_rows(matches, read, within=f"{COMPANY} eq {literal(company)}"):
            keys.setdefault(natural, []).append({name: row[name] for name in key_fields})
        for natural, records in keys.items():
            if len(records) == 1:
                found[natural] = records[0]
            else:
                found.ambiguous[natural] = len(records)
        return found

    def independent_parts(self, operations: Sequence[Operation]) -> list[Part]:
        """One change set per write: F&O goes on after a failed change set, and a write alone in its change set
        takes no other down with it."""
        return one_change_set_each(operations)

    def create_operation(self, entity_set: str, body: Mapping[str, Any], *,
                         key_fields: Sequence[str] = ()) -> Operation:
        """A POST (the body carries dataAreaId: the record is created in that company)."""
        if COMPANY not in body and not self.config.default_company:
            raise ValidationError("A create body needs dataAreaId", entity_set=entity_set)
        body = {COMPANY: self.config.default_company, **body} if COMPANY not in body else dict(body)
        return Operation("POST", self.url(entity_set), body, {"Accept": FULL_METADATA}, entity_set=entity_set,
                         key=_known_key(body, key_fields), key_fields=tuple(key_fields))

    def write_result(self, operation: Operation, status: int, headers: Mapping[str, str], body: Any) -> WriteResult:
        """A create answers with the record in full metadata: its enum-typed fields are learnt from it."""
        if operation.method == "POST" and isinstance(body, dict):
            self._learn_types(operation.entity_set, (), [body])
            body = {name: value for name, value in body.items() if not name.endswith("@odata.type")}
        return super().write_result(operation, status, headers, body)

    def update_operation(self, entity_set: str, key: Mapping[str, Any], body: Mapping[str, Any], *,
                         etag: str | None = None) -> Operation:
        """A PATCH by the complete key (key fields are left out of the body); `If-Match: *` unless an etag."""
        key = dict(self.checked_key(entity_set, key))
        # The key is in the URL; a key field in the body is sent only when it differs (a rename), for the
        # service to refuse or apply. F&O compares strings without regard to case.
        changes = {name: value for name, value in body.items() if name not in key or not _same(value, key[name])}
        return Operation("PATCH", self.record_url(entity_set, key), changes, {"If-Match": etag or "*"},
                         entity_set=entity_set, key=key, key_fields=tuple(key))

    # --- change feeds ----------------------------------------------------------------------------------------
    def company_scan(self, entity_set: str, *, key_fields: Sequence[str], select: Sequence[str] = (),
                     companies: Sequence[str] = ()) -> ChangeRead:
        """A full scan across companies (all the user can see, or only `companies`)."""
        filter = " or ".join(f"{COMPANY} eq {literal(company)}" for company in companies) or None
        return self.full_scan(entity_set, key_fields=key_fields, select=select, filter=filter)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return a == b


def _known_key(body: Mapping[str, Any], key_fields: Sequence[str]) -> dict[str, Any] | None:
    known = {name: body[name] for name in key_fields if name in body}
    return known or None
