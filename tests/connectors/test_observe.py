"""The observer hook: every request (429s and retries included) and every token request is told to the one
callback an application registers, with the connection's name and never a credential."""

from __future__ import annotations

import pytest

from connectors import AuthError, DataverseClient
from connectors import observe as observe_module
from connectors.observe import RequestObserved, TokenObserved, observer_set


@pytest.fixture
def observed():
    events: list = []
    previous = observe_module._observer
    observer_set(events.append)
    yield events
    observer_set(previous)


def test_each_request_and_token_is_observed_with_its_status_and_time(dataverse, dv_config, observed):
    dataverse.seed(accounts=40)
    dataverse.configure(throttle={"requests": 3, "window_s": 1})
    client = DataverseClient(dv_config(page_size=10, name="Sales"))

    pages = sum(1 for _ in client.pages("accounts", select=["accountid"]))

    tokens = [event for event in observed if isinstance(event, TokenObserved)]
    requests_ = [event for event in observed if isinstance(event, RequestObserved)]
    assert tokens == [TokenObserved("Sales", ok=True)]
    assert {event.connection for event in requests_} == {"Sales"}
    assert {event.method for event in requests_} == {"GET"}
    assert sum(event.status == 200 for event in requests_) == pages
    assert sum(event.status == 429 for event in requests_) == dataverse.stats()["throttled"] >= 1
    assert all(event.seconds >= 0 for event in requests_)


def test_a_refused_token_request_is_observed_without_the_secret(dataverse, dv_config, observed):
    client = DataverseClient(dv_config(client_secret="a-wrong-secret"))

    with pytest.raises(AuthError):
        client.get("accounts", "00000000-0000-0000-0000-000000000001")

    (token,) = observed
    assert token.ok is False
    assert token.connection == dataverse.origin.split("//")[1]  # unnamed: the environment's host
    assert token.error.startswith("invalid_client")
    assert "a-wrong-secret" not in token.error


def test_an_observer_that_fails_never_fails_the_request(dataverse, dv_config):
    previous = observe_module._observer

    def broken(event):
        raise RuntimeError("observer bug")

    observer_set(broken)
    try:
        dataverse.seed(accounts=3)
        assert len(list(DataverseClient(dv_config()).rows("accounts"))) >= 3
    finally:
        observer_set(previous)


def test_two_connections_with_the_same_credentials_each_observe_their_own_token(dataverse, dv_config, observed):
    """A connection whose secret was fixed must see its own good token request (the alert on it resolves by
    that), even when another connection with the same credentials already holds a token."""
    dataverse.seed(accounts=1)
    for name in ("Sales A", "Sales B"):
        list(DataverseClient(dv_config(name=name)).pages("accounts", select=["accountid"]))

    tokens = [event for event in observed if isinstance(event, TokenObserved)]
    assert tokens == [TokenObserved("Sales A", ok=True), TokenObserved("Sales B", ok=True)]
