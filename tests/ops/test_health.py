"""/healthz and /readyz: the process answers; each part has its own status, and a stopped beat or a killed worker
is reported down within its interval while the rest stays ok."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from integration.beat import TICK_KEY
from integration.models import WorkerHeartbeat
from integration.ops_redis import ops_key, ops_redis
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_answers_without_any_io(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_says_which_part_is_down_and_names_no_host_or_secret(client, embedded_redis, settings):
    ops_redis().delete(ops_key(TICK_KEY))  # a beat of an earlier test ticked under this session's prefix

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"
    assert body["checks"]["beat"] == {"status": "down", "detail": "beat has never ticked"}
    # The session's worker may be beating: whichever it is, the check says so in its own words.
    assert body["checks"]["workers"]["status"] in ("ok", "down")
    assert body["checks"]["workers"]["detail"]
    text = response.content.decode()
    for secret in (settings.SECRET_KEY, settings.REDIS_URL, str(settings.DATABASES["default"]["NAME"])):
        assert secret not in text


def test_readyz_can_check_a_subset_for_the_web_servers_own_probe(client, embedded_redis):
    response = client.get("/readyz?only=database,broker")

    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "broker"}
    assert client.get("/readyz?only=database,nothing").status_code == 400


def test_a_stopped_beat_is_reported_down_within_its_interval(client, own_queue, settings):
    settings.P2C_READY_BEAT_SECONDS = 3
    WorkerHeartbeat.objects.create(name="celery@test:1", seen_at=timezone.now())
    beat = own_queue.beat()

    ready = wait_until(lambda: client.get("/readyz").status_code == 200 and client.get("/readyz"), timeout=30,
                       what="/readyz to answer 200 with beat running")
    assert ready.json()["checks"]["beat"]["age_seconds"] <= 3
    assert ready.json()["checks"]["workers"]["detail"].endswith(" live")

    beat.kill()

    down = wait_until(lambda: (answer := client.get("/readyz")).status_code == 503 and answer, timeout=20,
                      what="/readyz to report beat down")
    checks = down.json()["checks"]
    assert checks["beat"]["status"] == "down"
    assert checks["beat"]["detail"] == "no tick for over 3 s"
    assert checks["beat"]["age_seconds"] >= 3
    assert [name for name, check in checks.items() if check["status"] != "ok"] == ["beat"]


def test_the_readiness_command_fails_when_a_part_is_down(embedded_redis, capsys):
    ops_redis().delete(ops_key(TICK_KEY))
    call_command("readiness", "--only", "database,broker")
    assert '"database"' in capsys.readouterr().out

    with pytest.raises(CommandError, match="not ready: beat"):
        call_command("readiness", "--only", "database,beat")


def test_a_killed_worker_is_reported_down_within_the_dead_interval(client, celery_worker, settings):
    """The session's worker is the only one beating: killed, /readyz says the workers are down once it has been
    silent for P2C_WORKER_DEAD_SECONDS, the rest staying ok."""
    settings.P2C_WORKER_DEAD_SECONDS = 4
    wait_until(lambda: client.get("/readyz?only=workers").status_code == 200, timeout=30,
               what="/readyz to see the worker")
    celery_worker.kill()  # the next test that asks for the worker gets it started again (tests/conftest.py)
    killed_at = time.monotonic()

    down = wait_until(lambda: (answer := client.get("/readyz?only=database,broker,workers")).status_code == 503
                      and answer, timeout=30, what="/readyz to report the workers down")
    seconds = time.monotonic() - killed_at

    checks = down.json()["checks"]
    assert checks["workers"]["status"] == "down"
    assert checks["workers"]["detail"] == "no heartbeat for over 4 s"
    assert [name for name, check in checks.items() if check["status"] != "ok"] == ["workers"]
    assert seconds <= 4 + 2 * settings.P2C_HEARTBEAT_SECONDS + 3  # its last beat was at most a beat before the kill
