"""Bulk runs write in batches (one `$batch` per batch of records, each record its own operation) and every record
still ends with its own outcome: a record the service refuses fails alone, a throttled batch waits and syncs, and
records a batch cannot settle go on alone. Real worker, real database, emulators over HTTPS."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from django.db.models import Q

from integration.models import (
    Connection,
    FieldMap,
    KeyLink,
    RecordStatus,
    RecordSync,
    RunStatus,
    SyncRun,
    ValueMapEntry,
)
from integration.services import runs
from tests.support.projects import prospect_to_cash_project, run_and_wait
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def customers(finops) -> list[dict]:
    return finops.rows("CustomersV3", **{"cross-company": "true"})


def accounts_with_numbers(dataverse) -> list[dict]:
    return [a for a in dataverse.rows("accounts") if a.get("accountnumber")]


def test_accounts_are_written_a_batch_per_request_each_with_its_own_outcome(dataverse, finops, celery_worker):
    dataverse.seed(accounts=45, seed=61)
    project = prospect_to_cash_project(dataverse, finops)
    Connection.objects.filter(pk=project.finops_connection_id).update(batch_size=10)
    accounts = accounts_with_numbers(dataverse)
    finops.control("DELETE", "stats")

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])

    assert run.status == RunStatus.SUCCEEDED
    assert run.counts["created"] == len(accounts)
    requests = finops.stats()["requests_by_entity_set"]
    assert requests["$batch"] == {"POST": math.ceil(len(accounts) / 10)}
    assert "POST" not in requests.get("CustomersV3", {})  # no record went alone
    assert sorted(c["CustomerAccount"] for c in customers(finops)) == sorted(a["accountnumber"] for a in accounts)


def test_a_record_the_service_refuses_fails_alone_and_its_batch_neighbours_are_written(dataverse, finops,
                                                                                       celery_worker):
    dataverse.seed(accounts=12, seed=62)
    project = prospect_to_cash_project(dataverse, finops)
    Connection.objects.filter(pk=project.finops_connection_id).update(batch_size=50)
    accounts = accounts_with_numbers(dataverse)
    bad = accounts[3]
    # The customer group comes from the city, and one city's group does not exist in F&O: F&O refuses that one.
    group = FieldMap.objects.get(entity_map__project=project, entity_map__name="Accounts",
                                 destination_field="CustomerGroupId")
    FieldMap.objects.filter(pk=group.pk).update(source_field="address1_city", transforms=["value_map"],
                                                value_map_default="10")
    ValueMapEntry.objects.create(field_map=group, source_value=bad["address1_city"], destination_value="77")

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"], check=False)

    same_city = {a["accountnumber"] for a in accounts if a["address1_city"] == bad["address1_city"]}
    failed = dict(run.records.filter(status=RecordStatus.FAILED).values_list("source_key", "error_message"))
    assert set(failed) == same_city
    assert all("'77'" in message for message in failed.values())  # F&O's Infolog names the value
    assert {c["CustomerAccount"] for c in customers(finops)} == {a["accountnumber"] for a in accounts} - same_city
    assert finops.stats()["requests_by_entity_set"]["$batch"]["POST"] == 1


def test_a_throttled_batch_waits_and_every_record_syncs_once(dataverse, finops, celery_worker):
    dataverse.seed(accounts=30, seed=63)
    project = prospect_to_cash_project(dataverse, finops)
    Connection.objects.filter(pk=project.finops_connection_id).update(batch_size=5, max_retries=0)
    finops.configure(throttle={"requests": 2, "window_s": 1})

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"], timeout=180, check=False)

    throttled = finops.stats()["throttled"]
    finops.configure(throttle=None)
    assert run.status == RunStatus.SUCCEEDED
    assert throttled > 0
    numbers = [c["CustomerAccount"] for c in customers(finops)]
    assert sorted(numbers) == sorted(a["accountnumber"] for a in accounts_with_numbers(dataverse))


def test_a_batch_turned_away_waits_as_one_so_a_sweep_finds_all_of_it_or_none(dataverse, finops, celery_worker):
    """Every record of a throttled batch falls due at the same instant: a sweep whose cut-off fell between two of
    them would give the batch back in two pieces, one request more."""
    dataverse.seed(accounts=30, seed=65)
    project = prospect_to_cash_project(dataverse, finops)
    Connection.objects.filter(pk=project.finops_connection_id).update(batch_size=10, max_retries=0)
    finops.configure(throttle={"requests": 1, "window_s": 120})
    run = runs.run_start(project=project, mode=SyncRun.Mode.FULL, trigger=SyncRun.Trigger.API, entity_maps=["Accounts"],
                         check=False)  # the check reads F&O, which would spend the one request allowed
    records = RecordSync.objects.filter(run=run)
    settled = ~Q(status__in=(RecordStatus.PENDING, RecordStatus.RUNNING))

    wait_until(lambda: records.count() == 30 == records.filter(settled).count(), timeout=60,
               what="each batch written or throttled")

    finops.configure(throttle=None)
    due = Counter(records.filter(status=RecordStatus.WAITING).values_list("next_attempt_at", flat=True))
    assert sum(due.values()) >= 20
    assert set(due.values()) == {10}
    runs.run_cancel(run=run)


def test_a_batch_written_after_its_run_was_cancelled_links_its_records_and_leaves_them_cancelled(
        dataverse, finops, celery_worker):
    """The batch ends only records still running, as the single-record path does: the cancel's outcome stands
    (and the run's counts with it), while the links record what F&O now holds."""
    dataverse.seed(accounts=10, seed=66)
    project = prospect_to_cash_project(dataverse, finops)
    Connection.objects.filter(pk=project.finops_connection_id).update(batch_size=10)
    finops.configure(latency_ms=3000)  # the batch is in flight when the run is cancelled
    run = runs.run_start(project=project, mode=SyncRun.Mode.FULL, trigger=SyncRun.Trigger.API, entity_maps=["Accounts"],
                         check=False)
    records = RecordSync.objects.filter(run=run)
    wait_until(lambda: records.filter(status=RecordStatus.RUNNING).count() == len(accounts_with_numbers(dataverse)),
               timeout=60, what="the batch claimed")

    runs.run_cancel(run=run)
    wait_until(lambda: KeyLink.objects.filter(entity_map__project=project, entity_map__name="Accounts").count()
               == records.count(), timeout=60, what="the batch's links written")

    finops.configure(latency_ms=0)
    assert set(records.values_list("status", "error_type")) == {(RecordStatus.SKIPPED, "cancelled")}
    assert len(customers(finops)) == records.count()


def test_a_batch_throttled_for_longer_than_a_broker_countdown_comes_back_from_the_sweeper_as_a_batch(
        dataverse, finops, own_queue):
    """A Retry-After longer than a broker countdown may be (here any: the countdown limit is 0) leaves the records
    waiting in the database; the sweeper gives them back as batches, so the run keeps one request per batch."""
    dataverse.seed(accounts=40, seed=64)
    project = prospect_to_cash_project(dataverse, finops)
    Connection.objects.filter(pk=project.finops_connection_id).update(batch_size=10, max_retries=0)
    finops.configure(throttle={"requests": 2, "window_s": 2})
    own_queue.beat(extra_env={"P2C_SWEEP_INTERVAL_SECONDS": "1"})
    own_queue.worker(extra_env={"P2C_MAX_COUNTDOWN_SECONDS": "0"})

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"], timeout=180, check=False)

    stats = finops.stats()
    finops.configure(throttle=None)
    assert run.status == RunStatus.SUCCEEDED
    assert stats["throttled"] > 0
    requests = stats["requests_by_entity_set"]
    assert not {"POST", "PATCH"} & set(requests.get("CustomersV3", {}))  # no record went alone
    assert requests["$batch"]["POST"] == 4 + stats["throttled"]
    numbers = [c["CustomerAccount"] for c in customers(finops)]
    assert sorted(numbers) == sorted(a["accountnumber"] for a in accounts_with_numbers(dataverse))


def test_products_go_to_sales_in_batches_with_their_ids_linked(dataverse, finops, celery_worker):
    finops.seed(SellableReleasedProducts=25, seed=64)
    project = prospect_to_cash_project(dataverse, finops)
    Connection.objects.filter(pk=project.sales_connection_id).update(batch_size=10)
    dataverse.control("DELETE", "stats")

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Products"])

    assert run.status == RunStatus.SUCCEEDED
    assert dataverse.stats()["requests_by_entity_set"]["$batch"] == {"POST": 3}
    products = {p["productnumber"]: p["productid"] for p in dataverse.rows("products")}
    links = dict(project.entity_maps.get(name="Products").key_links.values_list("source_key", "destination_id"))
    assert links == products  # each record's id came back from its own operation in the batch
