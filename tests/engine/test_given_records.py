"""Runs over records already known (retries, webhooks): re-read from the source, keyed by what was read."""

from __future__ import annotations

import pytest

from integration.models import KeyLink, RecordSync, RunStatus, SyncRun
from integration.services import runs
from tests.support.projects import prospect_to_cash_project, wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_record_queued_by_its_id_is_read_and_keyed_by_its_account_number(dataverse, finops, celery_worker):
    dataverse.seed(accounts=3, seed=31)
    account = dataverse.session.get(f"{dataverse.api_url}accounts", headers=dataverse.auth_headers()).json()["value"][0]
    project = prospect_to_cash_project(dataverse, finops)
    accounts = project.entity_maps.get(name="Accounts")

    run = wait_for_run(runs.run_start_given(
        project=project, mode=SyncRun.Mode.RECORD, trigger=SyncRun.Trigger.WEBHOOK,
        records=[RecordSync(entity_map=accounts, source_key=account["accountid"], source_id=account["accountid"],
                            refresh=True)]))

    assert run.status == RunStatus.SUCCEEDED
    record = run.records.get()
    assert (record.source_key, record.outcome, record.refresh) == (account["accountnumber"], "created", False)
    assert record.snapshot["name"] == account["name"]
    assert KeyLink.objects.get(entity_map=accounts).source_key == account["accountnumber"]


def test_a_record_gone_from_the_source_is_skipped_saying_so(dataverse, finops, celery_worker):
    project = prospect_to_cash_project(dataverse, finops)
    accounts = project.entity_maps.get(name="Accounts")
    missing = "00000000-0000-4000-8000-000000000001"

    run = wait_for_run(runs.run_start_given(
        project=project, mode=SyncRun.Mode.RECORD, trigger=SyncRun.Trigger.WEBHOOK,
        records=[RecordSync(entity_map=accounts, source_key=missing, source_id=missing, refresh=True)]))

    record = run.records.get()
    assert (record.status, record.error_message) == (
        "skipped", "not found at the source (deleted, or never there); nothing written")
