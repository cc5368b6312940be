"""Runs that meet trouble still end with every record synced once: throttling, outages, bad records, crashes."""

from __future__ import annotations

from collections import Counter

import pytest
import redis
from django.conf import settings

from integration.models import FieldMap, RecordStatus, RecordSync, RunStatus, StageStatus, SyncRun
from integration.services import retries, runs
from p2c_project import embedded_redis
from tests.support.projects import prospect_to_cash_project, run_and_wait, wait_for_run
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def customer_accounts(finops) -> Counter:
    return Counter(c["CustomerAccount"] for c in finops.rows("CustomersV3", **{"cross-company": "true"}))


def account_numbers(dataverse) -> set[str]:
    return {a["accountnumber"] for a in dataverse.rows("accounts") if a.get("accountnumber")}


def test_throttling_and_outages_still_sync_every_record_once(dataverse, finops, celery_worker):
    finops.seed(SellableReleasedProducts=10, seed=4)
    dataverse.seed(accounts=60, contacts=40, seed=4)
    project = prospect_to_cash_project(dataverse, finops, batch_size=5)  # enough requests for faults to hit
    finops.configure(throttle={"requests": 5, "window_s": 1}, unavailable_rate=0.15)
    dataverse.configure(unavailable_rate=0.1)

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Products", "Accounts", "Contacts"],
                       timeout=240)

    stats = finops.stats()
    finops.configure(throttle=None, unavailable_rate=0)
    dataverse.configure(unavailable_rate=0)
    assert run.status == RunStatus.SUCCEEDED, list(run.records.filter(status=RecordStatus.FAILED).values_list(
        "source_key", "error_message"))
    assert stats["throttled"] > 0
    assert stats["unavailable"] > 0
    customers = customer_accounts(finops)
    assert set(customers) == account_numbers(dataverse)
    assert set(customers.values()) == {1}


def test_a_bad_record_fails_alone_with_its_reason_and_succeeds_after_the_fix(dataverse, finops, celery_worker):
    finops.seed(SellableReleasedProducts=5, seed=5)
    dataverse.seed(accounts=20, seed=5)
    project = prospect_to_cash_project(dataverse, finops)
    bad = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    headers = dataverse.auth_headers()
    dataverse.session.patch(f"{dataverse.api_url}accounts({bad['accountid']})", json={"address1_country": "Atlantis"},
                            headers=headers).raise_for_status()

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])

    assert run.status == RunStatus.WARNING
    failed = RecordSync.objects.get(run=run, status=RecordStatus.FAILED)
    assert failed.source_key == bad["accountnumber"]
    assert failed.error_field == "AddressCountryRegionId"
    assert "Atlantis" in failed.error_message
    assert run.counts["failed"] == 1
    assert run.counts["created"] == len(account_numbers(dataverse)) - 1
    assert bad["accountnumber"] not in customer_accounts(finops)

    dataverse.session.patch(f"{dataverse.api_url}accounts({bad['accountid']})", json={"address1_country": "Germany"},
                            headers=headers).raise_for_status()
    retry = wait_for_run(retries.run_retry_failed(run=run))

    assert retry.status == RunStatus.SUCCEEDED
    assert retry.records.get().retry_of == failed
    customer = next(c for c in finops.rows("CustomersV3", **{"cross-company": "true"})
                    if c["CustomerAccount"] == bad["accountnumber"])
    assert customer["AddressCountryRegionId"] == "DEU"


def test_an_api_validation_error_fails_with_the_apis_message_and_a_retry_after_the_fix_succeeds(
        dataverse, finops, celery_worker):
    dataverse.seed(accounts=5, seed=6)
    project = prospect_to_cash_project(dataverse, finops)
    group = FieldMap.objects.get(entity_map__project=project, entity_map__name="Accounts",
                                 destination_field="CustomerGroupId")
    FieldMap.objects.filter(pk=group.pk).update(default_value="77")

    # Without the pre-flight check (which would refuse the run: tests/services/test_preflight.py), so the API
    # itself refuses each record.
    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"], check=False)

    assert run.status == RunStatus.FAILED
    messages = set(run.records.values_list("error_message", flat=True))
    assert len(messages) == 1
    assert "'77'" in messages.pop()  # F&O's Infolog names the value it could not find
    assert run.records.get(source_key=sorted(account_numbers(dataverse))[0]).attempts == 1  # not retried as transient

    FieldMap.objects.filter(pk=group.pk).update(default_value="10")
    retry = wait_for_run(retries.run_retry_failed(run=run))
    assert retry.status == RunStatus.SUCCEEDED
    assert set(customer_accounts(finops)) == account_numbers(dataverse)


