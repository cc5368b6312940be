"""Each change detection strategy reads only what changed: delta links, watermarks, and F&O full scans by hash."""

from __future__ import annotations

import pytest

from integration.models import ChangeCursor, ChangeDetection, EntityMap, KeyLink, RecordSync, RunStatus, SyncRun
from tests.support.projects import prospect_to_cash_project, run_and_wait

pytestmark = pytest.mark.django_db(transaction=True)


def written(run: SyncRun) -> list[tuple[str, str, str]]:
    return sorted(run.records.exclude(outcome="unchanged").values_list("entity_map__name", "source_key", "outcome"))


@pytest.fixture
def synced(dataverse, finops, celery_worker):
    finops.seed(SellableReleasedProducts=8, seed=11)
    dataverse.seed(accounts=12, seed=11)
    project = prospect_to_cash_project(dataverse, finops)
    first = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Products", "Accounts"])
    assert first.status == RunStatus.SUCCEEDED
    return project


def test_an_account_deleted_in_sales_is_noted_on_its_link_and_kept_in_fno(synced, dataverse, finops):
    account = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    dataverse.session.delete(f"{dataverse.api_url}accounts({account['accountid']})",
                             headers=dataverse.auth_headers()).raise_for_status()

    run = run_and_wait(synced, entity_maps=["Accounts"])

    record = run.records.get()
    assert (record.operation, record.outcome, record.source_key) == ("delete", "skipped", account["accountnumber"])
    assert "not propagated" in record.error_message
    assert KeyLink.objects.get(source_key=account["accountnumber"]).source_deleted_at is not None
    customers = {c["CustomerAccount"] for c in finops.rows("CustomersV3", **{"cross-company": "true"})}
    assert account["accountnumber"] in customers


def test_deletes_propagate_when_the_entity_map_says_so(synced, dataverse, finops):
    EntityMap.objects.filter(project=synced, name="Accounts").update(propagate_deletes=True)
    account = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    dataverse.session.delete(f"{dataverse.api_url}accounts({account['accountid']})",
                             headers=dataverse.auth_headers()).raise_for_status()

    run = run_and_wait(synced, entity_maps=["Accounts"])

    assert run.records.get().outcome == "deleted"
    customers = {c["CustomerAccount"] for c in finops.rows("CustomersV3", **{"cross-company": "true"})}
    assert account["accountnumber"] not in customers
    assert not KeyLink.objects.filter(source_key=account["accountnumber"]).exists()


def test_a_price_change_in_fno_is_found_by_hash_and_only_that_product_flows(synced, dataverse, finops):
    product = finops.rows("ReleasedProductsV2", **{"$filter": "dataAreaId eq 'usmf'"})[0]
    response = finops.session.patch(
        f"{finops.api_url}ReleasedProductsV2(dataAreaId='usmf',ItemNumber='{product['ItemNumber']}')",
        json={"SalesPrice": 1234.5}, headers=finops.auth_headers(), params={"cross-company": "true"})
    assert response.status_code == 204

    run = run_and_wait(synced, entity_maps=["Products"])

    assert written(run) == [("Products", product["ProductNumber"], "updated")]
    stage = run.stages.get()
    assert stage.records_read == 8  # a full scan reads everything ...
    assert run.records.count() == 1  # ... but only the changed product becomes work
    sales = next(p for p in dataverse.rows("products") if p["productnumber"] == product["ProductNumber"])
    assert float(sales["price"]) == 1234.5


def test_a_modified_on_watermark_finds_the_change_and_ties_write_nothing(synced, dataverse):
    EntityMap.objects.filter(project=synced, name="Accounts").update(change_detection=ChangeDetection.WATERMARK)
    baseline = run_and_wait(synced, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])
    assert baseline.counts["created"] == baseline.counts["updated"] == 0
    cursor = ChangeCursor.objects.get(entity_map__name="Accounts").value
    assert cursor  # the start of the read, minus the overlap

    account = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    dataverse.session.patch(f"{dataverse.api_url}accounts({account['accountid']})", json={"name": "Renamed Ltd."},
                            headers=dataverse.auth_headers()).raise_for_status()
    run = run_and_wait(synced, entity_maps=["Accounts"])

    assert written(run) == [("Accounts", account["accountnumber"], "updated")]


def test_an_expired_delta_link_makes_the_stage_read_everything_again(synced, dataverse):
    cursor = ChangeCursor.objects.get(entity_map__name="Accounts")
    base, _, _ = cursor.value.partition("$deltatoken=")
    expired = base + "$deltatoken=1001%2101%2F01%2F2020%2000%3A00%3A00"
    ChangeCursor.objects.filter(pk=cursor.pk).update(value=expired)

    run = run_and_wait(synced, entity_maps=["Accounts"])

    assert run.status == RunStatus.SUCCEEDED
    stage = run.stages.get()
    assert stage.records_read == len([a for a in dataverse.rows("accounts")])
    assert set(run.records.values_list("outcome", flat=True)) == {RecordSync.Outcome.UNCHANGED}
    fresh = ChangeCursor.objects.get(pk=cursor.pk).value
    assert fresh != expired
    assert "$deltatoken=" in fresh
