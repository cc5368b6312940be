"""The admin as a workbench: the failing-records queue (one line per record; retry, retry alike, ignore with a
reason and undo), buttons on the project, run and record pages, and errors linked to where they are fixed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from integration.models import DryRun, FieldMap, IgnoredFailure, Project, RecordStatus, RunStatus, SyncRun
from tests.support import factories

pytestmark = pytest.mark.django_db
FAILED, SUCCEEDED, PENDING = RecordStatus.FAILED, RecordStatus.SUCCEEDED, RecordStatus.PENDING
QUEUE = "admin:integration_failingrecord_changelist"


@pytest.fixture
def project():
    made = factories.project()
    contacts = made.entity_maps.get(name="Contacts")
    FieldMap.objects.create(entity_map=contacts, destination_field="Country", source_field="country",
                            transforms=["value_map"], value_map_default="USA")
    return made


def button(page: str, name: str) -> bool:
    return f'data-button="{name}"' in page


def test_the_queue_has_one_line_per_record_with_first_and_last_seen_and_failures(admin_client_with_perms, project):
    factories.run(project, status=RunStatus.WARNING, age=timedelta(days=2),
                  records=[("Contacts", FAILED), ("Contacts", FAILED)])
    factories.run(project, status=RunStatus.WARNING, age=timedelta(days=1), records=[("Contacts", FAILED)])

    response = admin_client_with_perms.get(reverse(QUEUE))

    rows = list(response.context["cl"].result_list)
    assert sorted((r.source_key, r.failures) for r in rows) == [("K0000", 2), ("K0001", 1)]
    page = response.content.decode()
    assert "2 times" in page
    field_map = FieldMap.objects.get(destination_field="Country")
    editor = reverse("admin:integration_fieldmap_change", args=[field_map.pk])
    assert f'<a href="{editor}">Country</a>: no value map entry for &#x27;Atlantis&#x27;' in page  # said once, linked
    assert f'href="{editor}#value-map">its value map</a>' in page


def test_the_queue_and_a_runs_records_filter_by_project_entity_map_and_run(admin_client_with_perms, project):
    other = factories.project(name="other")
    run = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED), ("Accounts", FAILED)])
    factories.run(other, status=RunStatus.WARNING, records=[("Contacts", FAILED)])
    contacts = project.entity_maps.get(name="Contacts")

    def keys(url, **query):
        rows = admin_client_with_perms.get(reverse(url), query).context["cl"].result_list
        return sorted((r.entity_map.project.name, r.entity_map.name) for r in rows)

    assert keys(QUEUE, project=str(project.pk)) == [(project.name, "Accounts"), (project.name, "Contacts")]
    assert keys(QUEUE, entity_map=str(contacts.pk)) == [(project.name, "Contacts")]
    assert len(keys(QUEUE, entity_map="not-a-number")) == 3  # a value that is no id filters nothing
    records = "admin:integration_recordsync_changelist"
    assert keys(records, run=str(run.pk)) == [(project.name, "Accounts"), (project.name, "Contacts")]
    assert keys(records, run=str(run.pk), entity_map=str(contacts.pk)) == [(project.name, "Contacts")]


def test_retrying_from_the_queue_and_retrying_all_alike(admin_client_with_perms, project):
    run = factories.run(project, status=RunStatus.WARNING,
                        records=[("Contacts", FAILED), ("Contacts", FAILED), ("Accounts", SUCCEEDED)])
    first = run.records.get(source_key="K0000")

    page = admin_client_with_perms.post(reverse(QUEUE), {"action": "retry_like", "_selected_action": [first.pk]},
                                        follow=True).content.decode()

    retry = SyncRun.objects.get(mode=SyncRun.Mode.RETRY)
    assert sorted(r.retry_of.source_key for r in retry.records.all()) == ["K0000", "K0001"]
    assert "Retrying 2 records failing alike" in page


def test_ignoring_asks_why_shows_the_reason_and_is_undone(admin_client_with_perms, project):
    run = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED), ("Contacts", FAILED)])
    first = run.records.get(source_key="K0000")
    form = admin_client_with_perms.post(reverse(QUEUE), {"action": "ignore", "_selected_action": [first.pk]},
                                        follow=True)
    assert "Ignore 1 record" in form.content.decode()

    url = reverse("admin:integration_failingrecord_ignore")
    refused = admin_client_with_perms.post(url, {"ids": str(first.pk), "reason": ""})
    assert "This field is required" in refused.content.decode()
    admin_client_with_perms.post(url, {"ids": str(first.pk), "reason": "a test account, never synced"})

    queue = admin_client_with_perms.get(reverse(QUEUE)).context["cl"].result_list
    assert [r.source_key for r in queue] == ["K0001"]
    ignored = admin_client_with_perms.get(reverse(QUEUE), {"state": "ignored"})
    assert "a test account, never synced" in ignored.content.decode()
    record_page = admin_client_with_perms.get(reverse("admin:integration_recordsync_change", args=[first.pk]))
    assert "<strong>ignored</strong> by integrator: a test account, never synced" in record_page.content.decode()
    assert button(record_page.content.decode(), "unignore")

    admin_client_with_perms.post(reverse("admin:integration_recordsync_button", args=[first.pk, "unignore"]))
    assert not IgnoredFailure.objects.exists()


def test_a_viewer_reads_the_queue_but_cannot_act(viewer, project):
    run = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED)])
    page = viewer.get(reverse(QUEUE)).content.decode()
    assert "K0000" in page
    assert 'value="retry"' not in page
    assert viewer.post(reverse("admin:integration_failingrecord_ignore"),
                       {"ids": str(run.records.get().pk), "reason": "x"}).status_code == 403
    record_page = viewer.get(reverse("admin:integration_recordsync_change", args=[run.records.get().pk]))
    assert not button(record_page.content.decode(), "retry")


def test_the_project_page_has_run_full_dry_run_pause_and_check_buttons(admin_client_with_perms, project):
    url = reverse("admin:integration_project_change", args=[project.pk])
    page = admin_client_with_perms.get(url).content.decode()
    for name in ("run", "full-run", "dry-run", "check", "pause", "failing"):
        assert button(page, name), name

    admin_client_with_perms.post(reverse("admin:integration_project_button", args=[project.pk, "run"]))
    run = SyncRun.objects.get()
    assert (run.mode, run.trigger, run.requested_by) == ("incremental", "admin", "integrator")

    response = admin_client_with_perms.post(reverse("admin:integration_project_button", args=[project.pk,
                                                                                              "dry-run"]))
    dry_run = DryRun.objects.get()
    assert response["Location"] == reverse("admin:integration_dryrun_change", args=[dry_run.pk])
    assert (dry_run.status, dry_run.full, dry_run.trigger) == ("queued", False, "admin")

    admin_client_with_perms.post(reverse("admin:integration_project_button", args=[project.pk, "pause"]))
    assert Project.objects.get(pk=project.pk).paused
    assert button(admin_client_with_perms.get(url).content.decode(), "resume")


def test_the_run_page_has_cancel_while_running_and_retry_failed_once_it_failed(admin_client_with_perms, project):
    running = factories.run(project, status=RunStatus.RUNNING, records=[("Accounts", PENDING)])
    page = admin_client_with_perms.get(reverse("admin:integration_syncrun_change", args=[running.pk])).content
    assert button(page.decode(), "cancel")
    admin_client_with_perms.post(reverse("admin:integration_syncrun_button", args=[running.pk, "cancel"]))
    running.refresh_from_db()
    assert running.status == RunStatus.CANCELLED

    failed = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED)])
    page = admin_client_with_perms.get(reverse("admin:integration_syncrun_change", args=[failed.pk])).content
    assert button(page.decode(), "retry-failed")
    assert ">Retry failed<" in page.decode()  # the name the demo gives it
    assert "1 (what sync --wait and retry --wait exit with)" in page.decode()
    admin_client_with_perms.post(reverse("admin:integration_syncrun_button", args=[failed.pk, "retry-failed"]))
    assert SyncRun.objects.get(mode=SyncRun.Mode.RETRY).records.get().retry_of == failed.records.get()


def test_a_record_page_has_retry_ignore_and_where_to_fix_it(admin_client_with_perms, project):
    run = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED), ("Contacts", FAILED)])
    record = run.records.get(source_key="K0000")
    page = admin_client_with_perms.get(reverse("admin:integration_recordsync_change", args=[record.pk]))
    text = page.content.decode()
    for name in ("retry", "retry-like", "ignore"):
        assert button(text, name), name
    assert "Retry all 2 failing like it" in text
    assert "field map Country" in text
    assert "yes, since" in text

    admin_client_with_perms.post(reverse("admin:integration_recordsync_button", args=[record.pk, "retry"]))
    assert SyncRun.objects.get(mode=SyncRun.Mode.RETRY).records.get().retry_of == record
    assert admin_client_with_perms.get(
        reverse("admin:integration_recordsync_button", args=[record.pk, "retry"])).status_code == 405


def test_a_connection_error_links_to_the_connection(admin_client_with_perms, project):
    run = factories.run(project, status=RunStatus.WARNING, records=[("Accounts", FAILED)])
    run.records.update(error_type="AuthError", error_field="", error_message="AADSTS7000215: invalid secret")
    page = admin_client_with_perms.get(reverse("admin:integration_syncrun_change", args=[run.pk])).content.decode()
    connection = project.finops_connection
    assert f'href="{reverse("admin:integration_connection_change", args=[connection.pk])}">connection ' \
           f"{connection.name}</a>" in page
