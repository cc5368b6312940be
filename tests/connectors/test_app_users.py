"""Several application users per connection, used in turn: each with its own token and its own share of the
limits, at the service (which counts per app id) and in the client's limiter."""

from __future__ import annotations

import pytest

from connectors import AppUser, DataverseClient, ThrottledError
from tests.connectors.conftest import CLIENT_ID

SECOND = AppUser("p2c-second-user", client_secret="second-secret")


@pytest.fixture
def second_user(dataverse):
    """The emulator knows a second application (registered for this test only)."""
    dataverse.control("POST", "clients", {"client_id": SECOND.client_id, "client_secret": SECOND.client_secret})
    yield SECOND
    dataverse.control("DELETE", "clients")


def _client(dv_config, **overrides) -> DataverseClient:
    return DataverseClient(dv_config(max_retries=2, max_wait=5.0, **overrides))


def test_a_burst_that_throttles_one_user_is_spread_over_two_without_a_429(dataverse, dv_config, second_user):
    dataverse.configure(throttle={"requests": 3, "window_s": 300})  # per user: one alone would see a 429 at 4
    pair = _client(dv_config, extra_users=[second_user])
    for _ in range(6):
        next(pair.pages("transactioncurrencies"))
    stats = dataverse.stats()
    assert stats["throttled"] == 0
    assert stats["requests_by_client"] == {CLIENT_ID: 3, second_user.client_id: 3}


def test_each_user_gets_its_own_token(dataverse, dv_config, second_user):
    pair = _client(dv_config, extra_users=[second_user])
    for _ in range(4):
        next(pair.pages("transactioncurrencies"))
    stats = dataverse.stats()
    assert stats["tokens_issued"] == 2  # one per user, each cached by its own msal application
    assert stats["requests_by_client"] == {CLIENT_ID: 2, second_user.client_id: 2}


def test_a_user_the_service_throttled_is_skipped_and_its_request_goes_as_the_other(dataverse, dv_config,
                                                                                   second_user):
    dataverse.configure(throttle={"requests": 1, "window_s": 300})
    next(_client(dv_config).pages("transactioncurrencies"))  # the first user's window is full from elsewhere
    pair = _client(dv_config, extra_users=[second_user])
    next(pair.pages("transactioncurrencies"))  # as the first user: 429, paused, sent again as the second
    stats = dataverse.stats()
    assert stats["throttled"] == 1
    assert stats["requests_by_client"] == {CLIENT_ID: 2, second_user.client_id: 1}
    with pytest.raises(ThrottledError) as both:
        next(pair.pages("transactioncurrencies"))  # the second user's window is full too: nobody may send
    assert both.value.retry_after > 5
    assert dataverse.stats()["throttled"] == 2  # the paused first user was not asked again


def test_each_user_has_its_own_budget_in_redis(dataverse, dv_config, second_user, limiter_redis_url, redis_prefix):
    pair = _client(dv_config, extra_users=[second_user], requests_per_window=1, window_seconds=300,
                   redis_url=limiter_redis_url, redis_key_prefix=redis_prefix)
    for _ in range(2):
        next(pair.pages("transactioncurrencies"))
    with pytest.raises(ThrottledError):
        next(pair.pages("transactioncurrencies"))  # each user's one request of the window is spent
    assert dataverse.stats()["requests_by_client"] == {CLIENT_ID: 1, second_user.client_id: 1}
