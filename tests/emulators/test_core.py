"""The shared emulator machinery, through a minimal API: tokens, the control API, protection, the server."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time

import msal
import pytest
import requests

from connectors.emulators.app import EmulatorApp
from connectors.emulators.certs import ensure_certificate
from connectors.emulators.server import EmulatorServer, json_response


class ProbeEmulator(EmulatorApp):
    name = "probe"
    api_root = "/probe/"

    def reset(self):
        self.hits = 0

    def seed(self, counts, seed):
        return dict(counts)

    def handle_api(self, request, client):
        if request.path == "/probe/slow":
            time.sleep(0.3)
        return json_response(200, {"value": [], "client": client})

    def error(self, status, code, message):
        return json_response(status, {"error": {"code": code, "message": message}})

    def throttled(self, rejection):
        return json_response(429, {"error": {"code": rejection.kind, "message": "slow down"}},
                             [("Retry-After", str(rejection.retry_after))])

    def unauthorized(self, error):
        return json_response(401, {"error": {"code": error.reason, "message": error.message}})

    def audience_ok(self, audience):
        return audience == self.origin


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    cert, key = ensure_certificate(tmp_path_factory.mktemp("cert") / "emulator.pem")
    app = ProbeEmulator()
    server = EmulatorServer(app, certfile=cert, keyfile=key)
    app.bind(server.origin)
    with server:
        yield app, cert


@pytest.fixture
def client(probe):
    app, cert = probe
    requests.post(f"{app.origin}/_emulator/reset", verify=cert, timeout=10).raise_for_status()
    requests.put(f"{app.origin}/_emulator/config", json={"throttle": None, "concurrency_limit": None,
                 "fault_rate": 0, "unavailable_rate": 0, "latency_ms": 0, "token_ttl_s": None,
                 "operation_ms": 0, "operation_delay_ms": 0},
                 verify=cert, timeout=10).raise_for_status()
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override verify
    session.verify = str(cert)
    return app, session


def token_for(app, session, scope=None, client_id="p2c-emulator", secret="emulator-secret"):  # noqa: S107
    msal_app = msal.ConfidentialClientApplication(client_id, client_credential=secret,
                                                  authority=f"{app.origin}/contoso", http_client=session,
                                                  instance_discovery=False)
    return msal_app.acquire_token_for_client(scopes=[scope or f"{app.origin}/.default"])


def test_msal_gets_a_token_and_the_api_accepts_it(client):
    app, session = client
    result = token_for(app, session)
    assert result["token_type"] == "Bearer"
    assert 3600 <= result["expires_in"] <= 5400
    response = session.get(f"{app.origin}/probe/things", headers={"Authorization": "Bearer " + result["access_token"]})
    assert response.status_code == 200
    assert response.json()["client"] == "p2c-emulator"


def test_wrong_secret_is_invalid_client_with_entra_body(client):
    app, session = client
    response = session.post(f"{app.origin}/contoso/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": "p2c-emulator", "client_secret": "nope",
        "scope": f"{app.origin}/.default"})
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215:")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_scope_without_default_suffix_is_invalid_scope(client):
    app, session = client
    response = session.post(f"{app.origin}/contoso/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": "p2c-emulator", "client_secret": "emulator-secret",
        "scope": f"{app.origin}/user_impersonation"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_missing_expired_and_revoked_tokens_are_401(client):
    app, session = client
    assert session.get(f"{app.origin}/probe/things").status_code == 401
    session.put(f"{app.origin}/_emulator/config", json={"token_ttl_s": 1})
    short = token_for(app, session)["access_token"]
    time.sleep(2.1)
    expired = session.get(f"{app.origin}/probe/things", headers={"Authorization": f"Bearer {short}"})
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "expired"

    session.put(f"{app.origin}/_emulator/config", json={"token_ttl_s": None})
    fresh = token_for(app, session)["access_token"]
    assert session.get(f"{app.origin}/probe/things", headers={"Authorization": f"Bearer {fresh}"}).ok
    session.put(f"{app.origin}/_emulator/config", json={"revoke_tokens": True})
    revoked = session.get(f"{app.origin}/probe/things", headers={"Authorization": f"Bearer {fresh}"})
    assert revoked.json()["error"]["code"] == "revoked"
    assert session.get(f"{app.origin}/_emulator/stats").json()["unauthorized"] == 3


def test_rate_limit_answers_429_with_integer_retry_after_and_counts_violations(client):
    app, session = client
    auth = {"Authorization": "Bearer " + token_for(app, session)["access_token"]}
    session.put(f"{app.origin}/_emulator/config", json={"throttle": {"requests": 3, "window_s": 2}})
    statuses = [session.get(f"{app.origin}/probe/things", headers=auth).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = session.get(f"{app.origin}/probe/things", headers=auth)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"].isdigit()
    time.sleep(0.3)
    assert session.get(f"{app.origin}/probe/things", headers=auth).status_code == 429  # ignored Retry-After
    time.sleep(int(throttled.headers["Retry-After"]) + 1.2)
    assert session.get(f"{app.origin}/probe/things", headers=auth).status_code == 200
    stats = session.get(f"{app.origin}/_emulator/stats").json()
    assert stats["throttled"] == 3
    assert stats["retry_after_violations"] == 1
    assert stats["responses_by_status"]["429"] == 3
    assert stats["requests_by_entity_set"]["things"]["GET"] == 7


def test_concurrency_limit_rejects_the_request_over_the_limit(client):
    app, session = client
    auth = {"Authorization": "Bearer " + token_for(app, session)["access_token"]}
    session.put(f"{app.origin}/_emulator/config", json={"concurrency_limit": 2})
    results = []

    def call():
        own = requests.Session()
        own.trust_env, own.verify = False, session.verify
        results.append(own.get(f"{app.origin}/probe/slow", headers=auth).status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 200, 429, 429]


def test_fault_and_unavailable_rates_inject_500_and_503(client):
    app, session = client
    auth = {"Authorization": "Bearer " + token_for(app, session)["access_token"]}
    session.put(f"{app.origin}/_emulator/config", json={"fault_rate": 0.5, "unavailable_rate": 0.5})
    statuses = {session.get(f"{app.origin}/probe/things", headers=auth).status_code for _ in range(40)}
    assert statuses == {500, 503}
    stats = session.get(f"{app.origin}/_emulator/stats").json()
    assert stats["faults"] + stats["unavailable"] == 40


def test_control_api_rejects_bad_config_naming_the_key(client):
    app, session = client
    response = session.put(f"{app.origin}/_emulator/config", json={"fault_rate": 2})
    assert response.status_code == 400
    assert "fault_rate" in response.json()["error"]
    response = session.put(f"{app.origin}/_emulator/config", json={"latency": 5})
    assert response.json()["error"] == "unknown config key 'latency'"
    assert session.get(f"{app.origin}/_emulator/config").json()["fault_rate"] == 0


def test_server_keeps_serving_after_garbage_and_a_failed_handshake(client):
    app, session = client
    port = int(app.origin.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(b"this is not TLS\r\n\r\n")
        raw.settimeout(2)
        with contextlib.suppress(TimeoutError, ConnectionError):
            raw.recv(100)
    context = ssl.create_default_context(cafile=session.verify)
    with socket.create_connection(("127.0.0.1", port)) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"GET /x HTTP/1.1 extra words\r\n\r\n")
        assert tls.recv(100).startswith(b"HTTP/1.1 400")
    assert session.get(f"{app.origin}/_emulator/stats").ok


def test_keep_alive_reuses_one_connection(client):
    app, session = client
    for _ in range(5):
        session.get(f"{app.origin}/_emulator/stats")
    pool = next(iter(session.adapters["https://"].poolmanager.pools._container.values()))
    assert pool.num_connections == 1


def test_a_service_without_an_execution_time_limit_refuses_one(client):
    app, session = client
    response = session.put(f"{app.origin}/_emulator/config", json={"execution_time": {"limit_ms": 10, "window_s": 1}})
    assert response.status_code == 400
    assert response.json()["error"] == "execution_time: probe has no combined execution-time limit"
    assert session.get(f"{app.origin}/_emulator/config").json()["execution_time"] is None


def test_an_operation_delay_holds_each_request_of_a_service_that_counts_requests(client):
    app, session = client
    auth = {"Authorization": "Bearer " + token_for(app, session)["access_token"]}
    session.put(f"{app.origin}/_emulator/config", json={"concurrency_limit": 1, "operation_delay_ms": 300})
    results = []

    def call():
        own = requests.Session()
        own.trust_env, own.verify = False, session.verify
        results.append(own.get(f"{app.origin}/probe/things", headers=auth).status_code)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 429, 429]


def test_each_registered_application_gets_its_own_tokens_and_its_own_budget(client):
    app, session = client
    registered = session.post(f"{app.origin}/_emulator/clients",
                              json={"client_id": "second-app", "client_secret": "second-secret"})
    assert registered.json() == {"client_ids": ["p2c-emulator", "second-app"]}
    try:
        session.put(f"{app.origin}/_emulator/config", json={"throttle": {"requests": 2, "window_s": 300}})
        first = {"Authorization": "Bearer " + token_for(app, session)["access_token"]}
        second = {"Authorization": "Bearer " + token_for(app, session, client_id="second-app",
                                                           secret="second-secret")["access_token"]}
        assert [session.get(f"{app.origin}/probe/things", headers=first).status_code for _ in range(3)] == [200, 200,
                                                                                                              429]
        answers = [session.get(f"{app.origin}/probe/things", headers=second) for _ in range(2)]
        assert [answer.status_code for answer in answers] == [200, 200]
        assert answers[0].json()["client"] == "second-app"
        assert session.get(f"{app.origin}/_emulator/stats").json()["requests_by_client"] == {"p2c-emulator": 3,
                                                                                             "second-app": 2}
        assert session.get(f"{app.origin}/_emulator/clients").json() == registered.json()  # ids, never secrets
    finally:
        session.delete(f"{app.origin}/_emulator/clients")
    refused = token_for(app, session, client_id="second-app", secret="second-secret")
    assert refused["error"] == "unauthorized_client"
