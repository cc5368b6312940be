"""The Dataverse Web API emulator (Dynamics 365 Sales) at `/api/data/v9.2/`: the shared core's token, control and
protection pipeline around this package's handlers, with Dataverse's 401, 429 and error bodies, and its own control
actions `environment` (alternate keys and change tracking, see environment.py), `webhooks` and `price-list-items`
(price_list_items.py).
"""

from __future__ import annotations

import uuid
from urllib.parse import unquote, urlsplit

from connectors.emulators.app import EmulatorApp
from connectors.emulators.dataverse import price_list_items
from connectors.emulators.dataverse.batch import handle_batch
from connectors.emulators.dataverse.environment import Environment
from connectors.emulators.dataverse.errors import DataverseError, error_response
from connectors.emulators.dataverse.handlers import Handlers, Outcome
from connectors.emulators.dataverse.records import Records
from connectors.emulators.dataverse.reference_data import ReferenceIds, create_reference_data
from connectors.emulators.dataverse.seed import Seeder
from connectors.emulators.dataverse.webhooks import ObservedRecords, WebhookSender
from connectors.emulators.dataverse.writes import Numbering, Writer
from connectors.emulators.identity import AuthError
from connectors.emulators.odata.errors import ODataQueryError
from connectors.emulators.protection import Rejection
from connectors.emulators.server import Request, Response, empty_response, json_response


class DataverseEmulator(EmulatorApp):
    name = "dataverse"
    api_root = "/api/data/v9.2/"
    limits_execution_time = True
    counts_operations = True

    # --- data --------------------------------------------------------------------------------------------
    def reset(self) -> None:
        if not hasattr(self, "records"):
            # Webhooks (webhooks.py) hear of every row written through these records.
            self.webhooks = WebhookSender(store=self.store, stats=self.stats,
                                          organization=lambda: urlsplit(self.origin).netloc,
                                          business_unit=lambda: self.ids.root_business_unit)
            self.records: Records = ObservedRecords(self.store, self.webhooks.capture)
            self.webhooks.records = self.records
        with self.store.lock, self.webhooks.paused():
            self.store.clear()
            self.records.configure(Environment())
            self.numbering = Numbering()
            self.ids: ReferenceIds = create_reference_data(self.records)
            self.writer = Writer(self.records, self.numbering, self.ids.root_business_unit)
            self.seed_rounds = 0
        self.webhooks.clear()

    def seed(self, counts: dict[str, int], seed: int) -> dict[str, int]:
        with self.store.lock, self.webhooks.paused():
            self.seed_rounds += 1
            return Seeder(self.records, self.ids, self.numbering, seed, self.seed_rounds).run(counts)

    # --- the API -----------------------------------------------------------------------------------------
    def handle_api(self, request: Request, client: str) -> Response:
        def operation(inner: Request, references: dict[str, str]) -> Outcome:
            with self.protection.operation(client):  # each part of a $batch counts its own execution time
                return self._run(inner, references)

        try:
            if unquote(request.raw_path[len(self.api_root):]) == "$batch":
                if request.method != "POST":
                    return self.error(405, "0x80060888", "The requested resource does not support http method "
                                      f"'{request.method}'.")
                return handle_batch(request, api_root=self.api_root, store=self.store, stats=self.stats,
                                    run=operation)
            return operation(request, {}).response
        finally:
            self.webhooks.flush()  # what this request committed goes out now, from the sender's thread

    def extra_control(self, request: Request, action: str, body: dict) -> Response | None:
        if action == "webhooks":
            return self.webhooks.control(request, body)
        if action == "environment":
            return self._environment(request, body)
        if action == "price-list-items":
            response = price_list_items.control(self.records, request, body)
            self.webhooks.flush()
            return response
        return None

    def _environment(self, request: Request, body: dict) -> Response:
        """`GET` the environment's alternate keys and change tracking, `PUT` a partial change (see environment.py)."""
        if request.method == "PUT":
            try:
                changed = self.records.environment.changed(body)
            except ValueError as exc:
                return json_response(400, {"error": str(exc)})
            self.records.configure(changed)
        elif request.method != "GET":
            return json_response(405, {"error": f"{request.method} /_emulator/environment is not supported"})
        return json_response(200, self.records.environment.view())

    def _run(self, request: Request, references: dict[str, str]) -> Outcome:
        """One request (top-level or inside a batch), with every refusal rendered as Dataverse's error body."""
        handlers = Handlers(self.records, self.writer, self.api_url, self.ids.root_business_unit,
                            str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.api_url}systemuser")))
        path = request.raw_path
        if not path.startswith(self.api_root):
            return Outcome(self.error(404, "0x8006088a", f"Resource not found for the segment '{path}'."))
        try:
            return handlers.handle(request, path[len(self.api_root):], references)
        except DataverseError as exc:
            return Outcome(error_response(exc.status, exc.code, exc.message, exc.headers))
        except ODataQueryError as exc:
            return Outcome(error_response(400, "0x80060888", exc.message))

    def error(self, status: int, code: str, message: str) -> Response:
        return error_response(status, code, message)

    def throttled(self, rejection: Rejection) -> Response:
        """The three service protection errors of api-limits.md, with the configured limits in their messages."""
        if rejection.kind == "concurrency":
            code, message = "0x80072326", f"Number of concurrent requests exceeded the limit of {rejection.limit}."
        elif rejection.kind == "execution":
            code = "0x80072321"
            message = (f"Combined execution time of incoming requests exceeded limit of {rejection.limit:,} "
                       f"milliseconds over time window of {rejection.window_s:g} seconds. Decrease number of "
                       "concurrent requests or reduce the duration of requests and try again later.")
        else:
            window = f"{rejection.window_s:g}"
            code = "0x80072322"
            message = (f"Number of requests exceeded the limit of {rejection.limit} over time window of {window} "
                       "seconds.")
        return error_response(429, code, message, [("Retry-After", str(rejection.retry_after))])

    def unauthorized(self, error: AuthError) -> Response:
        """401 with an empty body and the challenge clients read the tenant from (assumption: the empty body)."""
        tenant = error.tenant or "common"
        challenge = f"Bearer authorization_uri={self.origin}/{tenant}/oauth2/authorize, resource_id={self.origin}/"
        return empty_response(401, [("WWW-Authenticate", challenge), ("OData-Version", "4.0")])

    def audience_ok(self, audience: str) -> bool:
        """Dataverse accepts its URL as audience whatever the case, with or without a trailing slash."""
        return audience.rstrip("/").lower() == self.origin.rstrip("/").lower()
