"""The project overview page: last runs, what runs now, failures per entity map per day, worker heartbeats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integration.models import RecordStatus, RunStatus, SyncRun, WorkerHeartbeat
from tests.support import factories

pytestmark = pytest.mark.django_db
FAILED, SUCCEEDED, PENDING = RecordStatus.FAILED, RecordStatus.SUCCEEDED, RecordStatus.PENDING


def test_the_admin_index_links_to_the_overview(admin_client_with_perms):
    page = admin_client_with_perms.get(reverse("admin:index")).content.decode()
    assert reverse("admin:overview") in page
    assert "Project overview" in page


def test_the_overview_shows_runs_progress_failures_and_workers(admin_client_with_perms):
    project = factories.project()
    factories.run(project, status=RunStatus.WARNING, age=timedelta(days=2),
                  records=[("Contacts", FAILED), ("Contacts", FAILED), ("Accounts", SUCCEEDED)])
    factories.run(project, status=RunStatus.WARNING, age=timedelta(days=1), records=[("Contacts", FAILED)])
    running = factories.run(project, status=RunStatus.RUNNING, records=[("Accounts", SUCCEEDED), ("Accounts", PENDING)])
    factories.run(project, is_bulk=False, mode=SyncRun.Mode.RECORD, trigger=SyncRun.Trigger.WEBHOOK,
                  records=[("Accounts", SUCCEEDED)])
    WorkerHeartbeat.objects.create(name="celery@alive:101", seen_at=timezone.now(), tasks_seen=12)
    WorkerHeartbeat.objects.create(name="celery@gone:102", seen_at=timezone.now() - timedelta(hours=1), tasks_seen=3)
    response = admin_client_with_perms.get(reverse("admin:overview"))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Run #{running.pk}" in page
    assert "1 / 2" in page
    assert page.count('class="p2c-run"') == 3  # last bulk runs
    assert "One-record runs (webhooks, retries) in the last 24 hours:" in page
    assert "(1 succeeded)" in page
    assert "2 failing now" in page  # three failed attempts of two records: records are counted
    assert 'aria-label="Contacts: 2 failed in 14 days"' in page  # so are they over the window, not day by day
    assert "none failing" in page
    assert page.count('<rect class="bar"') == 2  # one bar per day with failures
    assert "celery@alive" in page
    assert "celery@gone" in page
    assert "silent" in page
    assert '<meta http-equiv="refresh" content="5">' in page  # refreshes quickly while something runs
    assert "<script" not in page.split('id="content-main"')[1]  # server-rendered, no script of its own


def test_the_overview_with_no_projects_says_what_to_do(admin_client_with_perms):
    page = admin_client_with_perms.get(reverse("admin:overview")).content.decode()
    assert "No projects yet" in page
    assert "load_template" in page


def test_the_overview_needs_the_view_permission_on_runs(staff_without_perms, client):
    assert staff_without_perms.get(reverse("admin:overview")).status_code == 403
    anonymous = client.get(reverse("admin:overview"))
    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]
