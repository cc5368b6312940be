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


def _batch_of_gets(dv, count: int):
    boundary = "batch_protection"
    parts = "".join(f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                    f"GET {dv.api}accounts?$select=name HTTP/1.1\r\n\r\n" for _ in range(count))
    return dv.handle.session.post(dv.url("$batch"), data=(parts + f"--{boundary}--\r\n").encode(), timeout=60,
                                  headers=dv.headers(**{"Content-Type": f"multipart/mixed; boundary={boundary}"}))


EXECUTION_MESSAGE = ("Combined execution time of incoming requests exceeded limit of 1,000 milliseconds over time "
                     "window of 300 seconds. Decrease number of concurrent requests or reduce the duration of "
                     "requests and try again later.")


def test_combined_execution_time_is_429_after_the_window_is_exceeded(dv):
    dv.handle.configure(execution_time={"limit_ms": 1000, "window_s": 300}, operation_ms=400)
    assert [dv.get("accounts").status_code for _ in range(3)] == [200, 200, 200]  # 1,200 ms: exceeded, not refused
    response = dv.get("accounts")
    assert response.status_code == 429
    assert error_of(response) == {"code": "0x80072321", "message": EXECUTION_MESSAGE}
    assert response.headers["Retry-After"].isdigit()
    assert 1 <= int(response.headers["Retry-After"]) <= 300


def test_a_batch_is_one_request_but_each_operation_counts_its_execution_time(dv):
    dv.handle.configure(throttle={"requests": 2, "window_s": 300},
                        execution_time={"limit_ms": 1000, "window_s": 300}, operation_ms=300)
    batch = _batch_of_gets(dv, 5)
    assert batch.status_code == 200
    assert dv.handle.stats()["batch_operations"] == 5
    refused = dv.get("accounts")  # the second request: within the request limit, over the execution time
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "0x80072321"


def test_the_request_limit_counts_a_batch_once(dv):
    dv.handle.configure(throttle={"requests": 2, "window_s": 300})
    assert _batch_of_gets(dv, 5).status_code == 200
    assert dv.get("accounts").status_code == 200
    refused = dv.get("accounts")
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "0x80072322"


def test_continued_pressure_lengthens_retry_after(dv):
    dv.handle.configure(execution_time={"limit_ms": 1000, "window_s": 300}, operation_ms=1500)
    dv.get("accounts")
    first = dv.get("accounts")
    time.sleep(0.3)  # past the grace given to requests already in flight when the first 429 went out
    second = dv.get("accounts")
    assert (first.status_code, second.status_code) == (429, 429)
    assert int(second.headers["Retry-After"]) > int(first.headers["Retry-After"])
    assert dv.handle.stats()["retry_after_violations"] == 1


def test_an_operation_delay_keeps_each_request_in_flight(dv):
    dv.handle.configure(concurrency_limit=1, operation_delay_ms=300)
    headers = dv.headers()
    results = []

    def call():
        results.append(dv.handle.new_session().get(dv.url("accounts"), headers=headers, timeout=30).status_code)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 429, 429]


def test_measured_handling_time_counts_toward_the_execution_limit(dv):
    dv.handle.configure(execution_time={"limit_ms": 500, "window_s": 300}, operation_delay_ms=300)
    assert [dv.get("accounts").status_code for _ in range(2)] == [200, 200]
    assert error_of(dv.get("accounts"))["code"] == "0x80072321"


def test_a_bad_protection_setting_is_refused_naming_it(dv):
    for body, words in (({"execution_time": {"limit_ms": 0, "window_s": 300}}, "execution_time.limit_ms"),
                        ({"execution_time": {"limit_ms": 10}}, "execution_time"),
                        ({"operation_ms": -1}, "operation_ms")):
        response = dv.handle.session.put(f"{dv.handle.origin}/_emulator/config", json=body, timeout=30)
        assert response.status_code == 400
        assert words in response.json()["error"]
