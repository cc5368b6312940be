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
