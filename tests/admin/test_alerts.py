"""Alert rules in the admin: a webhook URL is write-only and only an allowed host is accepted; entity maps are
paused and resumed from their list."""

from __future__ import annotations

from integration.models import AlertRule, EntityMap
from tests.support import factories

URL = "https://hooks.slack.com/services/T0/B0/secret-part"


def rule_form(project, **fields) -> dict:
    return {"project": project.pk, "kind": "failures", "enabled": "on", "threshold": 5, "window_minutes": 15,
            "grace_minutes": 10, "channel": "slack", "email_to": "", "webhook_url": URL,
            "incidents-TOTAL_FORMS": 0, "incidents-INITIAL_FORMS": 0, **fields}


def test_a_rule_is_saved_and_its_webhook_url_is_never_shown_again(admin_client_with_perms):
    project = factories.project()

    response = admin_client_with_perms.post("/admin/integration/alertrule/add/", rule_form(project))

    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AlertRule.objects.get()
    assert rule.webhook_url == URL
    page = admin_client_with_perms.get(f"/admin/integration/alertrule/{rule.pk}/change/").content.decode()
    assert "secret-part" not in page
    listing = admin_client_with_perms.get("/admin/integration/alertrule/").content.decode()
    assert "webhook URL (stored, encrypted)" in listing
    assert "secret-part" not in listing


def test_a_webhook_on_another_host_is_refused_naming_the_host(admin_client_with_perms):
    project = factories.project()

    response = admin_client_with_perms.post("/admin/integration/alertrule/add/", rule_form(
        project, webhook_url="https://collector.example.net/hook"))

    assert response.status_code == 200
    assert "collector.example.net is not in P2C_ALERT_WEBHOOK_HOSTS" in response.content.decode()
    assert not AlertRule.objects.exists()


def test_entity_maps_are_paused_and_resumed_from_their_list(admin_client_with_perms):
    project = factories.project()
    accounts = project.entity_maps.get(name="Accounts")

    admin_client_with_perms.post("/admin/integration/entitymap/", {"action": "pause",
                                                                    "_selected_action": [accounts.pk]})
    paused = EntityMap.objects.get(pk=accounts.pk)
    assert paused.paused
    assert paused.paused_reason == "paused by integrator"

    admin_client_with_perms.post("/admin/integration/entitymap/", {"action": "resume",
                                                                    "_selected_action": [accounts.pk]})
    assert not EntityMap.objects.get(pk=accounts.pk).paused
