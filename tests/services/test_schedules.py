"""Project schedules become django-celery-beat periodic tasks, kept in step with the project."""

from __future__ import annotations

import json

import pytest
from django_celery_beat.models import PeriodicTask

from integration.models import SyncRun
from integration.services import schedules
from tests.support.projects import prospect_to_cash_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(dataverse_emulator, finops_emulator):
    return prospect_to_cash_project(dataverse_emulator, finops_emulator)


def test_an_interval_schedule_is_one_periodic_task_running_the_project(project):
    project.schedule_minutes = 15
    task = schedules.project_schedule_sync(project=project)

    assert task.task == "p2c.run_scheduled_project"
    assert json.loads(task.args) == [project.pk]
    assert (task.interval.every, task.interval.period) == (15, "minutes")
    assert task.enabled


def test_changing_to_a_crontab_replaces_the_interval_and_removing_it_deletes_the_task(project):
    project.schedule_minutes = 15
    schedules.project_schedule_sync(project=project)
    project.schedule_minutes, project.schedule_crontab = None, "*/30 6-18 * * 1-5"
    task = schedules.project_schedule_sync(project=project)

    assert task.interval is None
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("*/30", "6-18", "1-5")
    assert PeriodicTask.objects.filter(task="p2c.run_scheduled_project").count() == 1

    project.schedule_crontab = ""
    assert schedules.project_schedule_sync(project=project) is None
    assert not PeriodicTask.objects.filter(task="p2c.run_scheduled_project").exists()


def test_a_malformed_crontab_is_refused(project):
    project.schedule_crontab = "every day"
    with pytest.raises(schedules.ScheduleInvalid, match="5 fields"):
        schedules.project_schedule_sync(project=project)


def test_pausing_disables_the_task_and_a_scheduled_tick_starts_nothing(project):
    project.schedule_minutes = 5
    schedules.project_schedule_sync(project=project)

    schedules.project_set_paused(project=project, paused=True)

    assert not PeriodicTask.objects.get(task="p2c.run_scheduled_project").enabled
    assert schedules.project_run_scheduled(project_id=project.pk) is None
    assert not SyncRun.objects.exists()

    schedules.project_set_paused(project=project, paused=False)
    assert PeriodicTask.objects.get(task="p2c.run_scheduled_project").enabled
    run = schedules.project_run_scheduled(project_id=project.pk)
    assert (run.trigger, run.mode) == ("schedule", "incremental")


def test_a_tick_while_a_run_is_in_progress_is_skipped(project):
    first = schedules.project_run_scheduled(project_id=project.pk)
    assert schedules.project_run_scheduled(project_id=project.pk) is None
    assert SyncRun.objects.get() == first
