"""The Finance and Operations emulator: `/data/` OData entity sets behind Entra ID tokens and service protection."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from connectors.emulators.app import EmulatorApp
from connectors.emulators.finops import api, batch, control, order_control
from connectors.emulators.finops import seed as seeding
from connectors.emulators.finops.errors import ODATA_VERSION, error_response
from connectors.emulators.finops.tables import TABLES
from connectors.emulators.identity import AuthError
from connectors.emulators.protection import Rejection
from connectors.emulators.server import Request, Response, empty_response


class FinOpsEmulator(EmulatorApp):
    """F&O as the Prospect-to-cash maps see it; the service user's default company is `default_company`."""

    name = "finops"
    api_root = "/data/"

    def __init__(self, *, default_company: str = "usmf", **kwargs) -> None:
        self.default_company = default_company.lower()
        self.numbers: dict[tuple[str, str | None], int] = {}
        super().__init__(**kwargs)

    # --- data ---------------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.store.lock:
            if not self.store.tables:
                for spec in TABLES:
                    self.store.table(spec.name, spec.key, dict(spec.unique), dict(spec.multi))
            self.store.clear()
            self.numbers.clear()
            seeding.reference_data(self)

    def seed(self, counts: dict[str, int], seed_value: int) -> dict[str, int]:
        return seeding.seed(self, counts, seed_value)

    def extra_control(self, request: Request, action: str, body: dict) -> Response | None:
        if (request.method, action) == ("POST", "rows"):
            return control.insert_row(self, body)
        if action in order_control.ACTIONS:
            return order_control.handle(self, request, action, body)
        return None

    def legal_entity(self, company: str) -> dict | None:
        return self.store.tables["CompanyInfo"].get((company,))

    def next_number(self, sequence: str, company: str | None = None) -> int:
        """The next value of a number sequence (per company unless `company` is None); gaps are allowed."""
        with self.store.lock:
            key = (sequence, company)
            self.numbers[key] = self.numbers.get(key, 0) + 1
            return self.numbers[key]

    def today(self) -> date:
        return datetime.now(UTC).date()

    # --- protocol -----------------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        response = super().__call__(request)
        if request.path.startswith(self.api_root):
            response.headers.append(("ms-dyn-aid", str(uuid.uuid4())))  # F&O's activity id, for support cases
        return response

    def handle_api(self, request: Request, client: str) -> Response:
        if request.path == self.api_root + "$batch":
            return batch.handle_batch(self, request)
        return api.execute(self, request)

    def error(self, status: int, code: str, message: str) -> Response:
        return error_response(status, message)

    def throttled(self, rejection: Rejection) -> Response:
        if rejection.kind == "concurrency":
            message = f"Number of concurrent requests exceeded the limit of {rejection.limit}."
        else:
            window = int(rejection.window_s) if float(rejection.window_s).is_integer() else rejection.window_s
            # "exeeded" is F&O's own spelling (reference 2.5).
            message = (f"Number of requests exeeded the limit of {rejection.limit} over the time window of {window} "
                       "seconds.")
        return error_response(429, message, [("Retry-After", str(rejection.retry_after))])

    def unauthorized(self, error: AuthError) -> Response:
        # Assumption: F&O's front end answers a refused token with an empty 401 and a Bearer challenge.
        return empty_response(401, [("WWW-Authenticate", "Bearer"), ODATA_VERSION])

    def audience_ok(self, audience: str) -> bool:
        """F&O is strict: the audience must be the environment URL exactly, lowercase, no trailing slash."""
        return audience == self.origin.lower()