def test_killing_a_worker_mid_run_ends_with_every_record_synced_once(dataverse, finops, own_queue):
    dataverse.seed(accounts=150, seed=7)
    project = prospect_to_cash_project(dataverse, finops)
    finops.configure(latency_ms=40)
    run = runs.run_start(project=project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"],
                         trigger=SyncRun.Trigger.API)
    doomed = own_queue.worker(concurrency=4)
    wait_until(lambda: RecordSync.objects.filter(run=run, status=RecordStatus.SUCCEEDED).count() >= 20,
               timeout=60, what="the first records to sync")
    doomed.kill()
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert RecordSync.objects.filter(run=run).exclude(status=RecordStatus.SUCCEEDED).exists()

    own_queue.beat(extra_env={"P2C_SWEEP_INTERVAL_SECONDS": "1"})
    own_queue.worker(concurrency=4)
    run = wait_for_run(run, timeout=120)
    finops.configure(latency_ms=0)

    assert run.status == RunStatus.SUCCEEDED
    assert run.counts["created"] + run.counts["updated"] == len(account_numbers(dataverse))
    customers = customer_accounts(finops)
    assert set(customers) == account_numbers(dataverse)
    assert set(customers.values()) == {1}


def test_messages_lost_in_a_broker_restart_are_queued_again_by_the_sweeper(dataverse, finops, own_queue):
    dataverse.seed(accounts=120, seed=8)
    project = prospect_to_cash_project(dataverse, finops, batch_size=2)  # 60 batch messages, some to lose
    finops.configure(latency_ms=60)
    run = runs.run_start(project=project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"],
                         trigger=SyncRun.Trigger.API)
    own_queue.worker(concurrency=1)
    wait_until(lambda: run.stages.filter(status=StageStatus.RUNNING).exists()
               and RecordSync.objects.filter(run=run, status=RecordStatus.SUCCEEDED).count() >= 5,
               timeout=60, what="the stage to be planned and the first records synced")

    lose_queued_messages(own_queue.queue)
    assert RecordSync.objects.filter(run=run, status=RecordStatus.PENDING).exists()

    own_queue.beat(extra_env={"P2C_SWEEP_INTERVAL_SECONDS": "1"})
    finops.configure(latency_ms=0)
    run = wait_for_run(run, timeout=120)

    assert run.status == RunStatus.SUCCEEDED
    assert set(customer_accounts(finops)) == account_numbers(dataverse)


def lose_queued_messages(queue: str) -> None:
    """What a broker restart without persistence does: the embedded Redis is restarted for real; the shared
    Redis service cannot be, so the queue's keys are deleted instead."""
    if settings.EMBEDDED_REDIS:
        embedded_redis.stop(settings.VAR_DIR)
        embedded_redis.ensure_running(settings.VAR_DIR)
        return
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.REDIS_KEY_PREFIX
    lost = client.delete(prefix + queue)
    assert lost


def test_a_stage_whose_reads_are_interrupted_by_passing_trouble_is_planned_again_and_the_run_succeeds(
        dataverse, finops, celery_worker):
    """Sales unavailable past the connector's own retries while a stage reads (as the shared limiter's Redis is
    during a broker restart): the stage is planned again after a backoff instead of failing the run."""
    dataverse.seed(accounts=20, seed=5)
    project = prospect_to_cash_project(dataverse, finops, max_retries=0)
    dataverse.configure(unavailable_rate=1.0)
    run = runs.run_start(project=project, mode=SyncRun.Mode.FULL, trigger=SyncRun.Trigger.API, entity_maps=["Accounts"],
                         check=False)
    stage = run.stages.get()
    wait_until(lambda: stage.__class__.objects.filter(pk=stage.pk, message__contains="was interrupted").exists(),
               timeout=60, what="the first read to be interrupted")

    dataverse.configure(unavailable_rate=0)
    run = wait_for_run(run, timeout=120)

    stage.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.message
    assert stage.status == StageStatus.SUCCEEDED
    assert stage.plan_attempts >= 2
    assert set(customer_accounts(finops)) == account_numbers(dataverse)
