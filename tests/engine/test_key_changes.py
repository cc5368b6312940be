"""A record whose natural key changed in the source (same id, new key) is handled as its entity map states, and
never becomes a silent second record: renamed where the destination lets its key change, else written anew with
the old record reported."""

from __future__ import annotations

import pytest

from integration.mapping import destination_key_text
from integration.models import EntityMap, KeyChange, KeyLink, RecordStatus, RunStatus, SyncRun
from integration.services import retries
from tests.support.projects import prospect_to_cash_project, run_and_wait, wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(dataverse, finops, celery_worker):
    dataverse.seed(accounts=6, seed=51)
    project = prospect_to_cash_project(dataverse, finops)
    assert run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"]).status == RunStatus.SUCCEEDED
    return project


def renumber(dataverse, account: dict, number: str) -> None:
    dataverse.session.patch(f"{dataverse.api_url}accounts({account['accountid']})", json={"accountnumber": number},
                            headers=dataverse.auth_headers()).raise_for_status()


def first_account(dataverse) -> dict:
    return min((a for a in dataverse.rows("accounts") if a.get("accountnumber")), key=lambda a: a["accountnumber"])


def customers(finops) -> dict[str, str]:
    rows = finops.rows("CustomersV3", **{"cross-company": "true"})
    return {c["CustomerAccount"]: c["OrganizationName"] for c in rows}


def old_key(link: KeyLink) -> str:
    return destination_key_text(link.destination_key_values)


def test_a_changed_account_number_writes_the_new_customer_and_reports_the_old_one(synced, dataverse, finops):
    account = first_account(dataverse)
    before = KeyLink.objects.get(source_id=account["accountid"])
    renumber(dataverse, account, "ACC-NEW-0001")

    run = run_and_wait(synced, entity_maps=["Accounts"])

    assert run.status == RunStatus.SUCCEEDED
    record = run.records.get()
    assert (record.source_key, record.outcome) == ("ACC-NEW-0001", "created")
    assert record.previous_destination_key == before.destination_key == old_key(before)
    assert f"source key {account['accountnumber']} became ACC-NEW-0001" in record.notes
    assert "left in place" in record.notes
    assert "1 records changed their key" in run.message
    now = customers(finops)
    assert now["ACC-NEW-0001"] == now[account["accountnumber"]] == account["name"]  # the old one is left, reported
    link = KeyLink.objects.get(source_id=account["accountid"])  # one link, moved to the new record
    assert (link.pk, link.source_key, link.destination_key_values["CustomerAccount"]) == (
        before.pk, "ACC-NEW-0001", "ACC-NEW-0001")

    again = run_and_wait(synced, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])
    assert again.records.get(source_key="ACC-NEW-0001").outcome == "unchanged"  # nothing written twice


def test_renaming_a_customer_is_refused_by_fno_and_says_so_until_the_map_creates_and_reports(
        synced, dataverse, finops):
    EntityMap.objects.filter(project=synced, name="Accounts").update(on_key_change=KeyChange.RENAME)
    account = first_account(dataverse)
    before = KeyLink.objects.get(source_id=account["accountid"])
    renumber(dataverse, account, "ACC-NEW-0002")

    run = run_and_wait(synced, entity_maps=["Accounts"])

    assert run.status == RunStatus.FAILED
    record = run.records.get()
    assert record.status == RecordStatus.FAILED
    assert record.error_message.startswith(f"renaming {before.destination_key} to ")
    assert "is part of the key and cannot be changed" in record.error_message  # F&O's Infolog
    assert "ACC-NEW-0002" not in customers(finops)
    assert KeyLink.objects.get(source_id=account["accountid"]).source_key == account["accountnumber"]

    EntityMap.objects.filter(project=synced, name="Accounts").update(on_key_change=KeyChange.CREATE_AND_REPORT)
    retry = wait_for_run(retries.run_retry_failed(run=run))
    assert retry.status == RunStatus.SUCCEEDED
    assert retry.records.get().previous_destination_key == before.destination_key
    assert {"ACC-NEW-0002", account["accountnumber"]} <= set(customers(finops))


def test_a_changed_contact_number_writes_a_new_contact_person_and_reports_the_old_one(dataverse, finops,
                                                                                     celery_worker):
    """The template creates and reports: whether F&O lets a contact person's ContactPersonId change is not
    published, and the emulator refuses it as it refuses any change of a stored key."""
    dataverse.seed(accounts=3, contacts=6, seed=52)
    project = prospect_to_cash_project(dataverse, finops)
    contacts = project.entity_maps.get(name="Contacts")
    assert contacts.on_key_change == KeyChange.CREATE_AND_REPORT
    assert run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts", "Contacts"]).status == \
        RunStatus.SUCCEEDED
    before = KeyLink.objects.filter(entity_map=contacts).order_by("source_key").first()
    persons = len(finops.rows(contacts.destination_entity_set, **{"cross-company": "true"}))
    dataverse.session.patch(f"{dataverse.api_url}contacts({before.source_id})",
                            json={"msdynce_contactnumber": "CON-NEW-0001"},
                            headers=dataverse.auth_headers()).raise_for_status()

    run = run_and_wait(project, entity_maps=["Contacts"])

    assert run.status == RunStatus.SUCCEEDED
    record = run.records.get()
    assert (record.outcome, record.previous_destination_key) == ("created", before.destination_key)
    assert "left in place" in record.notes
    assert "1 records changed their key" in run.message
    rows = finops.rows(contacts.destination_entity_set, **{"cross-company": "true"})
    assert len(rows) == persons + 1
    assert {"CON-NEW-0001", before.source_key} <= {row["ContactPersonId"] for row in rows}
    assert KeyLink.objects.get(pk=before.pk).source_key == "CON-NEW-0001"  # the link moved to the new record
