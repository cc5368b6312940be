"""History older than a project's retention period is purged; recent and running history is kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.models import DryRun, DryRunRecord, RecordSync, RunStatus, SyncRun
from integration.services import retention, runs
from tests.support.projects import prospect_to_cash_project

pytestmark = pytest.mark.django_db


def test_runs_past_retention_are_purged_with_their_records(dataverse_emulator, finops_emulator):
    project = prospect_to_cash_project(dataverse_emulator, finops_emulator)
    project.retention_days = 30
    project.save()
    old = runs.run_start(project=project, trigger=SyncRun.Trigger.API, entity_maps=["Accounts"])
    stage = old.stages.get()
    RecordSync.objects.create(run=old, stage=stage, entity_map=stage.entity_map, source_key="A1")
    runs.run_cancel(run=old)
    recent = runs.run_start(project=project, trigger=SyncRun.Trigger.API, entity_maps=["Accounts"])
    runs.run_cancel(run=recent)
    running_but_old = runs.run_start(project=project, trigger=SyncRun.Trigger.API, entity_maps=["Accounts"])
    SyncRun.objects.filter(pk__in=[old.pk, running_but_old.pk]).update(created_at=timezone.now() - timedelta(days=31))

    assert retention.history_purge() == 1

    assert set(SyncRun.objects.values_list("pk", flat=True)) == {recent.pk, running_but_old.pk}
    assert not RecordSync.objects.exists()
    assert SyncRun.objects.get(pk=running_but_old.pk).status == RunStatus.QUEUED


def test_dry_runs_past_retention_are_purged_with_their_records(dataverse_emulator, finops_emulator):
    project = prospect_to_cash_project(dataverse_emulator, finops_emulator)
    old = DryRun.objects.create(project=project, trigger="api", status=DryRun.Status.SUCCEEDED)
    DryRunRecord.objects.create(dry_run=old, entity_map=project.entity_maps.first(), source_key="A1",
                                outcome=DryRunRecord.Outcome.CREATE)
    queued = DryRun.objects.create(project=project, trigger="api")
    recent = DryRun.objects.create(project=project, trigger="api", status=DryRun.Status.SUCCEEDED)
    DryRun.objects.filter(pk__in=[old.pk, queued.pk]).update(
        created_at=timezone.now() - timedelta(days=project.retention_days + 1))

    retention.history_purge()

    assert set(DryRun.objects.values_list("pk", flat=True)) == {queued.pk, recent.pk}
    assert not DryRunRecord.objects.exists()
