"""A record that keeps failing is not failed again by every run: an incremental run leaves it alone while its source
is unchanged (the run is not red, and says nothing new failed), tries it again once its source changed, and the
failing-records queue shows it once however many runs saw it."""

from __future__ import annotations

import pytest

from integration.models import RecordStatus, RecordSync, RunStatus, SyncRun
from integration.services import failing
from integration.services.run_results import run_exit_code
from tests.support.projects import prospect_to_cash_project, run_and_wait

pytestmark = pytest.mark.django_db(transaction=True)


def set_country(dataverse, account: dict, country: str) -> None:
    dataverse.session.patch(f"{dataverse.api_url}accounts({account['accountid']})",
                            json={"address1_country": country}, headers=dataverse.auth_headers()).raise_for_status()


@pytest.fixture
def failing_account(dataverse, finops, celery_worker):
    """A synced project whose Accounts map fails one account (a country no value map knows) in its full run."""
    finops.seed(SellableReleasedProducts=3, seed=31)
    dataverse.seed(accounts=8, seed=31)
    project = prospect_to_cash_project(dataverse, finops)
    bad = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    set_country(dataverse, bad, "Atlantis")
    full = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])
    assert full.status == RunStatus.WARNING
    return project, bad, full


def test_an_unchanged_failed_record_is_not_tried_again_and_the_run_is_not_red(failing_account, dataverse):
    project, bad, full = failing_account
    other = next(a for a in dataverse.rows("accounts") if a.get("accountnumber") and a["accountid"] != bad["accountid"])
    dataverse.session.patch(f"{dataverse.api_url}accounts({other['accountid']})", json={"telephone1": "+1 555 0100"},
                            headers=dataverse.auth_headers()).raise_for_status()
    # Touch the bad account without changing what the map reads: the change feed returns it, its content is the same.
    dataverse.session.patch(f"{dataverse.api_url}accounts({bad['accountid']})", json={"address1_country": "Atlantis"},
                            headers=dataverse.auth_headers()).raise_for_status()

    run = run_and_wait(project, entity_maps=["Accounts"])

    assert not run.records.filter(source_key=bad["accountnumber"]).exists()  # not tried again
    assert list(run.records.values_list("source_key", "outcome")) == [(other["accountnumber"], "updated")]
    assert (run.status, run_exit_code(run=run)) == (RunStatus.SUCCEEDED, 0)
    assert run.message.startswith("nothing new failed; 1 still failing from earlier runs")
    queue = failing.failing_now(project=project)
    assert [(row.source_key, row.run_id) for row in queue] == [(bad["accountnumber"], full.pk)]


def test_a_failed_record_whose_source_changed_is_tried_again(failing_account, dataverse):
    project, bad, _ = failing_account
    set_country(dataverse, bad, "Narnia")  # still unknown: it fails again, as a new failure

    run = run_and_wait(project, entity_maps=["Accounts"])

    failed = run.records.get(source_key=bad["accountnumber"])
    assert (failed.status, failed.error_field, failed.error_message) == (
        RecordStatus.FAILED, "AddressCountryRegionId", "no value map entry for 'Narnia'")
    assert (run.status, run_exit_code(run=run)) == (RunStatus.FAILED, 2)  # it was the run's only record

    set_country(dataverse, bad, "Germany")
    fixed = run_and_wait(project, entity_maps=["Accounts"])

    assert fixed.records.get(source_key=bad["accountnumber"]).outcome == RecordSync.Outcome.CREATED
    assert fixed.status == RunStatus.SUCCEEDED
    assert not failing.failing_now(project=project).exists()


def test_a_full_run_tries_known_failures_again_and_is_not_red_when_they_only_repeat(failing_account):
    project, bad, _ = failing_account

    again = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])

    assert again.records.get(source_key=bad["accountnumber"]).status == RecordStatus.FAILED
    assert again.counts["known_failures"] == 1
    assert again.status == RunStatus.SUCCEEDED
    assert again.message.startswith("nothing new failed; 1 failed again as before")
    assert failing.failing_queue(project=project).get().failures == 2  # one line, two failures
