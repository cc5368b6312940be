"""The record path's branches, one record at a time in this process against the emulators: a parent not linked
yet, a destination linked to another record, a wait too long for the broker, another run writing the same record,
the unforeseen, an attempt that never ended, an id that names no record, values the database cannot store."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from integration.mapping import destination_key_text
from integration.models import FieldMap, KeyLink, RecordStatus, RecordSync, SyncRun
from integration.services import contexts, records, runs
from integration.services.failures import failure_text
from tests.support.projects import prospect_to_cash_project

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_stale_map_contexts():
    # Contexts are cached per (entity map, run) id; on SQLite a rolled-back test's ids come back in the next one.
    contexts._cache.clear()


@pytest.fixture
def project(dataverse, finops):
    made = prospect_to_cash_project(dataverse, finops, max_retries=0)  # a 429 or 503 comes back to the engine
    made.organization_mappings.all().delete()
    made.organization_mappings.create(business_unit="Contoso US", legal_entity="usmf", is_default=True,
                                      exports_products=True)
    return made


def new_account(dataverse, **fields) -> dict:
    body = {"name": "Contoso", "accountnumber": f"ACC-{uuid.uuid4().hex[:8].upper()}", **fields}
    response = dataverse.session.post(f"{dataverse.api_url}accounts", json=body,
                                      headers=dataverse.auth_headers(Prefer="return=representation"))
    response.raise_for_status()
    return response.json()


def queued(project, map_name: str, *, source_id: str, source_key: str = "", snapshot: dict | None = None) -> RecordSync:
    """A one-record run as a webhook starts it: from the image (`snapshot`), or to be read by its id."""
    entity_map = project.entity_maps.get(name=map_name)
    run = runs.run_start_given(project=project, mode=SyncRun.Mode.RECORD, trigger=SyncRun.Trigger.WEBHOOK,
                               records=[RecordSync(entity_map=entity_map, source_key=source_key or source_id,
                                                   source_id=source_id, snapshot=snapshot, refresh=snapshot is None)])
    return run.records.get()


def sync(record: RecordSync) -> records.Decision:
    """One delivery of the record's message, its wait (if any) being over."""
    RecordSync.objects.filter(pk=record.pk, status=RecordStatus.WAITING).update(next_attempt_at=timezone.now())
    decision = records.record_sync(record_id=record.pk)
    record.refresh_from_db()
    return decision


def customers(finops, account_number: str) -> list[dict]:
    return finops.rows("CustomersV3", **{"cross-company": "true", "$filter": f"CustomerAccount eq '{account_number}'"})


def test_a_contact_whose_account_is_not_linked_waits_and_then_fails_naming_the_account(project, dataverse):
    account = new_account(dataverse)
    contact = queued(project, "Contacts", source_id=str(uuid.uuid4()), source_key="CON-1", snapshot={
        "msdynce_contactnumber": "CON-1", "msdynce_isactivecustomer": False, "msdynce_iscompanyanaccount": True,
        "_parentcustomerid_value": account["accountid"], "firstname": "Ann", "lastname": "Lee"})

    for _ in range(settings.P2C_MISSING_PARENT_ATTEMPTS - 1):
        decision = sync(contact)
        assert contact.status == RecordStatus.WAITING
        assert contact.error_type == "missing_parent"
        assert decision.retry_in is not None
    sync(contact)

    assert contact.status == RecordStatus.FAILED
    assert contact.attempts == settings.P2C_MISSING_PARENT_ATTEMPTS
    assert account["accountid"] in contact.error_message
    assert "not linked in Accounts" in contact.error_message


def test_a_destination_linked_to_another_source_record_fails_after_three_tries_naming_it(project, dataverse, finops):
    account = new_account(dataverse)
    destination = {"dataAreaId": "usmf", "CustomerAccount": account["accountnumber"]}
    KeyLink.objects.create(entity_map=project.entity_maps.get(name="Accounts"), source_key="SOMEONE-ELSE",
                           source_id=str(uuid.uuid4()), destination_key=destination_key_text(destination),
                           destination_key_values=destination, synced_at=timezone.now())
    record = queued(project, "Accounts", source_id=account["accountid"])

    for _ in range(2):
        sync(record)
        assert (record.status, record.error_type) == (RecordStatus.WAITING, "link_conflict")
    sync(record)

    assert record.status == RecordStatus.FAILED
    assert record.error_message.startswith("gave up after 3 attempts: destination ")
    assert account["accountnumber"] in record.error_message
    assert "linked to another source record" in record.error_message
    assert len(customers(finops, account["accountnumber"])) == 1  # written three times, created once


def test_a_wait_longer_than_a_broker_countdown_is_kept_in_the_database_for_the_sweeper(project, dataverse, finops):
    finops.configure(throttle={"requests": 1, "window_s": 600})
    first, second = (queued(project, "Accounts", source_id=new_account(dataverse)["accountid"]) for _ in range(2))
    sync(first)
    assert first.status == RecordStatus.SUCCEEDED  # it used the one request the window allows

    decision = sync(second)

    assert decision.retry_in is None  # no message with a countdown longer than Redis's visibility timeout
    assert second.status == RecordStatus.WAITING
    assert second.error_type == "throttled"
    assert second.next_attempt_at > timezone.now() + timedelta(seconds=settings.P2C_MAX_COUNTDOWN_SECONDS)


