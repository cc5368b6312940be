"""`$batch` as Dataverse runs it: parts in order through the ordinary handlers, change sets all-or-nothing,
`$n` references to records created earlier in the batch, at most 1000 operations, and on a failure either a stop
(the batch answers with that failure's status) or, with `Prefer: odata.continue-on-error`, 200 and every result.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from connectors.emulators.dataverse.errors import ODATA_VERSION, DataverseError, error_response
from connectors.emulators.dataverse.handlers import Outcome
from connectors.emulators.dataverse.preferences import parse_prefer
from connectors.emulators.odata.batch import (
    BatchOperation,
    ChangeSet,
    OperationResult,
    parse_batch,
    render_batch_response,
    resolve_content_id_reference,
)
from connectors.emulators.odata.errors import ODataQueryError
from connectors.emulators.protection import Stats
from connectors.emulators.server import Headers, Request, Response
from connectors.emulators.store import Store

MAX_OPERATIONS = 1000
Run = Callable[[Request, dict[str, str]], Outcome]  # one inner request (errors rendered) -> its outcome


class _ChangeSetFailed(Exception):
    def __init__(self, result: OperationResult):
        super().__init__(result.status)
        self.result = result


def handle_batch(request: Request, *, api_root: str, store: Store, stats: Stats, run: Run) -> Response:
    """Run a `$batch` request; `run` answers one inner request without authenticating it again."""
    prefs = parse_prefer(request.headers)
    try:
        items = parse_batch(request.headers.get("Content-Type") or "", request.body)
    except ODataQueryError as exc:
        return error_response(400, "0x80048d19", exc.message)
    total = sum(len(item.operations) if isinstance(item, ChangeSet) else 1 for item in items)
    if total > MAX_OPERATIONS:
        # ODataLib's message for the part limit Dataverse sets (assumption: the empty code).
        return error_response(400, "", "The current batch message contains too many parts. Only batch messages "
                              f"with a maximum number of '{MAX_OPERATIONS}' query operations, including changeset "
                              "operations, are allowed.")
    for item in items:
        if isinstance(item, ChangeSet):
            for operation in item.operations:
                if operation.method not in ("POST", "PUT", "PATCH", "DELETE"):
                    return error_response(400, "", f"An invalid HTTP method '{operation.method}' was detected for "
                                          "a request in a change set. Requests in change sets only support the "
                                          "HTTP methods 'POST', 'PUT', 'DELETE', and 'PATCH'.")
    stats.count("batch_operations", total)
    created: dict[str, str] = {}
    results: list[OperationResult | list[OperationResult]] = []
    failure: OperationResult | None = None
    for item in items:
        if isinstance(item, BatchOperation):
            result = _execute(item, api_root, created, run)
        else:
            result = _change_set(item, api_root, created, store, run)
        results.append(result)
        if isinstance(result, OperationResult) and result.status >= 400 and not prefs.continue_on_error:
            failure = result
            break
    headers = [ODATA_VERSION]
    if prefs.continue_on_error:
        headers.append(("Preference-Applied", "odata.continue-on-error"))
    if failure is not None:
        content_type, body = render_batch_response([failure])
        return Response(failure.status, body, [("Content-Type", content_type), *headers])
    content_type, body = render_batch_response(results)
    return Response(200, body, [("Content-Type", content_type), *headers])


def _change_set(change_set: ChangeSet, api_root: str, created: dict[str, str], store: Store,
                run: Run) -> list[OperationResult] | OperationResult:
    """All operations or none; a failed change set answers with its failing operation alone."""
    declared = dict(created)
    try:
        with store.transaction():
            results = []
            for operation in change_set.operations:
                result = _execute(operation, api_root, created, run)
                if result.status >= 400:
                    raise _ChangeSetFailed(result)
                results.append(result)
    except _ChangeSetFailed as failed:
        created.clear()
        created.update(declared)
        return failed.result
    return results


def _execute(operation: BatchOperation, api_root: str, created: dict[str, str], run: Run) -> OperationResult:
    try:
        target = _target(resolve_content_id_reference(operation.url, created), api_root)
    except (ODataQueryError, DataverseError) as exc:
        response = error_response(400, "", getattr(exc, "message", str(exc)))
        return OperationResult(response.status, _part_headers(response), response.body, operation.content_id)
    request = Request(operation.method, target, Headers(operation.headers.items()), operation.body)
    outcome = run(request, created)
    response = outcome.response
    headers = _part_headers(response)
    if outcome.entity_url and response.status == 204 and response.header("OData-EntityId"):
        headers.insert(1, ("Location", outcome.entity_url))
    if response.status >= 400:
        headers.insert(0, ("REQ_ID", str(uuid.uuid4())))
    if operation.content_id is not None and outcome.entity_url and response.status < 400:
        created[operation.content_id] = outcome.entity_url
    return OperationResult(response.status, headers, response.body, operation.content_id)


def _target(url: str, api_root: str) -> str:
    """An inner request's URL as a server path: absolute URLs lose their origin, relative ones gain the root."""
    if "://" in url:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    if url.startswith("/"):
        return url
    return api_root + url


def _part_headers(response: Response) -> list[tuple[str, str]]:
    headers = [(name, value) for name, value in response.headers if name.lower() != "content-length"]
    if not any(name.lower() == "odata-version" for name, _ in headers):
        headers.insert(0, ODATA_VERSION)
    return headers
