"""No record and no stage blocks a project: whatever one record or one stage meets, it fails alone with its
message, the run ends with counts that equal its rows, and the next sync starts. And one record has one writer:
concurrent one-record runs for the same new records write each of them once."""

from __future__ import annotations

from collections import Counter

import pytest

from integration.models import EntityMap, FieldMap, RecordStatus, RecordSync, RunStatus, StageStatus, SyncRun
from integration.services import runs
from tests.support.projects import prospect_to_cash_project, run_and_wait, wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)


def patch(dataverse, entity_set: str, record_id: str, **values) -> None:
    dataverse.session.patch(f"{dataverse.api_url}{entity_set}({record_id})", json=values,
                            headers=dataverse.auth_headers()).raise_for_status()


def accounts_of(dataverse) -> list[dict]:
    return [a for a in dataverse.rows("accounts") if a.get("accountnumber")]


def customer_names(finops) -> dict[str, str]:
    rows = finops.rows("CustomersV3", **{"cross-company": "true"})
    return {c["CustomerAccount"]: c["OrganizationName"] for c in rows}


def assert_counts_equal_rows(run: SyncRun) -> None:
    assert run.counts["open"] == 0
    assert sum(n for name, n in run.counts.items() if name != "total") == run.counts["total"] == run.records.count()


def assert_next_sync_starts(project) -> None:
    """The project's run lock was released: another bulk run starts and ends."""
    assert run_and_wait(project, entity_maps=["Accounts"]).status in (RunStatus.SUCCEEDED, RunStatus.WARNING)


def test_a_nul_character_in_sales_is_removed_from_a_value_and_refused_in_a_key_and_the_run_ends(
        dataverse, finops, celery_worker):
    dataverse.seed(accounts=20, seed=41)
    named, keyed = accounts_of(dataverse)[:2]
    patch(dataverse, "accounts", named["accountid"], name="Fabri\x00kam")
    patch(dataverse, "accounts", keyed["accountid"], accountnumber="ACC\x00-NUL")
    project = prospect_to_cash_project(dataverse, finops)

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])

    assert run.status == RunStatus.WARNING
    cleaned = run.records.get(source_key=named["accountnumber"])
    assert cleaned.status == RecordStatus.SUCCEEDED
    assert "removed from name" in cleaned.notes
    refused = run.records.get(status=RecordStatus.FAILED)
    assert (refused.source_key, refused.error_type, refused.error_field) == ("ACC\\u0000-NUL", "unstorable",
                                                                             "accountnumber")
    assert "fix it in the source" in refused.error_message
    assert run.counts["created"] == 19  # its neighbours in the planned chunk are not held back
    assert_counts_equal_rows(run)
    names = customer_names(finops)
    assert names[named["accountnumber"]] == "Fabrikam"
    assert not any("\x00" in number for number in names)
    assert_next_sync_starts(project)


def test_a_record_whose_sync_raises_the_unforeseen_fails_alone_after_a_few_attempts_and_the_run_ends(
        dataverse, finops, celery_worker):
    dataverse.seed(accounts=10, seed=42)
    bad = accounts_of(dataverse)[0]
    patch(dataverse, "accounts", bad["accountid"], address1_line3="Suite 5")  # blank on every other account
    project = prospect_to_cash_project(dataverse, finops)
    accounts = project.entity_maps.get(name="Accounts")
    FieldMap.objects.filter(entity_map=accounts, destination_field="AddressStreet").update(
        source_field="address1_line3", transforms=["format"], options={"format": {"template": "{value:d}"}})
    EntityMap.objects.filter(pk=accounts.pk).update(source_select=[*accounts.source_select, "address1_line3"])

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])

    assert run.status == RunStatus.WARNING
    failed = run.records.get(status=RecordStatus.FAILED)
    assert failed.source_key == bad["accountnumber"]
    assert failed.attempts == 3
    assert failed.error_type == "unexpected"
    assert failed.error_message.endswith("ValueError: Unknown format code 'd' for object of type 'str'")
    assert run.counts["created"] == 9
    assert_counts_equal_rows(run)
    assert_next_sync_starts(project)


