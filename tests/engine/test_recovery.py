"""Recovery without waiting: a worker killed with SIGKILL, a planner killed mid-read and a broker that lost its
contents are noticed by the sweeper, which puts the work back at once. Leases and staleness thresholds are set to an
hour here, so a run can only end in time if the fast path took the work back."""

from __future__ import annotations

from collections import Counter

import pytest
import redis
from django.conf import settings

from integration.models import RecordStatus, RecordSync, RunStatus, StageStatus, SyncRun, WorkerHeartbeat
from integration.queueing import EPOCH_KEY
from integration.services import runs
from p2c_project import embedded_redis
from tests.support.projects import prospect_to_cash_project, wait_for_run
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ONLY_FAST_RECOVERY = {"P2C_RECORD_LEASE_SECONDS": "3600", "P2C_QUEUED_STALE_SECONDS": "3600",
                      "P2C_PLANNING_STALE_SECONDS": "3600"}
SWEEP_EVERY_SECOND = {"P2C_SWEEP_INTERVAL_SECONDS": "1", **ONLY_FAST_RECOVERY}


def customer_accounts(finops) -> Counter:
    return Counter(c["CustomerAccount"] for c in finops.rows("CustomersV3", **{"cross-company": "true"}))


def account_numbers(dataverse) -> set[str]:
    return {a["accountnumber"] for a in dataverse.rows("accounts") if a.get("accountnumber")}


def start_accounts_run(project) -> SyncRun:
    return runs.run_start(project=project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"],
                          trigger=SyncRun.Trigger.API)


def test_a_worker_killed_with_sigkill_gives_back_its_claimed_and_reserved_records_before_any_lease_ends(
        dataverse, finops, own_queue):
    dataverse.seed(accounts=8, seed=11)
    project = prospect_to_cash_project(dataverse, finops)
    finops.configure(latency_ms=3000)  # every write is slow: the worker is mid-record when it is killed
    own_queue.beat(extra_env=SWEEP_EVERY_SECOND)
    # One thread, three messages taken: one running, two reserved that only this worker would ever start.
    doomed = own_queue.worker(concurrency=1, options=("--prefetch-multiplier", "3"), extra_env=ONLY_FAST_RECOVERY)
    doomed_name = f"{doomed.name}:{doomed.process.pid}"
    run = start_accounts_run(project)
    claimed = wait_until(lambda: RecordSync.objects.filter(run=run, status=RecordStatus.RUNNING,
                                                           claimed_by=doomed_name).first(),
                         timeout=60, what="the doomed worker to claim a record")

    doomed.kill()
    finops.configure(latency_ms=0)
    rescuer = own_queue.worker(concurrency=2, extra_env=ONLY_FAST_RECOVERY)
    run = wait_for_run(run, timeout=120)

    assert run.status == RunStatus.SUCCEEDED
    claimed.refresh_from_db()
    assert claimed.status == RecordStatus.SUCCEEDED
    assert claimed.claimed_by == f"{rescuer.name}:{rescuer.process.pid}"
    assert claimed.attempts == 2
    assert WorkerHeartbeat.objects.get(name=doomed_name).gone_at is not None
    customers = customer_accounts(finops)
    assert set(customers) == account_numbers(dataverse)
    assert set(customers.values()) == {1}


def test_a_stage_whose_planner_was_killed_mid_read_is_planned_again_at_once(dataverse, finops, own_queue):
    dataverse.seed(accounts=20, seed=12)
    project = prospect_to_cash_project(dataverse, finops, page_size=4)  # five pages, each slow: a long read
    dataverse.configure(latency_ms=1500)
    own_queue.beat(extra_env=SWEEP_EVERY_SECOND)
    planner = own_queue.worker(concurrency=2, extra_env=ONLY_FAST_RECOVERY)
    run = start_accounts_run(project)
    stage = run.stages.get()
    wait_until(lambda: RecordSync.objects.filter(stage=stage).exists(), timeout=60,
               what="the planner to write its first page")
    assert run.stages.get().status == StageStatus.PLANNING

    planner.kill()
    dataverse.configure(latency_ms=0)
    own_queue.worker(concurrency=2, extra_env=ONLY_FAST_RECOVERY)
    run = wait_for_run(run, timeout=120)

    assert run.status == RunStatus.SUCCEEDED
    assert run.stages.get().status == StageStatus.SUCCEEDED
    customers = customer_accounts(finops)
    assert set(customers) == account_numbers(dataverse)
    assert set(customers.values()) == {1}


def test_a_broker_that_lost_its_contents_has_the_open_records_of_running_stages_queued_again(
        dataverse, finops, own_queue):
    dataverse.seed(accounts=60, seed=13)
    project = prospect_to_cash_project(dataverse, finops)
    finops.configure(latency_ms=100)
    own_queue.beat(extra_env=SWEEP_EVERY_SECOND)
    own_queue.worker(concurrency=1, extra_env=ONLY_FAST_RECOVERY)
    wait_until(lambda: broker().exists(settings.REDIS_KEY_PREFIX + EPOCH_KEY), timeout=60,
               what="a sweep to write the broker's epoch key")
    run = start_accounts_run(project)
    wait_until(lambda: run.stages.filter(status=StageStatus.RUNNING).exists()
               and RecordSync.objects.filter(run=run, status=RecordStatus.SUCCEEDED).count() >= 5,
               timeout=60, what="the stage to be planned and the first records synced")

    lose_the_brokers_contents()
    assert RecordSync.objects.filter(run=run, status=RecordStatus.PENDING).exists()
    finops.configure(latency_ms=0)
    run = wait_for_run(run, timeout=120)

    assert run.status == RunStatus.SUCCEEDED
    customers = customer_accounts(finops)
    assert set(customers) == account_numbers(dataverse)
    assert set(customers.values()) == {1}


def broker() -> redis.Redis:
    if settings.EMBEDDED_REDIS:
        return redis.Redis(unix_socket_path=str(embedded_redis.socket_path(settings.VAR_DIR)))
    return redis.Redis.from_url(settings.REDIS_URL)


def lose_the_brokers_contents() -> None:
    """The embedded Redis is restarted for real, empty; the shared Redis service cannot be, so every key of this
    test session is deleted instead (its queues, the messages workers took, the epoch key)."""
    if settings.EMBEDDED_REDIS:
        embedded_redis.stop(settings.VAR_DIR)
        embedded_redis.ensure_running(settings.VAR_DIR)
        return
    client = broker()
    keys = list(client.scan_iter(match=settings.REDIS_KEY_PREFIX + "*"))
    assert keys
    client.delete(*keys)
