"""Test access to the emulators: start them in-process, and talk to them over HTTPS like a client would."""

from __future__ import annotations

from dataclasses import dataclass, field

import msal
import requests

from connectors.emulators import RunningEmulator


@dataclass
class EmulatorHandle:
    """A running emulator plus a plain `requests` session that trusts its certificate and holds a token."""

    emulator: RunningEmulator
    tenant: str = "contoso"
    session: requests.Session = field(init=False)

    def __post_init__(self):
        self.session = self.new_session()
        self._new_token_cache()

    def _new_token_cache(self) -> None:
        self._msal = msal.ConfidentialClientApplication(
            self.emulator.app.identity.client_id, client_credential=self.emulator.app.identity.client_secret,
            authority=f"{self.origin}/{self.tenant}", http_client=self.session, instance_discovery=False)

    def new_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE is set on our machines and would override verify
        session.verify = str(self.emulator.cert_path)
        return session

    @property
    def origin(self) -> str:
        return self.emulator.origin

    @property
    def api_url(self) -> str:
        return self.emulator.api_url

    @property
    def cert_path(self) -> str:
        return str(self.emulator.cert_path)

    def token(self) -> str:
        result = self._msal.acquire_token_for_client(scopes=[f"{self.origin}/.default"])
        return result["access_token"]

    def auth_headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}", **extra}

    def rows(self, entity_set: str, **params) -> list[dict]:
        """Every row of an entity set (all pages), read over HTTPS as a client would."""
        url: str | None = f"{self.api_url}{entity_set}"
        found: list[dict] = []
        while url:
            response = self.session.get(url, params=params,
                                        headers=self.auth_headers(Prefer="odata.maxpagesize=5000"))
            response.raise_for_status()
            body = response.json()
            found.extend(body["value"])
            url, params = body.get("@odata.nextLink"), None
        return found

    # --- the control API ----------------------------------------------------------------------------------
    def control(self, method: str, action: str, body: dict | None = None) -> dict:
        response = self.session.request(method, f"{self.origin}/_emulator/{action}", json=body, timeout=120)
        response.raise_for_status()
        return response.json()

    @property
    def reset_config(self) -> dict:
        """Settings only some services take (Dataverse limits combined execution time, F&O does not)."""
        return {"execution_time": None} if self.emulator.app.limits_execution_time else {}

    def reset(self) -> None:
        self._new_token_cache()  # an earlier test may have revoked every token issued so far
        self.control("PUT", "config", {"latency_ms": 0, "fault_rate": 0, "unavailable_rate": 0, "throttle": None,
                                       "concurrency_limit": None, "token_ttl_s": None, "operation_ms": 0,
                                       "operation_delay_ms": 0, **self.reset_config})
        self.control("POST", "reset")

    def seed(self, **counts: int) -> dict:
        return self.control("POST", "seed", counts)["created"]

    def configure(self, **config) -> dict:
        return self.control("PUT", "config", config)

    def stats(self) -> dict:
        return self.control("GET", "stats")
