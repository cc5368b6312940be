from __future__ import annotations

import pytest

from tests.support.smtp import SmtpSink
from tests.webhooks.receiver import Receiver


@pytest.fixture
def smtp_sink(settings):
    """Django's real SMTP backend (the tests otherwise swap in an in-memory one) to a local server."""
    sink = SmtpSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    yield sink
    sink.stop()


@pytest.fixture
def receiver(settings):
    """A local HTTP endpoint in place of Slack's or Teams'; loopback is allowed only with DEBUG on."""
    settings.DEBUG = True
    endpoint = Receiver()
    yield endpoint
    endpoint.stop()


@pytest.fixture(autouse=True)
def _ops_redis_answers(monkeypatch):
    """A test that killed the broker earlier in the session left this process's "Redis is down, leave it alone
    for 5 s" mark: token outcomes this test records must not be dropped for it."""
    from integration import ops_redis

    monkeypatch.setattr(ops_redis, "_down_until", 0.0)
