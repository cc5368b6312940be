"""A Prospect-to-cash run end to end: seeded emulators over HTTPS, a real worker, a real database."""

from __future__ import annotations

import pytest

from integration.models import KeyLink, RecordStatus, RecordSync, RunStatus, SyncRun
from tests.support.projects import prospect_to_cash_project, run_and_wait

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seeded(dataverse, finops):
    finops.seed(SellableReleasedProducts=20, seed=3)
    dataverse.seed(accounts=30, contacts=40, quotes=15, seed=3)
    return dataverse, finops


def test_full_run_syncs_every_eligible_record_once(seeded, celery_worker):
    dataverse, finops = seeded
    project = prospect_to_cash_project(dataverse, finops)

    run = run_and_wait(project, mode=SyncRun.Mode.FULL)

    failures = list(RecordSync.objects.filter(run=run, status=RecordStatus.FAILED).values_list(
        "entity_map__name", "source_key", "error_message"))
    assert failures == []
    assert run.status == RunStatus.SUCCEEDED, run.message
    assert run.counts["created"] + run.counts["updated"] > 0

    accounts = [a for a in dataverse.rows("accounts") if a.get("accountnumber")]
    customers = {(c["dataAreaId"], c["CustomerAccount"]): c for c in finops.rows("CustomersV3",
                                                                          **{"cross-company": "true"})}
    for account in accounts:
        matches = [c for (company, number), c in customers.items() if number == account["accountnumber"]]
        assert len(matches) == 1, account["accountnumber"]
        assert matches[0]["OrganizationName"] == account["name"][:100]
        assert matches[0]["IsExternallyMaintained"] == "Yes"

    contacts = dataverse.rows("contacts")
    persons = finops.rows("CDSContactPersonsV2", **{"cross-company": "true"})
    expected_persons = {c["msdynce_contactnumber"] for c in contacts
                        if not c.get("msdynce_isactivecustomer") and c.get("msdynce_iscompanyanaccount")}
    assert sorted(p["ContactPersonId"] for p in persons) == sorted(expected_persons)

    active = {c["msdynce_contactnumber"] for c in contacts if c.get("msdynce_isactivecustomer")}
    assert active <= {number for _, number in customers}

    quotes = dataverse.rows("quotes")
    eligible_quotes = {q["quotenumber"] for q in quotes
                       if q["statecode"] == 1 and q.get("msdynce_hasexternallymaintainedproductsonly")}
    headers = finops.rows("CDSSalesQuotationHeaders", **{"cross-company": "true"})
    assert sorted(h["SalesQuotationNumber"] for h in headers) == sorted(eligible_quotes)

    products = finops.rows("SellableReleasedProducts", **{"$filter": "dataAreaId eq 'usmf'"})
    sales_products = {p["productnumber"]: p for p in dataverse.rows("products")}
    for product in products:
        assert sales_products[product["ProductNumber"]]["msdynce_ismaintainedexternally"] is True

    # A second run finds nothing new to write.
    before = finops.stats()["requests_by_entity_set"]
    again = run_and_wait(project)
    after = finops.stats()["requests_by_entity_set"]
    assert again.status == RunStatus.SUCCEEDED
    assert again.counts["created"] == again.counts["updated"] == 0
    writes = sum(n for name, methods in after.items() for method, n in methods.items() if method in ("POST", "PATCH"))
    writes_before = sum(n for name, methods in before.items() for method, n in methods.items()
                        if method in ("POST", "PATCH"))
    assert writes == writes_before


def test_a_changed_field_flows_in_the_next_incremental_run_and_nothing_else(seeded, celery_worker):
    dataverse, finops = seeded
    project = prospect_to_cash_project(dataverse, finops)
    run_and_wait(project, mode=SyncRun.Mode.FULL)

    account = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    response = dataverse.session.patch(f"{dataverse.api_url}accounts({account['accountid']})",
                                       json={"telephone1": "+1 425-555-0100"}, headers=dataverse.auth_headers())
    assert response.status_code == 204

    run = run_and_wait(project)

    assert run.status == RunStatus.SUCCEEDED
    written = RecordSync.objects.filter(run=run, outcome__in=["created", "updated"])
    assert [(r.entity_map.name, r.source_key) for r in written] == [("Accounts", account["accountnumber"])]
    link = KeyLink.objects.get(entity_map__name="Accounts", source_key=account["accountnumber"])
    customer = finops.session.get(
        f"{finops.api_url}CustomersV3(dataAreaId='{link.destination_key_values['dataAreaId']}',"
        f"CustomerAccount='{account['accountnumber']}')", params={"cross-company": "true"},
        headers=finops.auth_headers()).json()
    assert customer["PrimaryContactPhone"] == "+1 425-555-0100"


def test_a_page_planned_in_chunks_queues_every_record_once_and_counts_it_once(dataverse, finops, own_queue):
    """Planning writes and queues a page a chunk per transaction (P2C_PLAN_CHUNK), so workers start early."""
    dataverse.seed(accounts=23, seed=5)
    own_queue.worker(extra_env={"P2C_PLAN_CHUNK": "4"})
    project = prospect_to_cash_project(dataverse, finops)

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])

    assert run.status == RunStatus.SUCCEEDED, run.message
    accounts = dataverse.rows("accounts")
    eligible = {a["accountnumber"] for a in accounts if a.get("accountnumber")}
    stage = run.stages.get()
    assert stage.records_read == len(accounts)
    assert stage.records_read - stage.records_ineligible == len(eligible)
    rows = RecordSync.objects.filter(run=run)
    assert rows.count() == len(eligible)
    assert set(rows.values_list("status", flat=True)) == {RecordStatus.SUCCEEDED}
    customers = finops.rows("CustomersV3", **{"cross-company": "true"})
    assert sorted(c["CustomerAccount"] for c in customers) == sorted(eligible)
