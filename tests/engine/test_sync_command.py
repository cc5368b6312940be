"""`manage.py sync PROJECT --wait` starts a run through the queue and exits with the run's outcome."""

from __future__ import annotations

import pytest

from integration.models import RunStatus, SyncRun
from tests.conftest import TEST_KEY_PREFIX
from tests.support.projects import prospect_to_cash_project
from tests.support.worker import manage_py

pytestmark = pytest.mark.django_db(transaction=True)


def test_sync_wait_shows_progress_and_exits_0_when_the_run_succeeded(dataverse, finops, celery_worker):
    dataverse.seed(accounts=10, seed=21)
    prospect_to_cash_project(dataverse, finops)

    result = manage_py("sync", "p2c-test", "--full", "--entity-map", "Accounts", "--wait",
                       key_prefix=TEST_KEY_PREFIX)

    assert result.returncode == 0, result.stderr
    run = SyncRun.objects.get()
    assert (run.trigger, run.mode, run.status) == ("command", "full", RunStatus.SUCCEEDED)
    assert f"run #{run.pk} of p2c-test queued (full)" in result.stdout
    assert "Accounts: running" in result.stdout or "Accounts: succeeded" in result.stdout
    assert f"run #{run.pk} succeeded: total=10 created=10" in result.stdout


def test_sync_wait_exits_1_on_warning(dataverse, finops, celery_worker):
    dataverse.seed(accounts=4, seed=22)
    prospect_to_cash_project(dataverse, finops)
    bad = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    dataverse.session.patch(f"{dataverse.api_url}accounts({bad['accountid']})", json={"address1_country": "Mars"},
                            headers=dataverse.auth_headers()).raise_for_status()

    result = manage_py("sync", "p2c-test", "--entity-map", "Accounts", "--wait", key_prefix=TEST_KEY_PREFIX)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "warning: total=4 created=3 failed=1" in result.stdout


def test_sync_refuses_an_unknown_project_with_exit_2(db):
    result = manage_py("sync", "nope", key_prefix=TEST_KEY_PREFIX)
    assert result.returncode == 2
    assert "no project named 'nope'" in result.stderr


def test_sync_wait_exits_0_when_only_known_failures_remain_and_says_nothing_new_failed(dataverse, finops,
                                                                                       celery_worker):
    dataverse.seed(accounts=4, seed=23)
    prospect_to_cash_project(dataverse, finops)
    bad = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    dataverse.session.patch(f"{dataverse.api_url}accounts({bad['accountid']})", json={"address1_country": "Mars"},
                            headers=dataverse.auth_headers()).raise_for_status()
    first = manage_py("sync", "p2c-test", "--entity-map", "Accounts", "--wait", key_prefix=TEST_KEY_PREFIX)
    assert first.returncode == 1, first.stdout + first.stderr

    again = manage_py("sync", "p2c-test", "--entity-map", "Accounts", "--wait", key_prefix=TEST_KEY_PREFIX)

    assert again.returncode == 0, again.stdout + again.stderr
    run = SyncRun.objects.order_by("-pk").first()
    assert f"run #{run.pk}: nothing new failed; 1 still failing from earlier runs" in again.stdout


def test_sync_dry_run_prints_what_would_change_and_writes_nothing(dataverse, finops, celery_worker):
    dataverse.seed(accounts=3, seed=24)
    prospect_to_cash_project(dataverse, finops)
    before = finops.stats()["requests_by_entity_set"].get("CustomersV3", {})

    result = manage_py("sync", "p2c-test", "--entity-map", "Accounts", "--dry-run", key_prefix=TEST_KEY_PREFIX)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Accounts: read 3, create 3, update 0, unchanged 0, would fail 0" in result.stdout
    assert not SyncRun.objects.exists()
    after = finops.stats()["requests_by_entity_set"].get("CustomersV3", {})
    assert {m: n for m, n in after.items() if m != "GET"} == {m: n for m, n in before.items() if m != "GET"}
