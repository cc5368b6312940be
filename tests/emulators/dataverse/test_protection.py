"""Service protection and authentication: Dataverse's 429 bodies with Retry-After, and 401 with its challenge."""

from __future__ import annotations

import threading
import time

import pytest

from connectors.emulators import start
from tests.emulators.dataverse.client import DataverseClient, error_of
from tests.support.emulators import EmulatorHandle


@pytest.fixture
def isolated(emulator_cert):
    """An emulator of its own, for tests that revoke every token (the shared one's clients cache theirs)."""
    handle = EmulatorHandle(start("dataverse", cert_path=emulator_cert))
    yield DataverseClient(handle)
    handle.emulator.stop()


def test_rate_limit_is_429_with_retry_after_and_the_documented_body(dv):
    dv.handle.configure(throttle={"requests": 2, "window_s": 300})
    assert [dv.get("accounts").status_code for _ in range(2)] == [200, 200]
    response = dv.get("accounts")
    assert response.status_code == 429
    assert response.headers["Retry-After"].isdigit()
    assert int(response.headers["Retry-After"]) >= 1
    assert error_of(response) == {"code": "0x80072322", "message": "Number of requests exceeded the limit of 2 over "
                                                                   "time window of 300 seconds."}


def test_concurrency_limit_is_429_with_its_own_code(dv):
    dv.handle.configure(concurrency_limit=1, latency_ms=300)
    headers = dv.headers()
    results = []

    def call():
        session = dv.handle.new_session()
        results.append(session.get(dv.url("accounts"), headers=headers, timeout=30))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rejected = [response for response in results if response.status_code == 429]
    assert len(rejected) == 2
    assert error_of(rejected[0]) == {"code": "0x80072326",
                                     "message": "Number of concurrent requests exceeded the limit of 1."}
    assert rejected[0].headers["Retry-After"] == "1"


def test_missing_token_is_401_with_the_authority_challenge(dv):
    response = dv.handle.session.get(dv.url("accounts"), timeout=30)
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["WWW-Authenticate"] == (f"Bearer authorization_uri={dv.handle.origin}/common/oauth2/"
                                                    f"authorize, resource_id={dv.handle.origin}/")


def test_expired_and_revoked_tokens_are_401_naming_the_tenant(isolated):
    dv = isolated
    identity = dv.handle.emulator.app.identity
    dv.handle.configure(token_ttl_s=1)
    short = identity.issue(audience=dv.handle.origin, tenant="contoso")
    time.sleep(1.1)
    expired = dv.handle.session.get(dv.url("accounts"), headers={"Authorization": f"Bearer {short.access_token}"})
    assert expired.status_code == 401
    challenge = expired.headers["WWW-Authenticate"]
    assert challenge.startswith(f"Bearer authorization_uri={dv.handle.origin}/")
    assert "/common/" not in challenge
    dv.handle.configure(token_ttl_s=None)
    fresh = identity.issue(audience=dv.handle.origin, tenant="contoso").access_token
    assert dv.handle.session.get(dv.url("accounts"), headers={"Authorization": f"Bearer {fresh}"}).ok
    dv.handle.configure(revoke_tokens=True)
    revoked = dv.handle.session.get(dv.url("accounts"), headers={"Authorization": f"Bearer {fresh}"})
    assert revoked.status_code == 401
    assert revoked.headers["WWW-Authenticate"] == challenge


def test_audience_is_matched_ignoring_case_and_a_trailing_slash(dv):
    identity = dv.handle.emulator.app.identity
    for audience, status in ((dv.handle.origin.upper().replace("HTTPS", "https") + "/", 200),
                             ("https://other.crm.dynamics.com", 401)):
        token = identity.issue(audience=audience, tenant="contoso").access_token
        response = dv.handle.session.get(dv.url("accounts"), headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status, audience


def test_stats_count_requests_by_entity_set(dv):
    dv.get("accounts")
    dv.post("contacts", {"lastname": "Counted"})
    dv.get("accounts(accountnumber='X')")
    stats = dv.handle.stats()
    assert stats["requests_by_entity_set"]["accounts"] == {"GET": 2}
    assert stats["requests_by_entity_set"]["contacts"] == {"POST": 1}
    assert stats["responses_by_status"]["404"] == 1


def test_injected_faults_use_dataverse_error_bodies(dv):
    dv.handle.configure(unavailable_rate=1.0)
    response = dv.get("accounts")
    assert response.status_code == 503
    assert set(error_of(response)) == {"code", "message"}