def test_a_record_another_run_is_writing_waits_for_it_without_spending_an_attempt(project, dataverse, finops):
    account = new_account(dataverse)
    number = account["accountnumber"]
    bulk = queued(project, "Accounts", source_id=account["accountid"], source_key=number, snapshot=account)
    webhook = queued(project, "Accounts", source_id=account["accountid"], source_key=number, snapshot=account)
    RecordSync.objects.filter(pk=bulk.pk).update(status=RecordStatus.RUNNING, claimed_at=timezone.now())

    decision = sync(webhook)

    assert 0 < decision.retry_in <= 1.5 * settings.P2C_BUSY_WAIT_SECONDS
    assert (webhook.status, webhook.error_type, webhook.attempts) == (RecordStatus.WAITING, "busy", 0)
    assert f"run #{bulk.run_id} is syncing this record" in webhook.error_message
    assert customers(finops, number) == []

    RecordSync.objects.filter(pk=bulk.pk).update(status=RecordStatus.SUCCEEDED)
    sync(webhook)
    assert (webhook.status, webhook.attempts) == (RecordStatus.SUCCEEDED, 1)
    assert len(customers(finops, number)) == 1


def test_a_record_queued_by_its_id_waits_when_its_key_turns_out_to_be_written_by_another_run(project, dataverse):
    account = new_account(dataverse)
    bulk = queued(project, "Accounts", source_id=account["accountid"], source_key=account["accountnumber"],
                  snapshot=account)
    RecordSync.objects.filter(pk=bulk.pk).update(status=RecordStatus.RUNNING, claimed_at=timezone.now())
    webhook = queued(project, "Accounts", source_id=account["accountid"])  # its key is known once it is read

    sync(webhook)

    assert (webhook.status, webhook.error_type) == (RecordStatus.WAITING, "busy")
    assert webhook.source_key == account["accountid"]  # it takes its key when it may write


def test_an_unforeseen_exception_fails_the_record_after_a_few_attempts_with_its_type_and_text(project, dataverse):
    FieldMap.objects.filter(entity_map__project=project, entity_map__name="Accounts",
                            destination_field="OrganizationName").update(
        transforms=["format"], options={"format": {"template": "{value:d}"}})  # valid, until a name meets it
    record = queued(project, "Accounts", source_id=new_account(dataverse)["accountid"])

    for _ in range(settings.P2C_UNEXPECTED_ERROR_ATTEMPTS - 1):
        decision = sync(record)
        assert (record.status, record.error_type) == (RecordStatus.WAITING, "unexpected")
        assert decision.retry_in is not None
    sync(record)

    assert record.status == RecordStatus.FAILED
    assert record.error_type == "unexpected"
    assert record.error_message == (f"gave up after {settings.P2C_UNEXPECTED_ERROR_ATTEMPTS} attempts: "
                                    "ValueError: Unknown format code 'd' for object of type 'str'")


def test_a_record_whose_attempts_never_ended_fails_when_it_is_taken_back(project, dataverse, finops):
    account = new_account(dataverse)
    record = queued(project, "Accounts", source_id=account["accountid"])
    lease_over = timezone.now() - timedelta(seconds=settings.P2C_RECORD_LEASE_SECONDS + 1)
    RecordSync.objects.filter(pk=record.pk).update(status=RecordStatus.RUNNING, claimed_at=lease_over,
                                                   attempts=settings.P2C_RECORD_MAX_ATTEMPTS)

    sync(record)

    assert record.status == RecordStatus.FAILED
    assert record.attempts == settings.P2C_RECORD_MAX_ATTEMPTS + 1  # the take-back counted
    assert record.error_type == "abandoned"
    assert "never ended" in record.error_message
    assert customers(finops, account["accountnumber"]) == []


def test_a_source_id_that_is_not_a_guid_fails_the_record_saying_so(project):
    record = queued(project, "Accounts", source_id="42; drop table")

    sync(record)

    assert (record.status, record.error_type, record.error_field) == (RecordStatus.FAILED, "invalid_id", "accountid")
    assert record.error_message == "the source id '42; drop table' is not a GUID"


def test_a_nul_character_in_a_records_image_is_removed_and_said_so_and_the_record_syncs(project, dataverse, finops):
    account = new_account(dataverse, name="Con\x00toso")
    assert account["name"] == "Con\x00toso"
    record = queued(project, "Accounts", source_id=account["accountid"], source_key=account["accountnumber"],
                    snapshot=account)

    sync(record)

    assert record.status == RecordStatus.SUCCEEDED
    assert record.snapshot["name"] == "Contoso"
    assert "removed from name" in record.notes
    assert customers(finops, account["accountnumber"])[0]["OrganizationName"] == "Contoso"


def test_a_nul_character_in_a_records_key_fails_that_record_naming_the_field(project, dataverse):
    account = new_account(dataverse, accountnumber="ACC\x00-NUL")
    record = queued(project, "Accounts", source_id=account["accountid"], source_key=account["accountnumber"],
                    snapshot=account)

    assert record.status == RecordStatus.FAILED
    assert (record.error_type, record.error_field) == ("unstorable", "accountnumber")
    assert record.source_key == "ACC\\u0000-NUL"
    assert "fix it in the source" in record.error_message


def test_an_unforeseen_error_text_never_shows_the_projects_secrets(project):
    secret = project.finops_connection.client_secret

    text = failure_text(RuntimeError(f"token request with {secret} refused"), project=project)

    assert text == "RuntimeError: token request with [redacted] refused"
