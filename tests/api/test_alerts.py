"""Alert rules and incidents through the API (never a webhook URL), and pausing or resuming an entity map."""

from __future__ import annotations

from integration.models import AlertRule, EntityMap, RunStatus
from integration.services.alerts import alerts_evaluate
from tests.support import factories

URL = "https://hooks.slack.com/services/T0/B0/secret-part"


def test_rules_are_listed_with_their_open_incidents_and_without_their_webhook_url(operator, project, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    AlertRule.objects.create(project=project, kind="run_failed", channel="slack", webhook_url=URL)
    AlertRule.objects.create(project=factories.project("other"), kind="no_worker", email_to="ops@example.com")
    factories.run(project, status=RunStatus.FAILED)
    alerts_evaluate()

    response = operator.get("/api/alert-rules/", {"project": project.name})

    assert response.status_code == 200
    (rule,) = response.json()["results"]
    assert rule["kind"] == "run_failed"
    assert rule["channel"] == "slack"
    assert rule["webhook_url_set"] is True
    assert "secret-part" not in response.content.decode()
    (incident,) = rule["open_incidents"]
    assert incident["subject"] == "project"
    assert incident["summary"].startswith("run #")


def test_incidents_can_be_listed_open_or_all(operator, project):
    AlertRule.objects.create(project=project, kind="run_failed", email_to="ops@example.com")
    factories.run(project, status=RunStatus.FAILED)
    alerts_evaluate()

    assert operator.get("/api/alert-incidents/", {"open": "true"}).json()["count"] == 1
    assert operator.get("/api/alert-incidents/", {"open": "false"}).json()["count"] == 0


def test_alert_rules_need_the_view_permission(nobody, reader):
    assert nobody.get("/api/alert-rules/").status_code == 403
    assert reader.get("/api/alert-rules/").status_code == 403


def test_an_entity_map_is_paused_and_resumed_through_the_api(operator, project):
    response = operator.post(f"/api/projects/{project.name}/entity-maps/Accounts/pause/", {"reason": "maintenance"},
                             format="json")

    assert response.status_code == 200
    assert response.json()["paused"] is True
    assert response.json()["paused_reason"] == "maintenance"
    assert EntityMap.objects.get(project=project, name="Accounts").paused

    response = operator.post(f"/api/projects/{project.name}/entity-maps/Accounts/resume/")

    assert response.json()["paused"] is False
    resumed = EntityMap.objects.get(project=project, name="Accounts")
    assert not resumed.paused
    assert resumed.resumed_at is not None


def test_pausing_needs_the_change_permission_and_an_existing_map(reader, operator, project):
    assert reader.post(f"/api/projects/{project.name}/entity-maps/Accounts/pause/").status_code == 403
    assert operator.post(f"/api/projects/{project.name}/entity-maps/Nothing/pause/").status_code == 404
