"""What the Dataverse and F&O clients share: URLs, reading, single writes, `$batch` and the full-scan feed.

A write is first described as an `Operation`, so the same description is sent alone or inside a batch and its
response, either way, becomes the same `WriteResult`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import requests

from connectors.batch import BatchOutcome, Operation, Part, decode_batch, encode_batch, match_outcomes, operations_in
from connectors.changes import ChangeRead, FullScanRead
from connectors.config import ConnectionConfig
from connectors.errors import ValidationError
from connectors.odata import Key, any_of_filters, folded, key_path, query_string
from connectors.paging import Page, iter_pages
from connectors.service_metadata import ServiceModel, parse_csdl
from connectors.transport import ApiProfile, Transport


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one write. `outcome` is "created" or "updated" (or "upserted" when the service did not
    say which); `key` identifies the written record; `attributes` are the fields the service returned."""

    outcome: str
    entity_set: str
    key: dict[str, Any]
    attributes: dict[str, Any]
    etag: str | None


class ODataClient:
    """One connection to one environment; thread-safe, so one instance per connection and process suffices."""

    system: ClassVar[str]
    max_batch_operations: ClassVar[int]
    max_filter_length: ClassVar[int]  # of a `$filter` built from many keys, percent-encoded
    profile: ClassVar[ApiProfile]

    def __init__(self, config: ConnectionConfig):
        if config.system != self.system:
            raise ValueError(f"{type(self).__name__} needs a {self.system} connection, not {config.system}")
        self.config = config
        self.transport = Transport(config, self.profile)

    def close(self) -> None:
        self.transport.close()

    # --- URLs ------------------------------------------------------------------------------------------------
    def url(self, path: str, options: Mapping[str, Any] | None = None) -> str:
        query = query_string(options or {})
        return self.config.api_url + path + ("?" + query if query else "")

    def record_url(self, entity_set: str, key: Key) -> str:
        return self.url(key_path(entity_set, self.checked_key(entity_set, key)), self.read_options())

    def checked_key(self, entity_set: str, key: Key) -> Key:
        """The key as it goes into a URL; a client refuses or completes keys its API cannot take as given."""
        return key

    def read_options(self) -> dict[str, Any]:
        """Query options every read and key URL carries."""
        return {}

    # --- reading ---------------------------------------------------------------------------------------------
    def pages(self, entity_set: str, *, select: Sequence[str] = (), filter: str | None = None,
              orderby: str | None = None, expand: str | None = None, options: Mapping[str, Any] | None = None,
              prefer: Sequence[str] = ()) -> Iterator[Page]:
        """Every page of a query, one at a time, with the connection's page size."""
        url = self.url(entity_set, {**self.read_options(), "$select": tuple(select), "$filter": filter,
                                    "$orderby": orderby, "$expand": expand, **(options or {})})
        return self.pages_from(url, entity_set=entity_set, prefer=prefer)

    def pages_from(self, url: str, *, entity_set: str, prefer: Sequence[str] = ()) -> Iterator[Page]:
        """Pages starting at a URL the service gave us (a delta link), used as given."""
        preference = ",".join([f"odata.maxpagesize={self.config.page_size}", *prefer])
        return iter_pages(self.transport, url, prefer=preference, entity_set=entity_set)

    def rows(self, entity_set: str, **query: Any) -> Iterator[dict[str, Any]]:
        """Every record of a query; `query` as for `pages`."""
        for page in self.pages(entity_set, **query):
            yield from page.rows

    def matching_rows(self, matches: Sequence[Mapping[str, Any]], read: Callable[[str], Iterable[dict[str, Any]]],
                      *, within: str = "") -> Iterator[tuple[tuple, dict[str, Any]]]:
        """The rows holding one of `matches` (natural keys, all naming the same fields), each with the match's
        values in its field order, compared as the service compares them (`folded`); `read(filter)` reads one
        `or` filter's rows, and there are as few filters as URLs allow (`any_of_filters`)."""
        fields = list(matches[0])
        wanted = {folded(tuple(match[name] for name in fields)): tuple(match[name] for name in fields)
                  for match in matches}
        for filter in any_of_filters(matches, max_length=self.max_filter_length, within=within):
            for row in read(filter):
                natural = wanted.get(folded(tuple(row.get(name) for name in fields)))
                if natural is not None:
                    yield natural, row

    def get(self, entity_set: str, key: Key, *, select: Sequence[str] = ()) -> dict[str, Any]:
        """One record by key; NotFoundError when there is none."""
        url = self.record_url(entity_set, key)
        if select:
            url += ("&" if "?" in url else "?") + query_string({"$select": tuple(select)})
        return self.transport.request("GET", url, entity_set=entity_set, key=key).json()

    def service_model(self) -> ServiceModel:
        """The environment's `$metadata`: its entity sets, their keys, properties and navigation properties."""
        response = self.transport.request("GET", self.url("$metadata"), headers={"Accept": "application/xml"},
                                          entity_set="$metadata")
        return parse_csdl(io.BytesIO(response.content))

    def full_scan(self, entity_set: str, *, key_fields: Sequence[str], select: Sequence[str] = (),
                  filter: str | None = None) -> ChangeRead:
        """Every record, as changes: for entities with no change tracking and no modified timestamp."""
        return FullScanRead(self.pages(entity_set, select=select, filter=filter), tuple(key_fields))

    # --- writing ---------------------------------------------------------------------------------------------
    def write(self, operation: Operation) -> WriteResult:
        """Send one write operation alone and return its result."""
        response = self.transport.request(operation.method, operation.url, body=operation.body,
                                          headers=operation.headers, entity_set=operation.entity_set,
                                          key=operation.key)
        return self.write_result(operation, response.status_code, response.headers, _json_or_none(response))

    def result_of(self, outcome: BatchOutcome) -> WriteResult:
        """The WriteResult of a batch outcome; raises the outcome's error when it failed."""
        if outcome.error is not None:
            raise outcome.error
        return self.write_result(outcome.operation, outcome.status or 0, outcome.headers, outcome.body)

    def write_result(self, operation: Operation, status: int, headers: Mapping[str, str], body: Any) -> WriteResult:
        body = body if isinstance(body, dict) else {}
        if status == 201 or operation.method == "POST" or operation.headers.get("If-None-Match") == "*":
            outcome = "created"
        elif status == 200 or "If-Match" in operation.headers:
            outcome = "updated"
        else:
            outcome = "upserted"
        attributes = {name: value for name, value in body.items() if not name.startswith("@odata.")}
        etag = body.get("@odata.etag") or headers.get("ETag")
        return WriteResult(outcome, operation.entity_set, self.result_key(operation, body, headers), attributes,
                           etag)

    def result_key(self, operation: Operation, body: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        """The written record's key: from the returned body when it has the key fields, else as addressed."""
        if operation.key_fields and all(name in body for name in operation.key_fields):
            return {name: body[name] for name in operation.key_fields}
        if isinstance(operation.key, Mapping):
            return dict(operation.key)
        return {operation.key_fields[0]: str(operation.key)} if operation.key_fields and operation.key else {}

    def delete(self, entity_set: str, key: Key, *, etag: str | None = None) -> None:
        """Delete one record; with `etag`, only if it has not changed since (ConflictError otherwise)."""
        headers = {"If-Match": etag} if etag else {}
        self.transport.request("DELETE", self.record_url(entity_set, key), headers=headers, entity_set=entity_set,
                               key=key)

    # --- $batch ----------------------------------------------------------------------------------------------
    def write_each(self, operations: Sequence[Operation]) -> list[BatchOutcome]:
        """Send writes in as few `$batch` requests as the API takes, each succeeding or failing on its own: one
        outcome per operation, in order (`result_of` turns one into a WriteResult or raises its error), a failed
        one never undoing or stopping its neighbours. A batch refused as a whole (throttled, unreachable) raises."""
        outcomes: list[BatchOutcome] = []
        for start in range(0, len(operations), self.max_batch_operations):
            chunk = operations[start:start + self.max_batch_operations]
            outcomes += self.batch(self.independent_parts(chunk), continue_on_error=True)
        return outcomes

    def independent_parts(self, operations: Sequence[Operation]) -> list[Part]:
        """Batch parts that fail one by one (with `Prefer: odata.continue-on-error`, which a service that goes on
        anyway ignores, as OData lets it ignore any preference)."""
        return list(operations)

    def batch(self, parts: Sequence[Part], *, continue_on_error: bool = False) -> list[BatchOutcome]:
        """Send operations and change sets in one `$batch`; one outcome per operation, in order."""
        count = sum(1 for _ in operations_in(parts))
        if count > self.max_batch_operations:
            raise ValidationError(f"A {self.system} batch takes at most {self.max_batch_operations} operations, "
                                  f"not {count}")
        content_type, body, sent = encode_batch(parts)
        headers = {"Content-Type": content_type}
        if continue_on_error:
            headers["Prefer"] = "odata.continue-on-error"
        response = self.transport.request("POST", self.url("$batch"), data=body, headers=headers,
                                          entity_set="$batch", accept=_is_multipart)
        responses = decode_batch(response.headers["Content-Type"], response.content)
        return match_outcomes(sent, responses, self.profile.classify, stopped=response.status_code >= 400)


def _is_multipart(response: requests.Response) -> bool:
    """A batch that stopped at a failing part answers with that part's status but still a multipart body."""
    return response.headers.get("Content-Type", "").lower().startswith("multipart/mixed")


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
