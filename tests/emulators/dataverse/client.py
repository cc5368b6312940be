"""A thin Dataverse client for the tests: the headers Microsoft tells every client to send, a token from msal,
and a few helpers that create records through the API itself."""

from __future__ import annotations

from dataclasses import dataclass

import requests

from tests.support.emulators import EmulatorHandle

JSON = "application/json; odata.metadata=minimal"


@dataclass
class DataverseClient:
    handle: EmulatorHandle

    @property
    def api(self) -> str:
        return self.handle.api_url

    def headers(self, **extra: str) -> dict[str, str]:
        extra = {name.replace("_", "-"): value for name, value in extra.items()}
        return self.handle.auth_headers(**{"Accept": "application/json", "OData-MaxVersion": "4.0",
                                           "OData-Version": "4.0", **extra})

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else self.api + path

    def get(self, path: str, **headers: str) -> requests.Response:
        return self.handle.session.get(self.url(path), headers=self.headers(**{"If-None-Match": "null", **headers}),
                                       timeout=60)

    def post(self, path: str, body: object, **headers: str) -> requests.Response:
        return self.handle.session.post(self.url(path), json=body, headers=self.headers(**headers), timeout=60)

    def patch(self, path: str, body: object, **headers: str) -> requests.Response:
        return self.handle.session.patch(self.url(path), json=body, headers=self.headers(**headers), timeout=60)

    def delete(self, path: str, **headers: str) -> requests.Response:
        return self.handle.session.delete(self.url(path), headers=self.headers(**headers), timeout=60)

    def create(self, entity_set: str, body: dict) -> dict:
        """POST with return=representation; the created record as the API returns it."""
        response = self.post(entity_set, body, Prefer="return=representation")
        assert response.status_code == 201, response.text
        return response.json()

    def all_pages(self, path: str, **headers: str) -> list[list[dict]]:
        pages, url = [], path
        while url:
            response = self.get(url, **headers)
            assert response.status_code == 200, response.text
            body = response.json()
            pages.append(body["value"])
            url = body.get("@odata.nextLink")
        return pages



def error_of(response: requests.Response) -> dict:
    """The `error` object of a Dataverse error body (the body has nothing else)."""
    body = response.json()
    assert list(body) == ["error"], body
    assert set(body["error"]) == {"code", "message"}, body
    return body["error"]
