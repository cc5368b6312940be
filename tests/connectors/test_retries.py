"""Retries against a busy service: 429 storms honoured, 503 bursts ridden out, timeouts bounded, and a POST
replayed only when the service cannot have run it."""

from __future__ import annotations

import threading
import time

import pytest

from connectors import ConnectorError, DataverseClient, FinOpsClient, ThrottledError, TransientError


def test_a_429_storm_is_honoured_by_a_single_client(dataverse, dv_config):
    dataverse.seed(accounts=600)
    dataverse.configure(throttle={"requests": 6, "window_s": 1})
    client = DataverseClient(dv_config(page_size=30))
    started = time.monotonic()
    pages = sum(1 for _ in client.pages("accounts", select=["accountid"]))
    elapsed = time.monotonic() - started
    stats = dataverse.stats()
    assert stats["throttled"] >= 2
    assert stats["retry_after_violations"] == 0  # never sent anything while told to wait
    assert elapsed >= stats["throttle_seconds_requested"]  # waited at least every Retry-After it was given
    assert stats["requests"] == pages + stats["throttled"]  # each 429 cost exactly one replay


def test_the_client_side_limit_keeps_a_client_under_the_service_limit(finops, fo_config):
    finops.seed(CustomersV3=300)
    finops.configure(throttle={"requests": 6, "window_s": 1})
    client = FinOpsClient(fo_config(page_size=30, requests_per_window=5, window_seconds=1))
    started = time.monotonic()
    pages = sum(1 for _ in client.pages("CustomersV3", select=["CustomerAccount"]))
    assert pages >= 10
    assert finops.stats()["throttled"] == 0
    assert time.monotonic() - started >= (pages - 5) / 5  # 5 per second after the first burst


def test_threads_of_one_connection_share_the_pause_a_429_asks_for(dataverse, dv_config):
    dataverse.seed(accounts=200)
    dataverse.configure(throttle={"requests": 10, "window_s": 1})
    client = DataverseClient(dv_config())
    ids = [row["accountid"] for row in client.rows("accounts", select=["accountid"])][:30]
    dataverse.control("DELETE", "stats")
    errors = []

    def fetch(chunk):
        try:
            for account_id in chunk:
                client.get("accounts", account_id, select=["name"])
        except ConnectorError as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(ids[n::6],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = dataverse.stats()
    assert errors == []
    assert stats["responses_by_status"]["200"] == 30
    # Only requests already in flight when the first 429 came can arrive inside the wait.
    assert stats["retry_after_violations"] <= 6


def test_the_concurrency_limit_is_kept_client_side(dataverse, dv_config):
    dataverse.seed(accounts=50)
    dataverse.configure(concurrency_limit=2, latency_ms=50)
    client = DataverseClient(dv_config(max_concurrency=2))
    ids = [row["accountid"] for row in client.rows("accounts", select=["accountid"])][:24]
    threads = [threading.Thread(target=lambda c=ids[n::8]: [client.get("accounts", i) for i in c])
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = dataverse.stats()
    assert stats["throttled"] == 0
    assert stats["responses_by_status"]["200"] == 25


def test_a_503_burst_is_ridden_out_with_backoff(finops, fo_config):
    finops.seed(CustomersV3=400)
    finops.configure(unavailable_rate=0.3)
    client = FinOpsClient(fo_config(page_size=20, max_retries=8))
    rows = sum(1 for _ in client.rows("CustomersV3", select=["CustomerAccount"]))
    stats = finops.stats()
    assert rows >= 400
    assert stats["unavailable"] > 0
    assert stats["requests"] == -(-rows // 20) + stats["unavailable"]


def test_retries_are_bounded_and_the_last_failure_is_raised(dataverse, dv_config):
    dataverse.configure(unavailable_rate=1.0)
    client = DataverseClient(dv_config(max_retries=3))
    with pytest.raises(TransientError) as caught:
        next(client.rows("accounts"))
    assert caught.value.status == 503
    assert dataverse.stats()["requests"] == 4


def test_a_read_timeout_is_a_transient_error_after_bounded_retries(dataverse, dv_config):
    dataverse.configure(latency_ms=800)
    client = DataverseClient(dv_config(read_timeout=0.3, max_retries=2))
    started = time.monotonic()
    with pytest.raises(TransientError, match="ReadTimeout"):
        next(client.rows("accounts"))
    assert time.monotonic() - started < 3
    time.sleep(0.9)  # let the emulator finish the abandoned requests before counting them
    assert dataverse.stats()["requests"] == 3


def test_a_post_that_may_have_run_is_not_replayed(dataverse, dv_config):
    dataverse.configure(latency_ms=800)
    client = DataverseClient(dv_config(read_timeout=0.3, max_retries=3))
    with pytest.raises(TransientError):
        client.create("accounts", {"name": "maybe created", "accountnumber": "POST-1"})
    time.sleep(0.9)
    assert dataverse.stats()["requests"] == 1
    dataverse.configure(latency_ms=0)
    assert next(client.rows("accounts", filter="accountnumber eq 'POST-1'"))["name"] == "maybe created"


def test_a_post_refused_with_503_is_sent_again(finops, fo_config):
    finops.configure(unavailable_rate=0.5)
    client = FinOpsClient(fo_config(max_retries=10))
    for number in range(6):
        client.upsert("CustomersV3", {"CustomerAccount": f"RETRY-{number}"},
                      {"OrganizationName": "Retried", "CustomerGroupId": "10"}, exists=False)
    assert finops.stats()["unavailable"] > 0
    assert sum(1 for _ in client.rows("CustomersV3", filter="OrganizationName eq 'Retried'")) == 6


def test_a_wait_longer_than_max_wait_is_handed_back_to_the_caller(dataverse, dv_config):
    dataverse.configure(throttle={"requests": 1, "window_s": 30})
    client = DataverseClient(dv_config(max_wait=2))
    next(client.pages("accounts"))
    started = time.monotonic()
    with pytest.raises(ThrottledError) as caught:
        next(client.pages("accounts"))
    assert time.monotonic() - started < 1
    assert caught.value.retry_after >= 25
    # The whole connection now waits: another request is refused before it is sent.
    requests_before = dataverse.stats()["requests"]
    with pytest.raises(ThrottledError):
        DataverseClient(dv_config(max_wait=2)).get("accounts", "00000000-0000-0000-0000-000000000001")
    assert dataverse.stats()["requests"] == requests_before
