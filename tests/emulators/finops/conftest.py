"""A thin client for the F&O emulator's API: the headers a real client sends, and the token from msal."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests

from tests.support.emulators import EmulatorHandle

ODATA_JSON = "application/json; odata.metadata=minimal; charset=utf-8"
WRITE_EXCEPTION = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"


@dataclass
class FinOpsClient:
    handle: EmulatorHandle

    @property
    def api(self) -> str:
        return self.handle.api_url

    def headers(self, **extra: str) -> dict[str, str]:
        return self.handle.auth_headers(**{"Accept": "application/json", "OData-Version": "4.0",
                                           "OData-MaxVersion": "4.0", **extra})

    def get(self, path: str, **headers: str) -> requests.Response:
        url = path if path.startswith("https://") else self.api + path
        return self.handle.session.get(url, headers=self.headers(**headers), timeout=60)

    def post(self, path: str, body: object, **headers: str) -> requests.Response:
        return self.handle.session.post(self.api + path, json=body, headers=self.headers(**headers), timeout=60)

    def patch(self, path: str, body: object, **headers: str) -> requests.Response:
        return self.handle.session.patch(self.api + path, json=body, headers=self.headers(**headers), timeout=60)

    def delete(self, path: str, **headers: str) -> requests.Response:
        return self.handle.session.delete(self.api + path, headers=self.headers(**headers), timeout=60)

    def all_pages(self, path: str, **headers: str) -> list[dict]:
        rows, url = [], path
        while url:
            page = self.get(url, **headers)
            assert page.status_code == 200, page.text
            body = page.json()
            rows += body["value"]
            url = body.get("@odata.nextLink")
        return rows

    def plant(self, table: str, **values: object) -> requests.Response:
        """A row put straight into a stored table through the control API, as F&O's own client would make it."""
        return self.handle.session.post(f"{self.handle.origin}/_emulator/rows", json={"table": table, "values": values},
                                        timeout=60)

    def customer(self, account: str = "C-1", company: str = "usmf", **fields: object) -> dict:
        body = {"dataAreaId": company, "CustomerAccount": account, "OrganizationName": f"{account} Inc.",
                "CustomerGroupId": "10", **fields}
        response = self.post("CustomersV3", body)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def fo(finops) -> FinOpsClient:
    """The F&O emulator, reset, behind a client that sends F&O's usual headers with an msal token. The client has
    its own msal app, so a test that revokes tokens leaves the next one a fresh token."""
    return FinOpsClient(EmulatorHandle(finops.emulator))


def infolog(response: requests.Response) -> str:
    """The Infolog text of a write failure, after checking the whole AxODataWriteException envelope."""
    assert response.status_code == 500, response.text
    assert response.headers["Content-Type"] == ODATA_JSON
    error = response.json()["error"]
    assert error["code"] == ""
    assert error["message"] == "An error has occurred."
    assert error["innererror"]["type"] == WRITE_EXCEPTION
    assert set(error["innererror"]) == {"message", "type", "stacktrace"}
    return error["innererror"]["message"]
