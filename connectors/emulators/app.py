"""What both emulators share: Entra ID endpoints, the control API, and the protection pipeline around the API.

A concrete emulator (Dataverse, F&O) subclasses EmulatorApp and supplies its API, its error bodies and its data.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import ClassVar

from connectors.emulators.identity import AuthError, Identity
from connectors.emulators.protection import EmulatorConfig, Protection, Rejection, Stats
from connectors.emulators.server import Request, Response, json_response
from connectors.emulators.store import Store

DEFAULT_CLIENT_ID = "p2c-emulator"
DEFAULT_CLIENT_SECRET = "emulator-secret"  # noqa: S105 - a documented default of a local test server


class EmulatorApp:
    """One emulated Microsoft service behind one origin (scheme, host and port)."""

    name: ClassVar[str]
    api_root: ClassVar[str]  # e.g. "/api/data/v9.2/"
    # Whether the service limits combined execution time (Dataverse does; F&O documents no such limit).
    limits_execution_time: ClassVar[bool] = False
    # Whether handle_api charges each operation itself (a `$batch` holds many); otherwise a request is one.
    counts_operations: ClassVar[bool] = False

    def __init__(self, *, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET):
        self.origin = "https://127.0.0.1"
        self.store = Store()
        self.config = EmulatorConfig()
        self.stats = Stats()
        self.protection = Protection(self.config, self.stats)
        self.identity = Identity(client_id=client_id, client_secret=client_secret, resource=self.origin)
        self._control_lock = threading.Lock()
        self.reset()

    def bind(self, origin: str) -> None:
        """Called once the server knows its port: URLs in responses and token audiences use the origin."""
        self.origin = origin
        self.identity.resource = origin

    @property
    def api_url(self) -> str:
        return self.origin + self.api_root

    # --- what a concrete emulator provides ----------------------------------------------------------------
    def reset(self) -> None:
        """Empty every entity set, then create the reference data."""
        raise NotImplementedError

    def seed(self, counts: dict[str, int], seed: int) -> dict[str, int]:
        """Create realistic records, deterministic for `seed`; return how many were created per entity set."""
        raise NotImplementedError

    def handle_api(self, request: Request, client: str) -> Response:
        raise NotImplementedError

    def error(self, status: int, code: str, message: str) -> Response:
        """The API's own error body."""
        raise NotImplementedError

    def throttled(self, rejection: Rejection) -> Response:
        raise NotImplementedError

    def unauthorized(self, error: AuthError) -> Response:
        raise NotImplementedError

    def audience_ok(self, audience: str) -> bool:
        raise NotImplementedError

    def extra_control(self, request: Request, action: str, body: dict) -> Response | None:
        """A control action of this emulator's own (None: not one of its own)."""
        return None

    def stats_key(self, request: Request) -> str:
        """The entity set a request is counted under in the stats."""
        rest = request.path[len(self.api_root):]
        for stop in "(/?":
            rest = rest.split(stop, 1)[0]
        return rest or "(service root)"

    # --- routing ------------------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        path = request.path
        if path.startswith(self.api_root):
            return self._api(request)
        if path.startswith("/_emulator/"):
            return self._control(request, path[len("/_emulator/"):].strip("/"))
        parts = path.strip("/").split("/")
        if request.method == "POST" and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            response = self.identity.token(request, self.origin, parts[0])
            if response.status == 200:
                self.stats.count("tokens_issued")
            return response
        if request.method == "GET" and len(parts) == 4 and parts[1:] == ["v2.0", ".well-known",
                                                                         "openid-configuration"]:
            return self.identity.openid_configuration(self.origin, parts[0])
        return self.error(404, "", f"Resource not found for the segment '{path}'.")

    def _api(self, request: Request) -> Response:
        entity_set = self.stats_key(request)
        try:
            claims = self.identity.authenticate(request.headers.get("Authorization"))
            if not self.audience_ok(claims["aud"]):
                raise AuthError("audience", f"The token's audience '{claims['aud']}' is not this environment.",
                                claims.get("tid"))
        except AuthError as exc:
            self.stats.count("unauthorized")
            response = self.unauthorized(exc)
            self.stats.record(request.method, entity_set, response.status, None)
            return response
        client = claims["appid"]
        with self.protection.admit(client) as rejection:
            if rejection:
                response = self.throttled(rejection)
            else:
                self.protection.delay()
                fault = self.protection.injected_fault()
                if fault == 503:
                    response = self.error(503, "", "The service is temporarily unavailable. Please try again later.")
                elif fault == 500:
                    response = self.error(500, "0x80040216", "An unexpected error occurred.")
                elif self.counts_operations:
                    response = self.handle_api(request, client)
                else:
                    with self.protection.operation(client):
                        response = self.handle_api(request, client)
        self.stats.record(request.method, entity_set, response.status, client)
        return response

    # --- control API: no token, JSON in and out ----------------------------------------------------------
    def _control(self, request: Request, action: str) -> Response:
        try:
            body = request.json() if request.body.strip() else {}
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})
        if not isinstance(body, dict):
            return json_response(400, {"error": "the body must be a JSON object"})
        own = self.extra_control(request, action, body)
        if own is not None:
            return own
        with self._control_lock:
            if (request.method, action) == ("POST", "reset"):
                with self.store.lock:
                    self.reset()
                self.stats.reset()
                self.protection.reset()
                return json_response(200, {"reset": True})
            if (request.method, action) == ("POST", "seed"):
                return self._seed(body)
            if (request.method, action) == ("GET", "config"):
                return json_response(200, self._config_view())
            if (request.method, action) == ("PUT", "config"):
                if body.get("execution_time") is not None and not self.limits_execution_time:
                    return json_response(400, {"error": f"execution_time: {self.name} has no combined "
                                                        "execution-time limit"})
                try:
                    self.config.update(body)
                except ValueError as exc:
                    return json_response(400, {"error": str(exc)})
                self.identity.token_ttl_s = self.config.token_ttl_s
                if body.get("revoke_tokens") is True:
                    self.identity.revoke_all()
                return json_response(200, self._config_view())
            if action == "clients":
                return self._clients(request, body)
            if (request.method, action) == ("GET", "stats"):
                return json_response(200, self.stats.snapshot())
            if (request.method, action) == ("DELETE", "stats"):
                self.stats.reset()
                return json_response(200, self.stats.snapshot())
        return json_response(404, {"error": f"no control action {request.method} /_emulator/{action}"})

    def _clients(self, request: Request, body: dict) -> Response:
        """The registered applications: `POST {"client_id", "client_secret"}` adds one (an application user of
        its own, with its own limits), `DELETE` keeps only the first, `GET` lists their ids (never a secret)."""
        if request.method == "POST":
            try:
                self.identity.register_client(body.get("client_id") or "", body.get("client_secret") or "")
            except ValueError as exc:
                return json_response(400, {"error": str(exc)})
        elif request.method == "DELETE":
            self.identity.forget_clients()
        elif request.method != "GET":
            return json_response(405, {"error": f"{request.method} /_emulator/clients is not supported"})
        return json_response(200, {"client_ids": self.identity.client_ids})

    def _seed(self, body: dict) -> Response:
        counts = {key: value for key, value in body.items() if key != "seed"}
        seed = body.get("seed", 1)
        if not isinstance(seed, int) or isinstance(seed, bool):
            return json_response(400, {"error": "seed must be an integer"})
        for key, value in counts.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return json_response(400, {"error": f"the count for '{key}' must be an integer >= 0"})
        try:
            with self.store.lock:
                created = self.seed(counts, seed)
        except KeyError as exc:
            return json_response(400, {"error": f"cannot seed unknown entity set {exc}"})
        return json_response(200, {"created": created, "seed": seed})

    def _config_view(self) -> dict:
        return {**asdict(self.config), "revoke_tokens": False}