def test_a_stage_whose_filter_the_source_refuses_fails_alone_and_the_run_ends_releasing_the_lock(
        dataverse, finops, celery_worker):
    finops.seed(SellableReleasedProducts=3, seed=43)
    dataverse.seed(accounts=4, seed=43)
    project = prospect_to_cash_project(dataverse, finops)
    EntityMap.objects.filter(project=project, name="Products").update(source_filter="NoSuchField eq 1")

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Products", "Accounts"])

    assert run.status == RunStatus.FAILED
    products, accounts = run.stages.order_by("order")
    assert products.status == StageStatus.FAILED
    assert "NoSuchField" in products.message
    assert accounts.status == StageStatus.SUCCEEDED  # the run went on without it
    assert run.counts["created"] == 4
    assert_counts_equal_rows(run)
    assert_next_sync_starts(project)


def test_a_stage_whose_planning_raises_the_unforeseen_is_planned_again_a_few_times_then_fails(
        dataverse, finops, celery_worker):
    finops.seed(SellableReleasedProducts=3, seed=44)
    project = prospect_to_cash_project(dataverse, finops)
    EntityMap.objects.filter(project=project, name="Products").update(source_filter="dataAreaId eq '{company}'")

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Products"])

    assert run.status == RunStatus.FAILED
    stage = run.stages.get()
    assert (stage.status, stage.plan_attempts) == (StageStatus.FAILED, 3)
    assert stage.message == "gave up after 3 attempts: reading its changes failed: KeyError: 'company'"
    assert_counts_equal_rows(run)
    assert_next_sync_starts(project)


def test_a_record_id_that_is_not_a_guid_fails_its_record_and_the_run_ends(dataverse, finops, celery_worker):
    project = prospect_to_cash_project(dataverse, finops)
    accounts = project.entity_maps.get(name="Accounts")

    run = wait_for_run(runs.run_start_given(
        project=project, mode=SyncRun.Mode.RECORD, trigger=SyncRun.Trigger.WEBHOOK,
        records=[RecordSync(entity_map=accounts, source_key="not-a-guid", source_id="not-a-guid", refresh=True)]))

    assert run.status == RunStatus.FAILED
    record = run.records.get()
    assert (record.error_type, record.attempts) == ("invalid_id", 1)
    assert record.error_message == "the source id 'not-a-guid' is not a GUID"


def test_concurrent_create_and_update_runs_for_new_contacts_write_each_contact_once(dataverse, finops, celery_worker):
    dataverse.seed(accounts=5, seed=45)
    project = prospect_to_cash_project(dataverse, finops)
    assert run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"]).status == RunStatus.SUCCEEDED
    contacts_map = project.entity_maps.get(name="Contacts")
    parents = accounts_of(dataverse)
    contacts = [new_contact(dataverse, parents[n % len(parents)]) for n in range(50)]  # the 50 pairs

    started = []
    for contact in contacts:
        # As the webhook intake starts them: a Create from its image, an Update re-read by its id.
        started.append(one_record_run(project, RecordSync(
            entity_map=contacts_map, source_key=contact["msdynce_contactnumber"], source_id=contact["contactid"],
            snapshot=contact)))
        started.append(one_record_run(project, RecordSync(
            entity_map=contacts_map, source_key=contact["contactid"], source_id=contact["contactid"], refresh=True)))
    finished = [wait_for_run(run, timeout=180) for run in started]

    failures = list(RecordSync.objects.filter(run__in=finished, status=RecordStatus.FAILED).values_list(
        "source_key", "error_message"))
    assert failures == []
    assert {run.status for run in finished} == {RunStatus.SUCCEEDED}
    key_field = next(name for name in contacts_map.destination_key_fields if name != "dataAreaId")
    persons = Counter(person[key_field] for person in finops.rows(contacts_map.destination_entity_set,
                                                                   **{"cross-company": "true"}))
    assert {number: persons[number] for number in (c["msdynce_contactnumber"] for c in contacts)} == {
        c["msdynce_contactnumber"]: 1 for c in contacts}


def new_contact(dataverse, account: dict) -> dict:
    body = {"firstname": "Ann", "lastname": f"Lee {account['accountnumber']}", "msdynce_isactivecustomer": False,
            "parentcustomerid_account@odata.bind": f"/accounts({account['accountid']})"}
    response = dataverse.session.post(f"{dataverse.api_url}contacts", json=body,
                                      headers=dataverse.auth_headers(Prefer="return=representation"))
    response.raise_for_status()
    return response.json()


def one_record_run(project, record: RecordSync) -> SyncRun:
    return runs.run_start_given(project=project, mode=SyncRun.Mode.RECORD, trigger=SyncRun.Trigger.WEBHOOK,
                                records=[record])
