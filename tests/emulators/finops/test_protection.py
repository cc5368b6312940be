"""Service protection and authentication as F&O does them: its 429 messages, strict token audiences, activity ids."""

from __future__ import annotations

import threading
import time
import uuid

import requests

from tests.emulators.finops.conftest import ODATA_JSON


def _token(fo, scope: str) -> str:
    response = fo.handle.session.post(f"{fo.handle.origin}/contoso/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": "p2c-emulator", "client_secret": "emulator-secret",
        "scope": scope}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _unauthorized(response) -> None:
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["WWW-Authenticate"] == "Bearer"
    uuid.UUID(response.headers["ms-dyn-aid"])


def test_request_rate_limit_is_429_with_fos_message_and_integer_retry_after(fo):
    fo.handle.configure(throttle={"requests": 2, "window_s": 60})
    statuses = [fo.get("LegalEntities").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    throttled = fo.get("LegalEntities")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"].isdigit()
    assert throttled.headers["Content-Type"] == ODATA_JSON
    assert throttled.json() == {"error": {"code": "", "message": "Number of requests exeeded the limit of 2 over "
                                                                 "the time window of 60 seconds."}}


def test_concurrency_limit_is_429_naming_the_limit(fo):
    fo.handle.configure(concurrency_limit=1, latency_ms=300)
    headers = fo.headers()
    results: list[requests.Response] = []

    def call() -> None:
        session = fo.handle.new_session()
        results.append(session.get(f"{fo.api}LegalEntities", headers=headers, timeout=10))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [r for r in results if r.status_code == 429]
    assert sorted(r.status_code for r in results) == [200, 429, 429]
    assert refused[0].json()["error"]["message"] == "Number of concurrent requests exceeded the limit of 1."
    assert refused[0].headers["Retry-After"] == "1"


def test_missing_revoked_and_expired_tokens_are_401(fo):
    _unauthorized(fo.handle.session.get(f"{fo.api}LegalEntities", timeout=10))
    token = _token(fo, f"{fo.handle.origin}/.default")
    fo.handle.configure(revoke_tokens=True)
    _unauthorized(fo.handle.session.get(f"{fo.api}LegalEntities", headers={"Authorization": f"Bearer {token}"},
                                        timeout=10))
    fo.handle.configure(token_ttl_s=1)
    short = _token(fo, f"{fo.handle.origin}/.default")
    time.sleep(2.1)
    _unauthorized(fo.handle.session.get(f"{fo.api}LegalEntities", headers={"Authorization": f"Bearer {short}"},
                                        timeout=10))


def test_audience_must_be_the_exact_lowercase_origin_without_trailing_slash(fo):
    origin = fo.handle.origin
    good = _token(fo, f"{origin}/.default")
    assert fo.handle.session.get(f"{fo.api}LegalEntities", headers={"Authorization": f"Bearer {good}"},
                                 timeout=10).status_code == 200
    for scope in (f"{origin}//.default", f"{origin.upper()}/.default"):
        token = _token(fo, scope)  # Entra issues it; F&O refuses it (trap 16)
        _unauthorized(fo.handle.session.get(f"{fo.api}LegalEntities", headers={"Authorization": f"Bearer {token}"},
                                            timeout=10))


def test_every_api_response_carries_an_activity_id(fo):
    first, second = fo.get("LegalEntities"), fo.get("Nope")
    assert uuid.UUID(first.headers["ms-dyn-aid"]) != uuid.UUID(second.headers["ms-dyn-aid"])
    assert "ms-dyn-aid" not in fo.handle.session.get(f"{fo.handle.origin}/_emulator/stats", timeout=10).headers


def test_injected_faults_use_fos_error_body(fo):
    fo.handle.configure(unavailable_rate=1)
    response = fo.get("LegalEntities")
    assert response.status_code == 503
    assert response.json() == {"error": {"code": "", "message": "The service is temporarily unavailable. Please "
                                                                "try again later."}}


def test_stats_count_requests_by_entity_set(fo):
    fo.get("CustomersV3")
    fo.get("CustomersV3(dataAreaId='usmf',CustomerAccount='X')")
    fo.post("CustomerGroups", {"CustomerGroupId": "T1", "Description": "Test"})
    stats = fo.handle.stats()
    assert stats["requests_by_entity_set"]["CustomersV3"] == {"GET": 2}
    assert stats["requests_by_entity_set"]["CustomerGroups"] == {"POST": 1}
    assert stats["responses_by_status"] == {"200": 1, "201": 1, "404": 1}
