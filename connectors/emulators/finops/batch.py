"""F&O `$batch`: multipart operations and atomic change sets, answered 200 even when a part failed.

A failing change set is undone as a whole and answered by the failing operation's own response (for a write
failure, `HTTP/1.1 500` with the AxODataWriteException body), so a client must read every part (reference 2.4,
trap 9). Operations outside change sets run one by one. `$n` in a URL names the entity created by the change
set operation with Content-ID n. A batch is one request for throttling (its latency and its concurrency slot are
the request's), while each operation inside takes its own time (`operation_delay_ms`), spent before a change set
takes the store lock so concurrent batches wait for each other no longer than F&O's would; its operations are
counted in the `batch_operations` stat.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from connectors.emulators.finops.api import execute
from connectors.emulators.finops.errors import ODATA_VERSION, bad_request
from connectors.emulators.odata.batch import (
    BatchFormatError,
    BatchOperation,
    ChangeSet,
    OperationResult,
    parse_batch,
    render_batch_response,
    resolve_content_id_reference,
)
from connectors.emulators.odata.errors import ODataQueryError
from connectors.emulators.server import Headers, Request, Response

if TYPE_CHECKING:
    from connectors.emulators.finops.app import FinOpsEmulator

MAX_OPERATIONS = 5000  # "can contain up to 5000 operations" (FO service protection doc)
Operations = Callable[[int], AbstractContextManager[None]]  # n operations' time, as one block


class _ChangeSetFailed(Exception):
    def __init__(self, result: OperationResult):
        super().__init__(result.status)
        self.result = result


def handle_batch(app: FinOpsEmulator, request: Request, operations: Operations) -> Response:
    if request.method != "POST":
        return bad_request("The $batch endpoint only accepts POST.")
    try:
        items = parse_batch(request.headers.get("Content-Type") or "", request.body)
    except BatchFormatError as exc:
        return bad_request(exc.message)
    total = sum(len(item.operations) if isinstance(item, ChangeSet) else 1 for item in items)
    if total > MAX_OPERATIONS:
        return bad_request(f"The batch holds {total} operations; at most {MAX_OPERATIONS} are allowed.")
    app.stats.count("batch_operations", total)
    results: list[OperationResult | list[OperationResult]] = []
    for item in items:
        if isinstance(item, ChangeSet):
            with operations(len(item.operations)):
                results.append(_change_set(app, item))
        else:
            with operations(1):
                results.append(_operation(app, item, {}))
    content_type, body = render_batch_response(results)
    return Response(200, body, [("Content-Type", content_type), ODATA_VERSION])


def _change_set(app: FinOpsEmulator, change_set: ChangeSet) -> list[OperationResult]:
    created: dict[str, str] = {}
    results: list[OperationResult] = []
    try:
        with app.store.transaction():
            for operation in change_set.operations:
                if operation.method == "GET":
                    response = bad_request("A change set cannot contain a GET request.")
                    raise _ChangeSetFailed(_result(response, operation))
                result = _operation(app, operation, created)
                if result.status >= 400:
                    raise _ChangeSetFailed(result)
                location = next((value for name, value in result.headers if name == "Location"), None)
                if operation.content_id and location:
                    created[operation.content_id] = location
                results.append(result)
    except _ChangeSetFailed as failure:
        return [failure.result]
    return results


def _operation(app: FinOpsEmulator, operation: BatchOperation, created: dict[str, str]) -> OperationResult:
    try:
        url = resolve_content_id_reference(operation.url, created)
    except ODataQueryError as exc:
        return _result(bad_request(exc.message), operation)
    inner = Request(operation.method, _target(app, url), Headers(operation.headers.items()), operation.body)
    return _result(execute(app, inner), operation)


def _target(app: FinOpsEmulator, url: str) -> str:
    """A part's URL (absolute, rooted or relative to the service root) as a request target."""
    if "://" in url:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url if url.startswith("/") else app.api_root + url


def _result(response: Response, operation: BatchOperation) -> OperationResult:
    headers = [(name, value) for name, value in response.headers if name.lower() != "content-length"]
    return OperationResult(response.status, headers, response.body, operation.content_id)
