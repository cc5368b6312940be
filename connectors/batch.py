"""OData 4.0 `$batch` in its multipart/mixed form: build a request, parse a response, match them up.

A batch can answer 200 while parts failed (F&O always, Dataverse with continue-on-error), or answer with the
first failure's status and stop (Dataverse without it), so every part, nested change sets included, is read
and each operation gets its own outcome.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict

from connectors.errors import ConnectorError, NotExecutedError

CRLF = "\r\n"


@dataclass(frozen=True)
class Operation:
    """One OData request, sent alone or inside a batch. `url` is absolute, or a `$<content-id>` reference within
    a change set; `key_fields` name the fields that identify the written record in the response."""

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_id: str | None = None
    entity_set: str = ""
    key: Any = None
    key_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangeSet:
    """Operations that succeed or fail together; no GET allowed."""

    operations: tuple[Operation, ...]

    def __post_init__(self) -> None:
        if any(op.method.upper() == "GET" for op in self.operations):
            raise ValueError("a change set cannot hold a GET")


Part = Operation | ChangeSet


@dataclass(frozen=True)
class PartResponse:
    status: int
    headers: CaseInsensitiveDict
    body: Any  # parsed JSON, text, or None when empty
    content_id: str | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one operation. `status` is None when the service sent no response for it: with an
    error, it did not run (or its fate is unknown); without one, it ran before a failure that stopped the batch."""

    operation: Operation
    status: int | None
    headers: Mapping[str, str]
    body: Any
    error: ConnectorError | None

    @property
    def ok(self) -> bool:
        return self.error is None


def one_change_set_each(operations: Sequence[Operation]) -> list[ChangeSet]:
    """Each operation in a change set of its own: atomic alone, so its failure rolls back nothing else."""
    return [ChangeSet((operation,)) for operation in operations]


def operations_in(parts: Sequence[Part]) -> Iterator[Operation]:
    for part in parts:
        yield from part.operations if isinstance(part, ChangeSet) else (part,)


def encode_batch(parts: Sequence[Part]) -> tuple[str, bytes, list[Part]]:
    """(Content-Type, body, the parts as sent): change-set operations without a Content-ID get one, so their
    responses can be matched to them."""
    used = {op.content_id for op in operations_in(parts) if op.content_id}
    counter = iter(str(n) for n in range(1, 10**9) if str(n) not in used)
    sent: list[Part] = []
    for part in parts:
        if isinstance(part, ChangeSet):
            part = ChangeSet(tuple(op if op.content_id else _with_content_id(op, next(counter))
                                   for op in part.operations))
        sent.append(part)
    boundary = f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    for part in sent:
        lines.append(f"--{boundary}")
        if isinstance(part, ChangeSet):
            changeset = f"changeset_{uuid.uuid4()}"
            lines += [f"Content-Type: multipart/mixed; boundary={changeset}", ""]
            for op in part.operations:
                lines += [f"--{changeset}", *_encode_operation(op)]
            lines.append(f"--{changeset}--")
        else:
            lines += _encode_operation(part)
    lines += [f"--{boundary}--", ""]
    return f"multipart/mixed; boundary={boundary}", CRLF.join(lines).encode(), sent


def _with_content_id(op: Operation, content_id: str) -> Operation:
    return dataclasses.replace(op, content_id=content_id)


def _encode_operation(op: Operation) -> list[str]:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if op.content_id:
        lines.append(f"Content-ID: {op.content_id}")
    lines += ["", f"{op.method.upper()} {op.url} HTTP/1.1", "Accept: application/json"]
    lines += [f"{name}: {value}" for name, value in op.headers.items()]
    if op.body is None:
        return [*lines, "", ""]
    body = json.dumps(op.body, separators=(",", ":"), ensure_ascii=False)
    return [*lines, "Content-Type: application/json; type=entry", "", body]


def decode_batch(content_type: str, body: bytes) -> list[PartResponse | list[PartResponse]]:
    """The responses of a batch in order; a change set's responses come as a nested list."""
    result: list[PartResponse | list[PartResponse]] = []
    for part in _split(body, _boundary(content_type)):
        headers, content = _split_head(part)
        part_type = headers.get("Content-Type", "")
        if part_type.lower().startswith("multipart/mixed"):
            result.append([r for r in decode_batch(part_type, content) if isinstance(r, PartResponse)])
        else:
            result.append(_decode_http_response(content, headers.get("Content-ID")))
    return result


