"""The client-side limiter: one budget per connection, shared by threads, and by processes through Redis."""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
import uuid

import pytest

from connectors import ConnectionConfig, ThrottledError
from connectors.limiter import LocalLimiter, RedisLimiter, limiter_for
from tests.connectors import limiter_worker


def _config(**overrides):
    return ConnectionConfig(**{"system": "dataverse", "base_url": "https://org.crm.dynamics.com",
                               "client_id": "app", "tenant": "contoso", "client_secret": "s", **overrides})


def test_threads_never_exceed_the_concurrency_limit():
    limiter = LocalLimiter(None, 1, max_concurrency=2)
    running, peak, lock = 0, 0, threading.Lock()

    def work():
        nonlocal running, peak
        for _ in range(5):
            with limiter.slot(5):
                with lock:
                    running += 1
                    peak = max(peak, running)
                time.sleep(0.01)
                with lock:
                    running -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2


def test_the_window_spreads_requests_and_refuses_waits_longer_than_allowed():
    limiter = LocalLimiter(4, 0.5, max_concurrency=10)
    started = time.monotonic()
    for _ in range(8):
        with limiter.slot(5):
            pass
    assert time.monotonic() - started >= 0.5
    for _ in range(4):
        with limiter.slot(5):
            pass
    with pytest.raises(ThrottledError) as caught, limiter.slot(0.05):
        pass
    assert caught.value.retry_after > 0.05


def _send_times(limiter, count):
    times = []
    for _ in range(count):
        with limiter.slot(5):
            times.append(time.monotonic())
    return times


def _assert_even_pace(times, interval):
    """No burst: each request waited for its turn at window / limit, less the small catch-up slack."""
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= interval * 0.7, gaps
    assert times[-1] - times[0] >= interval * (len(times) - 1) - 0.05


def test_a_budget_is_spent_at_an_even_pace_not_in_a_burst():
    _assert_even_pace(_send_times(LocalLimiter(10, 1.0, max_concurrency=10), 6), 0.1)


def test_a_budget_in_redis_is_spent_at_an_even_pace(limiter_redis_url, redis_prefix):
    config = _config(requests_per_window=10, window_seconds=1.0, redis_url=limiter_redis_url,
                     redis_key_prefix=redis_prefix)
    _assert_even_pace(_send_times(RedisLimiter(config, lease_seconds=5), 6), 0.1)


def _second_send_after_a_slow_answer(limiter) -> float:
    started = time.monotonic()
    with limiter.slot(5):
        time.sleep(0.3)  # the service got it some time in these 0.3 s
    with limiter.slot(5):
        return time.monotonic() - started


def test_a_request_counts_in_the_window_until_a_window_after_its_answer():
    """With one request per 0.2 s, the next may go 0.2 s after the slow one's answer, not after its sending."""
    assert _second_send_after_a_slow_answer(LocalLimiter(1, 0.2, max_concurrency=5)) >= 0.49


def test_a_request_counts_in_the_redis_window_until_a_window_after_its_answer(limiter_redis_url, redis_prefix):
    config = _config(requests_per_window=1, window_seconds=0.2, redis_url=limiter_redis_url,
                     redis_key_prefix=redis_prefix)
    assert _second_send_after_a_slow_answer(RedisLimiter(config, lease_seconds=5)) >= 0.49


def test_a_pause_holds_every_caller_of_the_connection():
    limiter = limiter_for(_config(tenant=f"t-{uuid.uuid4().hex}"))
    limiter.pause(0.3)
    started = time.monotonic()
    with limiter.slot(5):
        pass
    assert time.monotonic() - started >= 0.29


def test_two_processes_share_one_budget_through_redis(dataverse, tenant, limiter_redis_url, redis_prefix):
    dataverse.seed(accounts=1)
    account_id = dataverse.session.get(dataverse.api_url + "accounts?$select=accountid",
                                       headers=dataverse.auth_headers()).json()["value"][0]["accountid"]
    # The service allows 12 requests a second; each process alone keeps to 10, so only a shared budget
    # keeps the two of them under the service's limit.
    dataverse.configure(throttle={"requests": 12, "window_s": 1})
    context = multiprocessing.get_context("spawn")
    go, done = context.Event(), context.Queue()
    processes = [context.Process(target=limiter_worker.hammer, args=(
        dataverse.origin, dataverse.cert_path, tenant, limiter_redis_url, redis_prefix, account_id, 15, go, done))
        for _ in range(2)]
    for process in processes:
        process.start()
    assert [done.get(timeout=60) for _ in processes] == ["ready", "ready"]  # tokens, connections
    dataverse.control("DELETE", "stats")
    started = time.monotonic()
    go.set()
    finished = [done.get(timeout=20) for _ in processes]
    elapsed = time.monotonic() - started
    for process in processes:
        process.join(timeout=10)
    stats = dataverse.stats()
    assert finished == [15, 15]
    assert stats["throttled"] == 0
    assert stats["responses_by_status"] == {"200": 30}
    assert elapsed >= 2.7  # 30 requests at an even 10 a second


def test_a_killed_worker_does_not_keep_its_concurrency_slot(limiter_redis_url, redis_prefix):
    config = _config(max_concurrency=1, redis_url=limiter_redis_url, redis_key_prefix=redis_prefix,
                     requests_per_window=None)
    context = multiprocessing.get_context("spawn")
    holding = context.Event()
    holder = context.Process(target=limiter_worker.hold_a_slot, args=(config, 1.0, holding))
    holder.start()
    assert holding.wait(30)
    limiter = RedisLimiter(config, lease_seconds=1.0)
    with pytest.raises(ThrottledError), limiter.slot(0.2):
        pass
    holder.kill()
    holder.join()
    started = time.monotonic()
    with limiter.slot(5):
        pass
    assert time.monotonic() - started < 1.5  # the dead worker's lease expired
