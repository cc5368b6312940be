"""Tokens: msal against the emulators' Entra endpoints, expiry mid-run and revocation recovered with one
re-authentication, certificates, and no secret in any error."""

from __future__ import annotations

import time

import pytest

from connectors import AuthError, Certificate, DataverseClient, FinOpsClient
from tests.support.certificates import self_signed


def test_one_token_serves_many_requests(dataverse, dv):
    dataverse.seed(accounts=50)
    for _ in range(5):
        dv.get("accounts", next(dv.rows("accounts", select=["accountid"]))["accountid"])
    assert dataverse.stats()["tokens_issued"] == 1


def test_a_token_that_expires_mid_run_is_replaced_and_no_request_fails(dataverse, dv_config):
    dataverse.seed(accounts=1500)
    dataverse.configure(token_ttl_s=1, latency_ms=40)
    client = DataverseClient(dv_config(page_size=25))
    started = time.monotonic()
    pages = sum(1 for _ in client.pages("accounts", select=["accountid"]))
    elapsed = time.monotonic() - started
    stats = dataverse.stats()
    assert stats["tokens_issued"] >= 3, stats  # tokens expired and were replaced during the run
    # Each 401 cost one new token and one replay, never more: requests are pages plus 401s.
    assert stats["requests"] == pages + stats["unauthorized"]
    assert stats["tokens_issued"] <= stats["unauthorized"] + elapsed / 0.9 + 2


@pytest.mark.parametrize("system", ["dataverse", "finops"])
def test_a_revoked_token_costs_exactly_one_re_authentication(system, request):
    handle = request.getfixturevalue(system)
    entity_set = "accounts" if system == "dataverse" else "CustomersV3"
    handle.seed(**{entity_set: 100})
    client = request.getfixturevalue("dv" if system == "dataverse" else "fo")
    pages = client.pages(entity_set, options={"$top": 100}) if system == "finops" else client.pages(entity_set)
    next(pages)
    handle.configure(revoke_tokens=True)
    assert client.get(entity_set, _any_key(client, entity_set))
    stats = handle.stats()
    assert stats["unauthorized"] == 1
    assert stats["tokens_issued"] == 2


def _any_key(client, entity_set):
    row = next(client.rows(entity_set))
    if entity_set == "accounts":
        return row["accountid"]
    return {"dataAreaId": row["dataAreaId"], "CustomerAccount": row["CustomerAccount"]}


def test_a_wrong_secret_is_an_auth_error_that_does_not_show_the_secret(dataverse, dv_config):
    client = DataverseClient(dv_config(client_secret="wrong-secret-value"))
    with pytest.raises(AuthError) as caught:
        next(client.rows("accounts"))
    assert "invalid_client" in caught.value.message
    assert "wrong-secret-value" not in str(caught.value)
    assert "wrong-secret-value" not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.permanent
    assert dataverse.stats()["requests"] == 0  # nothing was sent to the API without a token


def test_a_scope_for_another_resource_is_refused_at_the_token_endpoint(finops, fo_config):
    client = FinOpsClient(fo_config(scope="https://other.operations.dynamics.com/.default"))
    with pytest.raises(AuthError, match="invalid_scope"):
        next(client.rows("CustomersV3"))


def test_a_certificate_credential_gets_a_token(finops, fo_config):
    key_pem, certificate_pem = self_signed(days=1)
    finops.emulator.app.identity.register_certificate(certificate_pem.encode())  # the app registration's credential
    client = FinOpsClient(fo_config(client_secret="", certificate=Certificate(
        private_key=key_pem, public_certificate=certificate_pem)))
    assert next(client.rows("CustomerGroups"))["CustomerGroupId"]
    assert finops.stats()["tokens_issued"] == 1
