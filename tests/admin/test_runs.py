"""Run history in the admin: runs with counts, duration and progress; records with their data; retry; cancel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integration.models import RecordStatus, RecordSync, RunStatus, SyncRun
from tests.support import factories

pytestmark = pytest.mark.django_db
FAILED, SUCCEEDED, PENDING = RecordStatus.FAILED, RecordStatus.SUCCEEDED, RecordStatus.PENDING


@pytest.fixture
def project():
    return factories.project()


def test_the_run_list_shows_trigger_status_counts_duration_and_progress(admin_client_with_perms, project):
    factories.run(project, status=RunStatus.WARNING,
                  records=[("Accounts", SUCCEEDED), ("Accounts", SUCCEEDED), ("Contacts", FAILED)])
    factories.run(project, status=RunStatus.RUNNING, records=[("Accounts", SUCCEEDED), ("Accounts", PENDING)])
    page = admin_client_with_perms.get(reverse("admin:integration_syncrun_changelist")).content.decode()
    assert "Warning (some records failed)" in page
    assert "Running" in page
    assert "created 2 · failed 1" in page
    assert "1 min 15 s" in page
    assert "3 / 3" in page  # the finished run: all done
    assert "1 / 2" in page  # the running one: one of two done


def test_a_run_page_shows_its_stages_and_links_to_its_records(admin_client_with_perms, project):
    run = factories.run(project, status=RunStatus.WARNING, records=[("Accounts", SUCCEEDED), ("Contacts", FAILED)])
    page = admin_client_with_perms.get(reverse("admin:integration_syncrun_change", args=[run.pk])).content.decode()
    assert "p2c-stages" in page
    assert "Accounts" in page
    assert "Contacts" in page
    assert f"?run={run.pk}&amp;status__exact=failed" in page
    assert "no value map entry for &#x27;Atlantis&#x27;" in page  # the first failures, on the run's page
    assert 'name="_save"' not in page  # history is read-only


def test_records_filter_by_status_entity_map_and_run(admin_client_with_perms, project):
    first = factories.run(project, status=RunStatus.WARNING, records=[("Accounts", SUCCEEDED), ("Contacts", FAILED)])
    second = factories.run(project, records=[("Accounts", SUCCEEDED)])
    url = reverse("admin:integration_recordsync_changelist")
    contacts = project.entity_maps.get(name="Contacts")
    failed = admin_client_with_perms.get(url, {"status__exact": "failed"}).context["cl"].queryset
    assert [r.status for r in failed] == ["failed"]
    by_map = admin_client_with_perms.get(url, {"entity_map": contacts.pk}).context["cl"].queryset
    assert {r.entity_map_id for r in by_map} == {contacts.pk}
    by_run = admin_client_with_perms.get(url, {"run": second.pk}).context["cl"].queryset
    assert {r.run_id for r in by_run} == {second.pk}
    page = admin_client_with_perms.get(url, {"run": first.pk}).content.decode()
    assert "Country: no value map entry for &#x27;Atlantis&#x27;" in page  # the field said once
    assert "Country: Country" not in page


def test_a_record_page_shows_snapshot_payload_error_and_attempts(admin_client_with_perms, project):
    run = factories.run(project, status=RunStatus.WARNING, records=[("Accounts", SUCCEEDED), ("Contacts", FAILED)])
    failed = run.records.get(status=FAILED)
    page = admin_client_with_perms.get(reverse("admin:integration_recordsync_change", args=[failed.pk]))
    text = page.content.decode()
    assert '<pre class="p2c-json"' in text
    assert "&quot;name&quot;: &quot;Record 1&quot;" in text  # pretty-printed, escaped
    assert "no value map entry for &#x27;Atlantis&#x27;" in text
    assert "Attempts" in text
    succeeded = run.records.get(status=SUCCEEDED)
    text = admin_client_with_perms.get(reverse("admin:integration_recordsync_change", args=[succeeded.pk])).content
    assert b"&quot;Number&quot;: &quot;K0000&quot;" in text


def test_retrying_selected_records_starts_a_retry_run_of_the_failed_ones(admin_client_with_perms, project):
    run = factories.run(project, status=RunStatus.WARNING,
                        records=[("Accounts", SUCCEEDED), ("Contacts", FAILED), ("Contacts", FAILED)])
    response = admin_client_with_perms.post(reverse("admin:integration_recordsync_changelist"), {
        "action": "retry", "_selected_action": list(run.records.values_list("pk", flat=True))}, follow=True)
    retry = SyncRun.objects.get(mode=SyncRun.Mode.RETRY)
    assert retry.requested_by == "integrator"
    assert sorted(r.retry_of_id for r in retry.records.all()) == sorted(
        run.records.filter(status=FAILED).values_list("pk", flat=True))
    assert f"Retrying 2 failed records in <a href=\"/admin/integration/syncrun/{retry.pk}/change/\">" in \
        response.content.decode()


def test_retrying_records_none_of_which_failed_says_so(admin_client_with_perms, project):
    run = factories.run(project, records=[("Accounts", SUCCEEDED)])
    response = admin_client_with_perms.post(reverse("admin:integration_recordsync_changelist"), {
        "action": "retry", "_selected_action": list(run.records.values_list("pk", flat=True))}, follow=True)
    assert "None of the selected records has failed" in response.content.decode()
    assert not SyncRun.objects.filter(mode=SyncRun.Mode.RETRY).exists()


def test_retrying_the_failed_records_of_selected_runs(admin_client_with_perms, project):
    run = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED), ("Accounts", SUCCEEDED)])
    clean = factories.run(project, records=[("Accounts", SUCCEEDED)])
    page = admin_client_with_perms.post(reverse("admin:integration_syncrun_changelist"), {
        "action": "retry_failed", "_selected_action": [run.pk, clean.pk]}, follow=True).content.decode()
    retry = SyncRun.objects.get(mode=SyncRun.Mode.RETRY)
    assert retry.records.count() == 1
    assert f"Run #{run.pk}: retrying its failed records" in page
    assert f"Run #{clean.pk}: none of the selected records has failed" in page


def test_cancelling_a_run_in_progress_skips_its_open_records(admin_client_with_perms, project):
    running = factories.run(project, status=RunStatus.RUNNING, records=[("Accounts", SUCCEEDED), ("Accounts", PENDING)])
    done = factories.run(project, records=[("Accounts", SUCCEEDED)])
    page = admin_client_with_perms.post(reverse("admin:integration_syncrun_changelist"), {
        "action": "cancel", "_selected_action": [running.pk, done.pk]}, follow=True).content.decode()
    running.refresh_from_db()
    assert running.status == RunStatus.CANCELLED
    assert running.message == "cancelled by integrator in the admin"
    assert RecordSync.objects.filter(run=running, status=RecordStatus.SKIPPED).count() == 1
    assert f"Run #{running.pk} cancelled" in page
    assert f"Run #{done.pk} was not in progress" in page


def test_a_viewer_reads_history_but_cannot_retry_or_cancel(viewer, project):
    running = factories.run(project, status=RunStatus.RUNNING, records=[("Accounts", PENDING)])
    page = viewer.get(reverse("admin:integration_syncrun_changelist")).content.decode()
    assert f"#{running.pk}" in page or str(running.pk) in page
    assert 'value="cancel"' not in page
    assert 'value="retry_failed"' not in page
    viewer.post(reverse("admin:integration_syncrun_changelist"), {"action": "cancel",
                                                                  "_selected_action": [running.pk]})
    running.refresh_from_db()
    assert running.status == RunStatus.RUNNING
    assert viewer.get(reverse("admin:integration_recordsync_changelist")).status_code == 200


def test_staff_without_permissions_cannot_read_history(staff_without_perms, project):
    run = factories.run(project, records=[("Accounts", SUCCEEDED)])
    for url in (reverse("admin:integration_syncrun_changelist"),
                reverse("admin:integration_syncrun_change", args=[run.pk]),
                reverse("admin:integration_recordsync_changelist"),
                reverse("admin:integration_recordsync_change", args=[run.records.get().pk])):
        assert staff_without_perms.get(url).status_code == 403, url


def test_workers_and_webhook_deliveries_are_listed(admin_client_with_perms):
    for name in ("workerheartbeat", "webhookdelivery"):
        assert admin_client_with_perms.get(reverse(f"admin:integration_{name}_changelist")).status_code == 200
