"""Each alert rule, through a real SMTP server and a real HTTP receiver on loopback: one message when its
condition starts, none while it holds, one "resolved" when it clears."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.models import (
    AlertIncident,
    AlertRule,
    Connection,
    Project,
    RecordStatus,
    RecordSync,
    RunStatus,
    SyncRun,
    WorkerHeartbeat,
)
from integration.services.alerts import alerts_evaluate
from tests.alerts.delivered import titles
from tests.support import factories
from tests.support.certificates import self_signed

pytestmark = pytest.mark.django_db


def failures(project, now):
    run = factories.run(project, records=[("Accounts", RecordStatus.FAILED)] * 3 + [("Contacts", RecordStatus.FAILED)])
    RecordSync.objects.filter(run=run).update(finished_at=now - timedelta(minutes=1))

    def clear():
        return now + timedelta(minutes=16)  # past the 15-minute window
    return now, clear


def run_failed(project, now):
    factories.run(project, status=RunStatus.FAILED, age=timedelta(minutes=10))

    def clear():
        factories.run(project, status=RunStatus.SUCCEEDED)
        return now
    return now, clear


def schedule_overdue(project, now):
    Project.objects.filter(pk=project.pk).update(schedule_minutes=5, schedule_since=now - timedelta(minutes=16))

    def clear():
        factories.run(project, status=RunStatus.RUNNING)
        return now
    return now, clear


def no_worker(project, now):
    # Heartbeats are judged against `now`: a moment past the dead interval, no worker process has written one.
    later = now + timedelta(minutes=5)

    def clear():
        # A process beating still, at the two passes after it (10 s and 40 s on).
        WorkerHeartbeat.objects.create(name="celery@test:1", seen_at=later + timedelta(seconds=35))
        return later + timedelta(seconds=10)
    return later, clear


def webhook_backlog(project, now):
    for _ in range(2):
        factories.run(project, status=RunStatus.QUEUED, is_bulk=False, trigger=SyncRun.Trigger.WEBHOOK,
                      age=timedelta(minutes=20))

    def clear():
        SyncRun.objects.filter(trigger=SyncRun.Trigger.WEBHOOK).update(status=RunStatus.SUCCEEDED)
        return now
    return now, clear


def connection_failing(project, now):
    """A stored certificate that ends within the rule's threshold (2 days); renewed, the incident clears. (A token
    request refused by the emulator is the other half of this rule: test_connection_rule.py.)"""
    def certificate(days: int) -> None:
        Connection.objects.filter(pk=project.finops_connection_id).update(
            client_secret="", certificate_pem="".join(self_signed(days=days)), certificate_thumbprint="AB" * 20)

    certificate(1)

    def clear():
        certificate(60)
        return now
    return now, clear


CONDITIONS = {"failures": failures, "run_failed": run_failed, "schedule_overdue": schedule_overdue,
              "no_worker": no_worker, "webhook_backlog": webhook_backlog, "connection_failing": connection_failing}


def rule_for(project, kind: str, channel: str, *, receiver=None, **fields) -> AlertRule:
    target = {"email_to": "ops@example.com, oncall@example.com"} if channel == "email" else {
        "webhook_url": receiver.url}
    fields = {"threshold": 2, "window_minutes": 15, "grace_minutes": 10, **target, **fields}
    rule = AlertRule(project=project, kind=kind, channel=channel, **fields)
    rule.full_clean()
    rule.save()
    return rule


@pytest.mark.parametrize("channel", ["email", "slack", "teams"])
@pytest.mark.parametrize("kind", list(CONDITIONS))
def test_each_rule_alerts_once_per_incident_then_says_it_is_resolved(kind, channel, request):
    smtp_sink = request.getfixturevalue("smtp_sink") if channel == "email" else None
    receiver = request.getfixturevalue("receiver") if channel != "email" else None
    project = factories.project()
    rule_for(project, kind, channel, receiver=receiver)
    received = lambda: titles(channel, smtp_sink=smtp_sink, receiver=receiver)  # noqa: E731

    opened_at, clear = CONDITIONS[kind](project, timezone.now())
    assert alerts_evaluate(now=opened_at).opened == 1
    assert alerts_evaluate(now=opened_at + timedelta(seconds=30)).opened == 0

    assert len(received()) == 1
    assert received()[0].startswith(f"[p2c] ALERT {project.name}:")
    incident = AlertIncident.objects.get()
    assert incident.notified_at is not None
    assert incident.resolved_at is None

    resolved_at = clear()
    assert alerts_evaluate(now=resolved_at).resolved == 1
    alerts_evaluate(now=resolved_at + timedelta(seconds=30))

    assert len(received()) == 2
    assert received()[1].startswith(f"[p2c] RESOLVED {project.name}:")
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert incident.resolved_notified_at is not None
    if channel == "email":
        assert smtp_sink.messages[0]["X-Envelope-To"] == "ops@example.com, oncall@example.com"
        assert incident.summary in smtp_sink.messages[0].get_payload()


def test_failures_are_counted_per_entity_map_and_by_distinct_record(smtp_sink):
    project = factories.project()
    rule_for(project, "failures", "email", threshold=3)
    now = timezone.now()
    # Accounts: one record failing in three runs is one record; Contacts: three records.
    for _ in range(3):
        factories.run(project, records=[("Accounts", RecordStatus.FAILED)])
    factories.run(project, records=[("Contacts", RecordStatus.FAILED)] * 3)
    RecordSync.objects.update(finished_at=now)

    alerts_evaluate(now=now)

    incident = AlertIncident.objects.get()
    assert incident.subject == f"entity_map:{project.entity_maps.get(name='Contacts').pk}"
    assert incident.summary.startswith("Contacts: 3 records failed in the last 15 minutes (threshold 3). Latest: ")
    assert "Country: no value map entry for 'Atlantis'" in incident.summary
    assert len(smtp_sink.messages) == 1


def test_a_crontab_schedule_is_overdue_after_its_next_time_plus_the_grace(smtp_sink):
    project = factories.project()
    rule_for(project, "schedule_overdue", "email")
    since = timezone.now().replace(minute=2, second=0, microsecond=0) - timedelta(hours=3)
    Project.objects.filter(pk=project.pk).update(schedule_crontab="0 * * * *", schedule_since=since)

    # Due at the next full hour after `since`; ten minutes of grace.
    due = since.replace(minute=0) + timedelta(hours=1)
    assert alerts_evaluate(now=due + timedelta(minutes=9)).opened == 0
    assert alerts_evaluate(now=due + timedelta(minutes=11)).opened == 1

    assert "crontab '0 * * * *' (UTC)" in AlertIncident.objects.get().summary
    assert len(smtp_sink.messages) == 1


def test_a_paused_project_or_one_without_a_schedule_is_never_overdue(smtp_sink):
    project = factories.project(paused=True, schedule_minutes=5)
    rule_for(project, "schedule_overdue", "email")
    rule_for(factories.project("unscheduled"), "schedule_overdue", "email")

    assert alerts_evaluate(now=timezone.now() + timedelta(days=1)).opened == 0


def test_a_disabled_rule_sends_nothing(smtp_sink):
    project = factories.project()
    rule_for(project, "run_failed", "email", enabled=False)
    factories.run(project, status=RunStatus.FAILED)

    assert alerts_evaluate().opened == 0
    assert smtp_sink.messages == []
