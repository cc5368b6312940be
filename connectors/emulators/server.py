"""A threaded HTTPS server for the emulators, with the small request/response types their apps work on.

Built on the standard library so the emulators need nothing but `cryptography` (for their certificate). TLS
handshakes run in each connection's own thread, keep-alive is on (clients pool connections, as they do against
Microsoft), and Nagle is off (without it every response stalls ~40 ms on loopback).
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024


class Headers:
    """Case-insensitive, single-valued request headers."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        self._items = {name.lower(): value for name, value in items}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._items.get(name.lower(), default)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._items

    def items(self):
        return self._items.items()


@dataclass
class Request:
    method: str
    target: str  # the request target exactly as sent: path and query, still percent-encoded
    headers: Headers
    body: bytes = b""
    client_address: str = "127.0.0.1"

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def query_string(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def json(self) -> object:
        """The body as JSON; raises ValueError with a readable message when it is not."""
        if not self.body.strip():
            raise ValueError("The request body is empty; a JSON object was expected.")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"The request body is not valid JSON: {exc}") from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(status: int, payload: object, headers: Iterable[tuple[str, str]] = (),
                  content_type: str = "application/json; odata.metadata=minimal") -> Response:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    return Response(status, body, [("Content-Type", content_type), *headers])


def text_response(status: int, text: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, text.encode(), [("Content-Type", "text/plain; charset=utf-8"), *headers])


def empty_response(status: int = 204, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, b"", list(headers))


App = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60  # an idle keep-alive connection gives its thread back after this
    server_version = "p2c-emulator"
    sys_version = ""
    # A malformed request line still gets an HTTP/1.1 status line and a JSON body, never an HTML page.
    default_request_version = "HTTP/1.1"
    error_content_type = "application/json"
    error_message_format = '{"error":{"code":"","message":"%(message)s: %(explain)s"}}'

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def __getattr__(self, name: str):
        # BaseHTTPRequestHandler dispatches to do_<METHOD>; every method goes to one place.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            self._send(text_response(400, str(exc)))
            self.close_connection = True
            return
        request = Request(self.command, self.path, Headers(self.headers.items()), body, self.client_address[0])
        try:
            response = self.server.app(request)
        except Exception:
            # The app renders its own API errors; this is the last line, so the server keeps serving.
            log.exception("emulator failed on %s %s", self.command, self.path)
            response = json_response(500, {"error": {"code": "", "message": "An unexpected error occurred."}})
        self._send(response)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise ValueError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response) -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        self.send_response_only(response.status, reason)
        self.send_header("Date", self.date_time_string())
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status != 304:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD" and response.status != 304:
            self.wfile.write(response.body)
        self.wfile.flush()

    def log_message(self, format: str, *args) -> None:
        log.debug("%s " + format, self.client_address[0], *args)


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App, context: ssl.SSLContext):
        self.app = app
        self.context = context
        super().__init__(address, _Handler)

    def finish_request(self, request: socket.socket, client_address) -> None:
        # Handshake in this connection's thread, so one slow client never stalls accept().
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request, client_address) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class EmulatorServer:
    """Serves one app over HTTPS on 127.0.0.1 from a background thread; usable as a context manager."""

    def __init__(self, app: App, *, certfile: Path, keyfile: Path, host: str = "127.0.0.1", port: int = 0):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(certfile), str(keyfile))
        self._server = _TLSServer((host, port), app, context)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
