"""Auto-pause, as dual-write does: failures at the threshold pause the entity map, its next stages are skipped with
the reason and its changes wait; resumed through the API, the next run syncs them. Emulators over HTTPS, a real
worker."""

from __future__ import annotations

import pytest

from integration.models import AlertIncident, AlertRule, EntityMap, RecordSync, RunStatus, StageStatus, SyncRun
from integration.services import runs
from integration.services.alerts import alerts_evaluate
from tests.api.conftest import token_client
from tests.support import factories
from tests.support.projects import prospect_to_cash_project, run_and_wait, wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)


def customer_names(finops) -> dict[str, str]:
    return {c["CustomerAccount"]: c["OrganizationName"]
            for c in finops.rows("CustomersV3", **{"cross-company": "true"})}


def test_failures_at_the_threshold_pause_the_map_until_it_is_resumed(dataverse, finops, celery_worker, smtp_sink):
    finops.seed(SellableReleasedProducts=5, seed=8)
    dataverse.seed(accounts=12, seed=8)
    project = prospect_to_cash_project(dataverse, finops)
    accounts_map = project.entity_maps.get(name="Accounts")
    AlertRule.objects.create(project=project, kind="failures", entity_map=accounts_map, threshold=2,
                             window_minutes=60, pause_entity_map=True, email_to="ops@example.com")
    headers = dataverse.auth_headers()
    numbered = [a for a in dataverse.rows("accounts") if a.get("accountnumber")]
    bad, good = numbered[:2], numbered[2]
    for account in bad:
        dataverse.session.patch(f"{dataverse.api_url}accounts({account['accountid']})",
                                json={"address1_country": "Atlantis"}, headers=headers).raise_for_status()

    first = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])
    assert first.counts["failed"] == 2
    alerts_evaluate()

    accounts_map.refresh_from_db()
    assert accounts_map.paused
    assert accounts_map.paused_reason.startswith("alert rule #")
    assert "Accounts: 2 records failed in the last 60 minutes (threshold 2)" in accounts_map.paused_reason
    assert smtp_sink.subjects() == ["[p2c] ALERT p2c-test: Failed records at or above a threshold"]

    dataverse.session.patch(f"{dataverse.api_url}accounts({good['accountid']})", json={"name": "Renamed Ltd"},
                            headers=headers).raise_for_status()
    skipped = run_and_wait(project, entity_maps=["Accounts"])

    assert skipped.status == RunStatus.WARNING
    stage = skipped.stages.get()
    assert stage.status == StageStatus.WARNING
    assert stage.message.startswith("skipped: entity map Accounts is paused (alert rule #")
    assert skipped.records.count() == 0
    assert customer_names(finops)[good["accountnumber"]] != "Renamed Ltd"

    operator = token_client(factories.user("operator", staff=False, perms=factories.ALL))
    response = operator.post(f"/api/projects/{project.name}/entity-maps/Accounts/resume/")
    assert response.status_code == 200, response.content
    assert response.json()["paused"] is False
    for account in bad:
        dataverse.session.patch(f"{dataverse.api_url}accounts({account['accountid']})",
                                json={"address1_country": "Germany"}, headers=headers).raise_for_status()

    resumed = run_and_wait(project, entity_maps=["Accounts"])

    assert resumed.status == RunStatus.SUCCEEDED, resumed.message
    assert customer_names(finops)[good["accountnumber"]] == "Renamed Ltd"
    assert {account["accountnumber"] for account in bad} <= set(customer_names(finops))
    alerts_evaluate()  # the failures were before the resume: they no longer count
    assert AlertIncident.objects.get().resolved_at is not None
    assert smtp_sink.subjects()[1] == "[p2c] RESOLVED p2c-test: Failed records at or above a threshold"
    assert not EntityMap.objects.get(pk=accounts_map.pk).paused


def test_records_given_to_a_paused_map_are_skipped_with_the_reason(dataverse, finops, celery_worker):
    finops.seed(SellableReleasedProducts=3, seed=9)
    dataverse.seed(accounts=3, seed=9)
    project = prospect_to_cash_project(dataverse, finops)
    account = next(a for a in dataverse.rows("accounts") if a.get("accountnumber"))
    operator = token_client(factories.user("operator", staff=False, perms=factories.ALL))
    assert operator.post(f"/api/projects/{project.name}/entity-maps/Accounts/pause/",
                         {"reason": "F&O maintenance"}, format="json").status_code == 200

    # As a Dataverse webhook would queue it: one record of the paused map.
    given = RecordSync(entity_map=project.entity_maps.get(name="Accounts"), source_key=account["accountnumber"],
                       source_id=account["accountid"], refresh=True)
    run = wait_for_run(runs.run_start_given(project=project, mode=SyncRun.Mode.RECORD,
                                            trigger=SyncRun.Trigger.WEBHOOK, records=[given]))

    row = run.records.get()
    assert row.status == "skipped"
    assert row.error_type == "paused"
    assert row.error_message.startswith("skipped: entity map Accounts is paused (F&O maintenance)")
    assert account["accountnumber"] not in customer_names(finops)
