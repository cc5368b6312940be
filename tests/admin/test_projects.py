"""Projects in the admin: schedule, pause and resume, run now, organization mappings, entity and field maps."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from integration.models import FieldMap, KeyLink, Project, RunStatus, SyncRun, ValueMapEntry
from integration.services.schedules import periodic_task_name
from tests.support import factories
from tests.support.projects import connection_to

pytestmark = pytest.mark.django_db


def project_form(project: Project, **overrides) -> dict:
    data = {"name": project.name, "description": project.description, "template": project.template,
            "sales_connection": project.sales_connection_id, "finops_connection": project.finops_connection_id,
            "schedule_minutes": "", "schedule_crontab": "", "retention_days": "90", "webhook_secret": "",
            "organization_mappings-TOTAL_FORMS": "0", "organization_mappings-INITIAL_FORMS": "0",
            "organization_mappings-MIN_NUM_FORMS": "0", "organization_mappings-MAX_NUM_FORMS": "1000",
            "entity_maps-TOTAL_FORMS": "0", "entity_maps-INITIAL_FORMS": "0", "entity_maps-MIN_NUM_FORMS": "0",
            "entity_maps-MAX_NUM_FORMS": "1000"}
    return {**data, **overrides}


ORGANIZATION_ROW = {
    "organization_mappings-TOTAL_FORMS": "1", "organization_mappings-0-business_unit": "Contoso US",
    "organization_mappings-0-legal_entity": "usmf", "organization_mappings-0-is_default": "on",
    "organization_mappings-0-exports_products": "on",
}


def action(client, name: str, projects):
    return client.post(reverse("admin:integration_project_changelist"),
                       {"action": name, "_selected_action": [p.pk for p in projects]}, follow=True)


def test_the_project_pages_render(admin_client_with_perms):
    project = factories.project()
    factories.run(project)
    for url in (reverse("admin:integration_project_changelist"), reverse("admin:integration_project_add"),
                reverse("admin:integration_project_change", args=[project.pk])):
        assert admin_client_with_perms.get(url).status_code == 200, url
    page = admin_client_with_perms.get(reverse("admin:integration_project_change", args=[project.pk]))
    text = page.content.decode()
    assert "/api/webhooks/dataverse/p2c/" in text
    assert "Accounts" in text
    assert "Contacts" in text


def test_saving_a_schedule_creates_the_periodic_task_and_the_organization_mapping(admin_client_with_perms):
    project = factories.project()
    response = admin_client_with_perms.post(reverse("admin:integration_project_change", args=[project.pk]),
                                            project_form(project, schedule_minutes="15", **ORGANIZATION_ROW))
    assert response.status_code == 302
    task = PeriodicTask.objects.get(name=periodic_task_name(project))
    assert (task.interval.every, task.enabled) == (15, True)
    assert list(project.organization_mappings.values_list("legal_entity", flat=True)) == ["usmf"]


@pytest.mark.parametrize(("minutes", "crontab", "message"), [
    ("10", "*/5 * * * *", "not both"),
    ("", "every monday", "5 fields"),
    ("", "99 * * * *", "99"),
])
def test_a_schedule_beat_cannot_run_is_refused_on_the_form(admin_client_with_perms, minutes, crontab, message):
    project = factories.project()
    response = admin_client_with_perms.post(reverse("admin:integration_project_change", args=[project.pk]),
                                            project_form(project, schedule_minutes=minutes, schedule_crontab=crontab))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PeriodicTask.objects.filter(name=periodic_task_name(project)).exists()


STRONG = "hook-secret-0f9e8d7c6b5a-4938-2716-aabbccddeeff"


def test_the_webhook_secret_is_write_only(admin_client_with_perms):
    project = factories.project()
    url = reverse("admin:integration_project_change", args=[project.pk])
    admin_client_with_perms.post(url, project_form(project, webhook_secret=STRONG))
    project.refresh_from_db()
    assert project.webhook_secret == STRONG
    page = admin_client_with_perms.get(url).content.decode()
    assert STRONG not in page
    assert "stored, encrypted" in page
    admin_client_with_perms.post(url, project_form(project, description="kept"))
    project.refresh_from_db()
    assert (project.description, project.webhook_secret) == ("kept", STRONG)


@pytest.mark.parametrize("weak", ["hook-secret-123", "a" * 40, "abababababababababababababababab"])
def test_a_weak_webhook_secret_is_refused_with_a_message(admin_client_with_perms, weak):
    project = factories.project()
    response = admin_client_with_perms.post(reverse("admin:integration_project_change", args=[project.pk]),
                                            project_form(project, webhook_secret=weak))
    assert response.status_code == 200
    assert "is too weak: use at least 32 characters" in response.content.decode()
    project.refresh_from_db()
    assert project.webhook_secret == ""


def test_the_form_offers_a_generated_secret_which_it_accepts(admin_client_with_perms):
    project = factories.project()
    url = reverse("admin:integration_project_change", args=[project.pk])
    offers = [re.search(r"generated for you: <code>([^<]+)</code>", admin_client_with_perms.get(url).content.decode())
              .group(1) for _ in range(2)]
    assert offers[0] != offers[1]
    assert len(offers[0]) >= 32
    assert admin_client_with_perms.post(url, project_form(project, webhook_secret=offers[0])).status_code == 302
    project.refresh_from_db()
    assert (project.webhook_secret, project.webhook_secret_in_query) == (offers[0], False)


def test_pause_and_resume_actions_switch_the_project_and_its_schedule(admin_client_with_perms):
    project = factories.project(schedule_minutes=5)
    page = action(admin_client_with_perms, "pause", [project]).content.decode()
    project.refresh_from_db()
    assert project.paused
    assert "Paused: p2c" in page
    assert PeriodicTask.objects.get(name=periodic_task_name(project)).enabled is False
    action(admin_client_with_perms, "resume", [project])
    project.refresh_from_db()
    assert not project.paused
    assert PeriodicTask.objects.get(name=periodic_task_name(project)).enabled is True


@pytest.mark.parametrize(("name", "mode"), [("run_incremental", "incremental"), ("run_full", "full")])
def test_run_now_starts_a_run_from_the_admin(admin_client_with_perms, name, mode):
    project = factories.project()
    page = action(admin_client_with_perms, name, [project]).content.decode()
    run = SyncRun.objects.get(project=project)
    assert (run.mode, run.trigger, run.requested_by, run.status) == (mode, "admin", "integrator", RunStatus.QUEUED)
    assert f"run #{run.pk}</a> ({mode}) started" in page


def test_run_now_while_a_run_is_in_progress_names_that_run(admin_client_with_perms):
    project = factories.project()
    running = factories.run(project, status=RunStatus.RUNNING)
    page = action(admin_client_with_perms, "run_incremental", [project]).content.decode()
    assert f"run #{running.pk}</a> is still running" in page
    assert SyncRun.objects.filter(project=project).count() == 1


def test_run_now_on_a_paused_project_says_so(admin_client_with_perms):
    project = factories.project(paused=True)
    page = action(admin_client_with_perms, "run_full", [project]).content.decode()
    assert "Project p2c is paused" in page
    assert not SyncRun.objects.exists()


def test_a_viewer_sees_projects_but_none_of_the_actions(viewer):
    project = factories.project()
    page = viewer.get(reverse("admin:integration_project_changelist")).content.decode()
    assert "p2c" in page
    for name in ("run_incremental", "run_full", "pause", "resume"):
        assert f'value="{name}"' not in page
    action(viewer, "pause", [project])
    project.refresh_from_db()
    assert not project.paused


def test_staff_without_permissions_are_refused(staff_without_perms):
    project = factories.project()
    for url in (reverse("admin:integration_project_changelist"),
                reverse("admin:integration_project_change", args=[project.pk]),
                reverse("admin:integration_entitymap_changelist"),
                reverse("admin:integration_keylink_changelist")):
        assert staff_without_perms.get(url).status_code == 403, url


def test_entity_map_pages_show_field_maps_and_field_maps_edit_value_maps(admin_client_with_perms, dataverse, finops):
    connection_to(dataverse, system="dataverse", name="sales")  # the editor reads the environments' metadata
    connection_to(finops, system="finops", name="fno")
    project = factories.project()
    entity_map = project.entity_maps.get(name="Accounts")
    field_map = FieldMap.objects.create(entity_map=entity_map, destination_field="AddressCountryRegionId",
                                        source_field="address1_country", transforms=["value_map"])
    ValueMapEntry.objects.create(field_map=field_map, source_value="United States", destination_value="USA")
    assert admin_client_with_perms.get(reverse("admin:integration_entitymap_changelist")).status_code == 200
    page = admin_client_with_perms.get(reverse("admin:integration_entitymap_change", args=[entity_map.pk]))
    assert "AddressCountryRegionId" in page.content.decode()
    assert "1 entries" in page.content.decode()
    page = admin_client_with_perms.get(reverse("admin:integration_fieldmap_change", args=[field_map.pk]))
    assert "United States" in page.content.decode()


def test_key_links_are_found_by_either_key(admin_client_with_perms):
    project = factories.project()
    entity_map = project.entity_maps.get(name="Accounts")
    KeyLink.objects.create(entity_map=entity_map, source_key="ACC-01001", destination_key="US-001",
                           synced_at="2024-01-01T00:00:00Z")
    KeyLink.objects.create(entity_map=entity_map, source_key="ACC-01002", destination_key="US-002",
                           synced_at="2024-01-01T00:00:00Z")
    url = reverse("admin:integration_keylink_changelist")
    for term in ("ACC-01001", "US-001"):
        found = admin_client_with_perms.get(url, {"q": term}).context["cl"].queryset
        assert [link.source_key for link in found] == ["ACC-01001"], term
