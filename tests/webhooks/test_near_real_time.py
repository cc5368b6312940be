"""End to end: a change made in the Sales emulator reaches the F&O emulator through a webhook, with no scheduled
or manual run, through the Django server (live_server) and a real worker; a forged one writes nothing."""

from __future__ import annotations

import uuid

import pytest
import requests

from integration.models import RecordStatus, RunStatus, SyncRun, WebhookDelivery
from tests.support.projects import prospect_to_cash_project, run_and_wait
from tests.support.waiting import wait_until
from tests.webhooks import contexts

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "e2e-webhook-secret-6c1f0d2b-94a7-4f38-8e55-0b7d3c9a2e61"
HEADER = "x-p2c-webhook-key"


def customer(finops, account_number: str) -> dict | None:
    response = finops.session.get(f"{finops.api_url}CustomersV3", headers=finops.auth_headers(), params={
        "cross-company": "true", "$filter": f"CustomerAccount eq '{account_number}'"}, timeout=30)
    response.raise_for_status()
    return next(iter(response.json()["value"]), None)


def sales(dataverse, method: str, path: str, *, headers: dict | None = None, **kwargs):
    headers = dataverse.auth_headers(**({"If-Match": "*"} if method == "PATCH" else {}), **(headers or {}))
    response = dataverse.session.request(method, dataverse.api_url + path, timeout=30, headers=headers, **kwargs)
    response.raise_for_status()
    return response


@pytest.fixture
def subscribed(dataverse, finops, celery_worker, live_server):
    """Accounts synced once in full (so they are linked), then a webhook from Sales to this Django server."""
    dataverse.seed(accounts=6, seed=5)
    project = prospect_to_cash_project(dataverse, finops)
    project.webhook_secret = SECRET
    project.save()
    assert run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"]).status == RunStatus.SUCCEEDED
    dataverse.control("POST", "webhooks", {
        "url": f"{live_server.url}/api/webhooks/dataverse/{project.name}/", "entities": ["account"],
        "messages": ["Create", "Update", "Delete"], "auth": {"type": "HttpHeader", "name": HEADER, "value": SECRET}})
    return project


def fno_writes(finops) -> int:
    """Requests to the F&O emulator that could have changed its data."""
    return sum(count for methods in finops.stats()["requests_by_entity_set"].values()
               for method, count in methods.items() if method != "GET")


def forge(live_server, project, body) -> SyncRun:
    """POST a context with the right secret, as someone who has it could; the one-record run it starts, ended."""
    response = requests.post(f"{live_server.url}/api/webhooks/dataverse/{project.name}/", json=body,
                             headers={HEADER: SECRET}, timeout=30)
    assert response.status_code == 202, response.text
    run = SyncRun.objects.get(pk=response.json()["run"])
    wait_until(lambda: SyncRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED, what="the forged run's end")
    return run


def test_an_update_in_sales_reaches_fno_without_any_scheduled_run(subscribed, dataverse, finops):
    account = sales(dataverse, "GET", "accounts", params={"$top": 1, "$filter": "accountnumber ne null"}).json()
    account = account["value"][0]
    sales(dataverse, "PATCH", f"accounts({account['accountid']})", json={"telephone1": "+1 206 555 0142"})

    synced = wait_until(lambda: (c := customer(finops, account["accountnumber"])) and
                        c["PrimaryContactPhone"] == "+1 206 555 0142" and c, timeout=60, interval=0.1,
                        what="the new phone number in F&O")

    assert synced["OrganizationName"] == account["name"]
    run = SyncRun.objects.get(trigger=SyncRun.Trigger.WEBHOOK)
    wait_until(lambda: SyncRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED, what="the webhook run's end")
    record = run.records.get()
    assert (record.source_key, record.outcome, record.refresh) == (account["accountnumber"], "updated", False)
    assert SyncRun.objects.filter(is_bulk=True).count() == 1  # only the initial full run
    assert WebhookDelivery.objects.get().run == run
    assert dataverse.stats()["webhooks_sent"] == 1


def test_a_new_account_in_sales_is_created_in_fno(subscribed, dataverse, finops):
    businessunit = sales(dataverse, "GET", "businessunits", params={"$top": 1}).json()["value"][0]
    created = sales(dataverse, "POST", "accounts", json={
        "name": "Northwind Webhooks", "address1_country": "United States", "telephone1": "+1 206 555 0100",
        "owningbusinessunit@odata.bind": f"/businessunits({businessunit['businessunitid']})"},
        headers={"Prefer": "return=representation"})
    number = created.json()["accountnumber"]

    synced = wait_until(lambda: customer(finops, number), timeout=60, interval=0.1, what="the customer in F&O")

    assert synced["OrganizationName"] == "Northwind Webhooks"
    assert SyncRun.objects.get(trigger=SyncRun.Trigger.WEBHOOK).records.get().outcome == "created"


def test_a_forged_create_of_an_account_sales_does_not_hold_writes_nothing_to_fno(subscribed, dataverse, finops,
                                                                               live_server):
    before = fno_writes(finops)
    forged_id = str(uuid.uuid4())
    image = contexts.account_attributes(accountid=forged_id, accountnumber="FORGED-0001", name="Forged Ltd")
    run = forge(live_server, subscribed, contexts.context("Create", record_id=forged_id, target=image, image=image))

    record = run.records.get()
    assert (record.status, record.outcome) == (RecordStatus.SKIPPED, "skipped")
    assert record.error_message == "not found at the source (deleted, or never there); nothing written"
    assert fno_writes(finops) == before
    assert customer(finops, "FORGED-0001") is None


def test_a_forged_delete_of_an_account_sales_still_holds_deletes_nothing(subscribed, dataverse, finops, live_server):
    subscribed.entity_maps.filter(name="Accounts").update(propagate_deletes=True)
    account = sales(dataverse, "GET", "accounts", params={"$top": 1, "$filter": "accountnumber ne null"}).json()
    account = account["value"][0]
    before = fno_writes(finops)
    run = forge(live_server, subscribed, contexts.context("Delete", record_id=account["accountid"]))

    record = run.records.get()
    assert (record.operation, record.status) == ("delete", RecordStatus.SKIPPED)
    assert record.error_message == "still at the source; the delete is not acted on"
    assert fno_writes(finops) == before
    assert customer(finops, account["accountnumber"]) is not None
