"""Delivering alerts: Slack's and Teams' message shapes, the allow-list of hosts, retries after a failed delivery,
two evaluators at once, and a webhook URL (a credential) that no error repeats."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError

from integration.models import AlertIncident, AlertRule, RunStatus
from integration.services.alerts import alerts_evaluate
from tests.support import factories

pytestmark = pytest.mark.django_db


def failed_run_rule(channel: str, url: str) -> AlertRule:
    project = factories.project()
    factories.run(project, status=RunStatus.FAILED)
    return AlertRule.objects.create(project=project, kind="run_failed", channel=channel, webhook_url=url)


def test_slack_gets_a_text_fallback_and_block_kit_blocks(receiver):
    failed_run_rule("slack", receiver.url)

    alerts_evaluate()

    body = receiver.received[0].body
    assert receiver.received[0].headers["content-type"] == "application/json"
    assert body["text"] == "[p2c] ALERT p2c: The last run failed"
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": body["text"]}}
    assert body["blocks"][1]["type"] == "section"
    assert body["blocks"][1]["text"]["type"] == "mrkdwn"
    assert "failed at" in body["blocks"][1]["text"]["text"]


def test_teams_gets_an_adaptive_card_in_a_message(receiver, settings):
    settings.P2C_PUBLIC_URL = "https://p2c.example.com"
    failed_run_rule("teams", receiver.url)

    alerts_evaluate()

    body = receiver.received[0].body
    assert body["type"] == "message"
    attachment = body["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert card["body"][0]["text"] == "[p2c] ALERT p2c: The last run failed"
    assert card["body"][0]["color"] == "Attention"
    incident = AlertIncident.objects.get()
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in p2c",
                                "url": f"https://p2c.example.com/admin/integration/alertincident/{incident.pk}/change/"}]


@pytest.mark.parametrize(("url", "problem"), [
    ("https://hooks.slack.com.evil.example/services/T0/B0/x", "hooks.slack.com.evil.example is not in "
                                                             "P2C_ALERT_WEBHOOK_HOSTS"),
    ("https://10.0.0.5/hook", "10.0.0.5 is not in P2C_ALERT_WEBHOOK_HOSTS"),
    ("http://hooks.slack.com/services/T0/B0/x", "must be an https:// URL on port 443"),
    ("https://hooks.slack.com:8443/services/T0/B0/x", "must be an https:// URL on port 443"),
    ("https://user:pw@hooks.slack.com/services/T0/B0/x", "no user name or password"),
    ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address, allowed only with DEBUG on"),
])
def test_a_rule_may_post_only_to_the_allowed_hosts(url, problem):
    rule = AlertRule(project=factories.project(), kind="run_failed", channel="slack", webhook_url=url)

    with pytest.raises(ValidationError) as refused:
        rule.full_clean()

    assert problem in str(refused.value.message_dict["webhook_url"])


@pytest.mark.parametrize("url", ["https://hooks.slack.com/services/T0/B0/x",
                                 "https://contoso.webhook.office.com/webhookb2/x",
                                 "https://prod-07.westeurope.logic.azure.com:443/workflows/x/triggers/manual/paths/invoke",
                                 "https://default1.23.environment.api.powerplatform.com/powerautomate/x"])
def test_slack_and_teams_hosts_are_allowed_by_default(url):
    AlertRule(project=factories.project(), kind="run_failed", channel="teams", webhook_url=url).full_clean()


def test_a_loopback_url_saved_with_debug_on_is_refused_at_delivery_with_debug_off(receiver, settings):
    rule = failed_run_rule("slack", receiver.url)
    settings.DEBUG = False

    alerts_evaluate()

    incident = rule.incidents.get()
    assert receiver.received == []
    assert incident.notified_at is None
    assert incident.attempts == 1
    assert incident.last_error == "the webhook URL 127.0.0.1 is a loopback address, allowed only with DEBUG on"


def test_a_failed_delivery_is_tried_again_at_the_next_pass_and_sent_once(receiver):
    receiver.statuses = [500]
    rule = failed_run_rule("slack", receiver.url)

    alerts_evaluate()
    incident = rule.incidents.get()
    assert incident.notified_at is None
    assert incident.last_error == "127.0.0.1 answered 500: "

    alerts_evaluate()
    alerts_evaluate()

    incident.refresh_from_db()
    assert incident.notified_at is not None
    assert incident.attempts == 1
    assert incident.last_error == ""
    assert len(receiver.received) == 2  # the refused one, then the one that went through


def test_an_unreachable_webhook_is_reported_without_its_url(settings):
    settings.DEBUG = True
    secret_path = "/services/T000/B000/very-secret-token"
    rule = failed_run_rule("slack", f"http://127.0.0.1:9{secret_path}")  # nothing listens on port 9

    alerts_evaluate()

    error = rule.incidents.get().last_error
    assert error == "127.0.0.1: ConnectionError"
    assert "very-secret-token" not in error


def test_an_email_that_cannot_be_sent_is_kept_for_the_next_pass(settings, smtp_sink):
    settings.EMAIL_PORT = 9  # nothing listens there
    project = factories.project()
    factories.run(project, status=RunStatus.FAILED)
    rule = AlertRule.objects.create(project=project, kind="run_failed", email_to="ops@example.com")

    alerts_evaluate()
    assert "ConnectionRefusedError" in rule.incidents.get().last_error

    settings.EMAIL_PORT = smtp_sink.port
    alerts_evaluate()
    assert smtp_sink.subjects() == ["[p2c] ALERT p2c: The last run failed"]


@pytest.mark.django_db(transaction=True)
def test_two_evaluators_at_once_open_one_incident_and_send_one_message(receiver):
    failed_run_rule("teams", receiver.url)
    start = threading.Barrier(2)
    errors = []

    def evaluate():
        from django.db import connection

        try:
            start.wait()
            alerts_evaluate()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert AlertIncident.objects.count() == 1
    assert len(receiver.received) == 1
