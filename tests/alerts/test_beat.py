"""Beat evaluates the rules itself, in its own process: a real beat process with no worker on its queue alerts by
email through a real SMTP server, and says "resolved" when the condition clears."""

from __future__ import annotations

import pytest

from integration.models import AlertRule, RunStatus
from tests.support import factories
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_beat_evaluates_the_rules_without_a_worker_and_says_when_they_clear(own_queue, smtp_sink):
    project = factories.project()
    AlertRule.objects.create(project=project, kind="run_failed", email_to="ops@example.com")
    factories.run(project, status=RunStatus.FAILED)
    own_queue.beat(extra_env={"P2C_ALERT_INTERVAL_SECONDS": "1", "EMAIL_HOST": "127.0.0.1",
                              "EMAIL_PORT": str(smtp_sink.port)})

    wait_until(lambda: smtp_sink.subjects(), timeout=60, what="beat's alert")
    assert smtp_sink.subjects() == ["[p2c] ALERT p2c: The last run failed"]

    factories.run(project, status=RunStatus.SUCCEEDED)

    wait_until(lambda: len(smtp_sink.subjects()) == 2, timeout=30, what="the resolved message")
    assert smtp_sink.subjects() == ["[p2c] ALERT p2c: The last run failed", "[p2c] RESOLVED p2c: The last run failed"]
