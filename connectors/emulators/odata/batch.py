"""OData 4.0 multipart `$batch`: split a request into operations and change sets, render the multipart response.

Parsed by hand on bytes, so bodies and line endings stay exactly as sent (the `email` package rewrites both).
The line break before a delimiter belongs to the delimiter (RFC 2046), so a part's body never gains one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

from connectors.emulators.odata.errors import ODataQueryError


class BatchFormatError(ODataQueryError):
    """The `$batch` body or its Content-Type is not a well-formed OData 4.0 multipart batch."""


@dataclass
class BatchOperation:
    """One request inside a batch; `url` is as written (absolute, a path, or a `$1` reference)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_id: str | None = None


@dataclass
class ChangeSet:
    """Operations that succeed or fail together."""

    operations: list[BatchOperation]


@dataclass
class OperationResult:
    """The response to one operation; `content_id` is echoed in its part, as change-set responses must."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    content_id: str | None = None


_PARAMETER = re.compile(r';\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]\Z")
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+\Z")
_REQUEST_LINE = re.compile(r"([A-Z]+) (\S+) HTTP/1\.[01]\Z")
_IDENTITY_ENCODINGS = frozenset({"binary", "8bit", "7bit"})
_RESERVED_SEGMENTS = frozenset({"metadata", "batch", "ref", "count", "value", "entity", "crossjoin", "all", "root"})


def parse_batch(content_type: str, body: bytes) -> list[BatchOperation | ChangeSet]:
    """The operations and change sets of a `$batch` request, in order."""
    items: list[BatchOperation | ChangeSet] = []
    for number, part in enumerate(_split(content_type, body, "Batch"), start=1):
        where = f"Batch part {number}"
        headers, content = _head(part, where)
        media_type = headers.get("content-type", "")
        if _media_type(media_type) == "multipart/mixed":
            items.append(_change_set(media_type, content, where))
        else:
            items.append(_operation(headers, content, where))
    return items


def _change_set(content_type: str, body: bytes, where: str) -> ChangeSet:
    operations: list[BatchOperation] = []
    for number, part in enumerate(_split(content_type, body, f"{where} (a change set)"), start=1):
        inner = f"{where}, change set part {number}"
        headers, content = _head(part, inner)
        if _media_type(headers.get("content-type", "")) == "multipart/mixed":
            raise BatchFormatError(f"{inner}: a change set cannot contain another change set.")
        operation = _operation(headers, content, inner)
        if operation.content_id is not None and any(op.content_id == operation.content_id for op in operations):
            raise BatchFormatError(f"{inner}: Content-ID '{operation.content_id}' is used twice in the change set.")
        operations.append(operation)
    return ChangeSet(operations)


def _operation(part_headers: dict[str, str], content: bytes, where: str) -> BatchOperation:
    media_type = part_headers.get("content-type", "")
    if _media_type(media_type) != "application/http":
        raise BatchFormatError(f"{where}: the Content-Type is '{media_type}'; expected application/http.")
    encoding = part_headers.get("content-transfer-encoding", "binary").strip().lower()
    if encoding not in _IDENTITY_ENCODINGS:
        raise BatchFormatError(f"{where}: Content-Transfer-Encoding '{encoding}' is not supported; use binary.")
    lines, body = _lines_until_blank(content.lstrip(b"\r\n"))
    if not lines:
        raise BatchFormatError(f"{where}: the request line is missing.")
    request_line = _text(lines[0], where)
    match = _REQUEST_LINE.match(request_line)
    if match is None:
        raise BatchFormatError(f"{where}: '{request_line}' is not a request line (METHOD URL HTTP/1.1).")
    headers = _headers(lines[1:], where)
    if "content-length" in headers:
        body = _cut(body, headers["content-length"], where)
    content_id = part_headers.get("content-id") or headers.get("content-id")
    return BatchOperation(match.group(1), match.group(2), headers, body, content_id)


def _cut(body: bytes, content_length: str, where: str) -> bytes:
    if not content_length.strip().isdigit():
        raise BatchFormatError(f"{where}: Content-Length '{content_length}' is not a number.")
    length = int(content_length)
    if len(body) < length:
        raise BatchFormatError(f"{where}: the body is shorter than its Content-Length ({len(body)} < {length}).")
    return body[:length]


def _media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def _boundary(content_type: str, where: str) -> bytes:
    if _media_type(content_type) != "multipart/mixed":
        raise BatchFormatError(f"{where}: the Content-Type must be multipart/mixed; got '{content_type}'.")
    parameters = {
        name.lower(): value[1:-1].replace('\\"', '"') if value.startswith('"') else value
        for name, value in _PARAMETER.findall(content_type)
    }
    boundary = parameters.get("boundary")
    if boundary is None:
        raise BatchFormatError(f"{where}: the Content-Type has no boundary parameter: '{content_type}'.")
    if not _BOUNDARY.match(boundary):
        raise BatchFormatError(f"{where}: the boundary '{boundary}' is not a valid multipart boundary.")
    return boundary.encode("ascii")


def _split(content_type: str, body: bytes, where: str) -> list[bytes]:
    """The parts between `--boundary` lines, up to `--boundary--`; the preamble and epilogue are dropped."""
    delimiter = b"--" + _boundary(content_type, where)
    parts: list[bytes] = []
    current: list[bytes] | None = None
    for line in _lines(body):
        marker = line.removesuffix(b"\n").removesuffix(b"\r").rstrip(b" \t")
        if marker not in (delimiter, delimiter + b"--"):
            if current is not None:
                current.append(line)
            continue
        if current is not None:
            parts.append(_without_final_break(b"".join(current)))
        if marker != delimiter:
            break
        current = []
    else:
        if current is None:
            raise BatchFormatError(f"{where}: no line is '{delimiter.decode()}', so there is no part.")
        raise BatchFormatError(f"{where}: the body does not end with '{delimiter.decode()}--'.")
    if not parts:
        raise BatchFormatError(f"{where}: there are no parts.")
    return parts


def _lines(body: bytes) -> list[bytes]:
    """Lines ending in LF (or CRLF), kept whole; unlike bytes.splitlines a lone CR inside a body is not a break."""
    lines = [line + b"\n" for line in body.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return lines


def _without_final_break(part: bytes) -> bytes:
    if part.endswith(b"\r\n"):
        return part[:-2]
    return part[:-1] if part.endswith(b"\n") else part


def _lines_until_blank(data: bytes) -> tuple[list[bytes], bytes]:
    """The lines before the first empty one (CRLF or LF), and the exact bytes after it."""
    lines: list[bytes] = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end == -1 else end
        line = data[pos:end].removesuffix(b"\r")
        pos = end + 1
        if not line:
            return lines, data[pos:]
        lines.append(line)
    return lines, b""


def _head(part: bytes, where: str) -> tuple[dict[str, str], bytes]:
    lines, content = _lines_until_blank(part)
    return _headers(lines, where), content


def _headers(lines: list[bytes], where: str) -> dict[str, str]:
    """Header fields with lowercased names; a folded line continues the previous value, repeats are joined."""
    headers: dict[str, str] = {}
    last = None
    for raw in lines:
        line = _text(raw, where)
        if line[:1] in (" ", "\t") and last is not None:
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.match(name):
            raise BatchFormatError(f"{where}: '{line}' is not a header line.")
        last = name.lower()
        headers[last] = f"{headers[last]}, {value.strip()}" if last in headers else value.strip()
    return headers


def _text(line: bytes, where: str) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise BatchFormatError(f"{where}: a request or header line is not valid UTF-8.") from None


def render_batch_response(items: list[OperationResult | list[OperationResult]]) -> tuple[str, bytes]:
    """The Content-Type and body of a `$batch` response; a list of results is one change set's responses."""
    boundary = f"batchresponse_{uuid.uuid4()}"
    out: list[bytes] = []
    for item in items:
        out.append(f"--{boundary}\r\n".encode())
        if isinstance(item, OperationResult):
            out += [_render_part(item), b"\r\n"]
            continue
        change_set = f"changesetresponse_{uuid.uuid4()}"
        out.append(f"Content-Type: multipart/mixed; boundary={change_set}\r\n\r\n".encode())
        for result in item:
            out += [f"--{change_set}\r\n".encode(), _render_part(result), b"\r\n"]
        out.append(f"--{change_set}--\r\n".encode())
    out.append(f"--{boundary}--\r\n".encode())
    return f"multipart/mixed; boundary={boundary}", b"".join(out)


def _render_part(result: OperationResult) -> bytes:
    try:
        reason = HTTPStatus(result.status).phrase
    except ValueError:
        reason = "Unknown"
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if result.content_id is not None:
        head.append(f"Content-ID: {result.content_id}")
    head += ["", f"HTTP/1.1 {result.status} {reason}", *(f"{name}: {value}" for name, value in result.headers)]
    for line in head:
        if "\r" in line or "\n" in line:
            raise ValueError(f"a response header may not contain a line break: {line!r}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + result.body


def resolve_content_id_reference(url_or_value: str, created: Mapping[str, str]) -> str:
    """Replace a leading `$n` (in a URL or an `@odata.bind` value) with the URL of the entity that the part with
    Content-ID n created; `created` holds only the Content-IDs declared before this part.
    """
    match = re.match(r"\$([A-Za-z0-9_.~-]+)(?=[/?]|\Z)", url_or_value)
    if match is None:
        return url_or_value
    content_id = match.group(1)
    if content_id in created:
        return created[content_id] + url_or_value[match.end():]
    if content_id in _RESERVED_SEGMENTS:
        return url_or_value
    raise ODataQueryError(f"Content-ID Reference: '${content_id}' does not exist in the batch context.")