def match_outcomes(parts: Sequence[Part], responses: Sequence[PartResponse | list[PartResponse]],
                   classify: Callable[..., ConnectorError], *, stopped: bool = False) -> list[BatchOutcome]:
    """One outcome per operation, in request order. Responses come in request order; a batch that `stopped` at
    a failure sends none for the parts after it, and Dataverse sends the failure alone: then only a Content-ID
    tells which part failed (the parts before it ran; their outcomes have no status)."""
    if stopped and len(responses) == 1 and len(parts) > 1:
        index = _named_part(parts, responses[0])
        if index is None:
            return _unattributed(parts, responses[0], classify)
        ran = [BatchOutcome(op, None, {}, None, None) for op in operations_in(parts[:index])]
        return ran + match_outcomes(parts[index:], responses, classify)
    outcomes: list[BatchOutcome] = []
    remaining = iter(responses)
    for part in parts:
        response = next(remaining, None)
        if isinstance(part, ChangeSet):
            outcomes += _changeset_outcomes(part, response, classify)
        elif isinstance(response, PartResponse):
            outcomes.append(_outcome(part, response, classify))
        else:
            outcomes.append(_not_run(part, "an earlier operation of the batch failed"))
    return outcomes


def _named_part(parts: Sequence[Part], failure: PartResponse | list[PartResponse]) -> int | None:
    """The index of the part whose operation carries the failure's Content-ID, if it has one."""
    content_id = (failure[0] if isinstance(failure, list) else failure).content_id
    for index, part in enumerate(parts):
        if content_id is not None and content_id in {op.content_id for op in operations_in([part])}:
            return index
    return None


def _unattributed(parts: Sequence[Part], failure: PartResponse | list[PartResponse],
                  classify: Callable[..., ConnectorError]) -> list[BatchOutcome]:
    failed = failure[0] if isinstance(failure, list) else failure
    message = classify(failed.status, failed.headers, failed.body).message
    why = (f"the batch stopped at a failure it did not attribute to an operation (HTTP {failed.status}: "
           f"{message}); operations before it ran, so send this one again to learn its outcome")
    return [_not_run(op, why) for op in operations_in(parts)]


def _changeset_outcomes(changeset: ChangeSet, response: PartResponse | list[PartResponse] | None,
                        classify: Callable[..., ConnectorError]) -> list[BatchOutcome]:
    ops = changeset.operations
    if response is None:
        return [_not_run(op, "an earlier operation of the batch failed") for op in ops]
    responses = response if isinstance(response, list) else [response]
    by_id = {r.content_id: r for r in responses if r.content_id}
    failures = [r for r in responses if r.status >= 400]
    if not failures:
        matched = [by_id.get(op.content_id) or (responses[i] if i < len(responses) else None)
                   for i, op in enumerate(ops)]
        return [_outcome(op, r, classify) if r else _not_run(op, "the service sent no response for it")
                for op, r in zip(ops, matched, strict=True)]
    # The change set was rolled back: the failing operation gets its error, the others were undone with it.
    failed = {r.content_id: r for r in failures if r.content_id}
    named = any(op.content_id in failed for op in ops)
    outcomes = []
    for op in ops:
        if op.content_id in failed:
            outcomes.append(_outcome(op, failed[op.content_id], classify))
        elif named:
            outcomes.append(_not_run(op, f"its change set was rolled back (HTTP {failures[0].status} on "
                                         "another operation)"))
        else:  # the service did not say which operation failed: the error is the change set's as a whole
            outcomes.append(_outcome(op, failures[0], classify))
    return outcomes


def _outcome(op: Operation, response: PartResponse, classify: Callable[..., ConnectorError]) -> BatchOutcome:
    error = None
    if response.status >= 400:
        error = classify(response.status, response.headers, response.body, entity_set=op.entity_set, key=op.key)
    return BatchOutcome(op, response.status, response.headers, response.body, error)


def _not_run(op: Operation, why: str) -> BatchOutcome:
    return BatchOutcome(op, None, {}, None, NotExecutedError(f"Not run: {why}", entity_set=op.entity_set,
                                                             key=op.key))


def _boundary(content_type: str) -> str:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "boundary":
            return value.strip().strip('"')
    raise ValueError(f"no boundary in Content-Type {content_type!r}")


def _split(body: bytes, boundary: str) -> Iterator[bytes]:
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):  # the close delimiter
            return
        yield chunk.removeprefix(b"\r\n").removeprefix(b"\n")


def _split_head(data: bytes) -> tuple[CaseInsensitiveDict, bytes]:
    """MIME or HTTP headers up to the first empty line, and what follows; CRLF or bare LF."""
    headers: CaseInsensitiveDict = CaseInsensitiveDict()
    rest = data
    while rest:
        line, sep, rest = rest.partition(b"\n")
        line = line.rstrip(b"\r")
        if not line:
            return headers, rest
        name, _, value = line.decode("utf-8", "replace").partition(":")
        headers[name.strip()] = value.strip()
        if not sep:
            break
    return headers, b""


def _decode_http_response(data: bytes, content_id: str | None) -> PartResponse:
    status_line, _, rest = data.partition(b"\n")
    fields = status_line.decode("latin-1").split()
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise ValueError(f"not an HTTP response in a batch part: {status_line[:80]!r}")
    headers, content = _split_head(rest)
    content = content.rstrip(b"\r\n")
    body: Any = None
    if content:
        text = content.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    return PartResponse(int(fields[1]), headers, body, content_id or headers.get("Content-ID"))
