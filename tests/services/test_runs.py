"""Starting, locking, cancelling and counting runs."""

from __future__ import annotations

import pytest

from integration.models import RecordStatus, RecordSync, RunStatus, StageStatus, SyncRun
from integration.services import runs
from tests.support.projects import prospect_to_cash_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(dataverse_emulator, finops_emulator):
    return prospect_to_cash_project(dataverse_emulator, finops_emulator)


def test_a_run_has_one_stage_per_enabled_entity_map_in_order(project):
    project.entity_maps.filter(name="Quote lines").update(enabled=False)

    run = runs.run_start(project=project, trigger=SyncRun.Trigger.API)

    assert list(run.stages.values_list("entity_map__name", flat=True)) == [
        "Products", "Product price list items", "Accounts", "Contacts", "Contacts to customers", "Quotes",
        "Sales orders", "Sales order lines", "Sales orders from F&O", "Sales order lines from F&O",
        "Freight tax lines", "Sales invoices", "Sales invoice lines"]
    assert run.status == RunStatus.QUEUED
    assert set(run.stages.values_list("status", flat=True)) == {StageStatus.PENDING}


def test_a_second_bulk_run_is_refused_while_one_is_in_progress(project):
    first = runs.run_start(project=project, trigger=SyncRun.Trigger.API)

    with pytest.raises(runs.RunInProgress) as refused:
        runs.run_start(project=project, trigger=SyncRun.Trigger.SCHEDULE)

    assert refused.value.run == first
    assert f"run #{first.pk}" in str(refused.value)
    runs.run_cancel(run=first)
    assert runs.run_start(project=project, trigger=SyncRun.Trigger.API).pk != first.pk


def test_a_paused_project_does_not_run(project):
    project.paused = True
    project.save()

    with pytest.raises(runs.RunRefused, match="paused"):
        runs.run_start(project=project, trigger=SyncRun.Trigger.API)
    assert not SyncRun.objects.exists()


def test_unknown_entity_maps_are_named_in_the_refusal(project):
    with pytest.raises(runs.RunRefused, match="no enabled entity map named Invoices"):
        runs.run_start(project=project, trigger=SyncRun.Trigger.API, entity_maps=["Accounts", "Invoices"])


def test_cancelling_skips_open_records_and_the_counts_equal_the_rows(project):
    run = runs.run_start(project=project, trigger=SyncRun.Trigger.API, entity_maps=["Accounts"])
    stage = run.stages.get()
    statuses = [RecordStatus.SUCCEEDED, RecordStatus.FAILED, RecordStatus.PENDING, RecordStatus.WAITING]
    RecordSync.objects.bulk_create(
        RecordSync(run=run, stage=stage, entity_map=stage.entity_map, source_key=f"A{n}", status=status,
                   outcome="created" if status == RecordStatus.SUCCEEDED else "")
        for n, status in enumerate(statuses))

    assert runs.run_cancel(run=run, reason="stopped by an admin")

    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert run.counts == {"total": 4, "created": 1, "updated": 0, "unchanged": 0, "deleted": 0, "skipped": 2,
                          "failed": 1, "open": 0}
    assert sum(v for k, v in run.counts.items() if k != "total") == run.records.count()
    assert not runs.run_cancel(run=run)  # only once
