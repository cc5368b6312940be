"""Beat evaluates the rules itself, so it can say that no worker is alive: a real beat process, a real SMTP server,
then a real worker that answers a heartbeat request."""

from __future__ import annotations

import pytest

from integration.models import AlertRule
from p2c_project.celery import app
from tests.support import factories
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_beat_alerts_that_no_worker_is_alive_and_resolves_when_one_answers(own_queue, smtp_sink):
    project = factories.project()
    AlertRule.objects.create(project=project, kind="no_worker", email_to="ops@example.com")
    own_queue.beat(extra_env={"P2C_ALERT_INTERVAL_SECONDS": "1", "P2C_WORKER_STALE_SECONDS": "8",
                              "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_sink.port)})

    wait_until(lambda: smtp_sink.subjects(), timeout=60, what="beat's alert that no worker is alive")
    assert smtp_sink.subjects() == ["[p2c] ALERT p2c: No live worker"]
    assert "no worker has sent a heartbeat for 8 seconds (none ever came)" in smtp_sink.messages[0].get_payload()

    own_queue.worker()
    app.send_task("p2c.worker_heartbeat", queue=own_queue.queue)

    wait_until(lambda: len(smtp_sink.subjects()) >= 2, timeout=30, what="the resolved message")
    assert smtp_sink.subjects()[:2] == ["[p2c] ALERT p2c: No live worker", "[p2c] RESOLVED p2c: No live worker"]
