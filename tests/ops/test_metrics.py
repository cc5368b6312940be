"""/metrics: refused unless a token or a network allows the scraper; parsed by prometheus-client's own parser; its
counters move while a real worker syncs against the emulators."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from integration.models import SyncRun
from integration.services.templates import template_load
from tests.support.projects import connection_to, run_and_wait

pytestmark = pytest.mark.django_db

TOKEN = "t" * 40


def samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(found: dict, name: str, **labels: str) -> float:
    return sum(value for (sample, sample_labels), value in found.items()
               if sample == name and labels.items() <= dict(sample_labels).items())


@pytest.fixture
def metrics_token(settings, embedded_redis):
    settings.P2C_METRICS_TOKEN = TOKEN


def test_metrics_are_refused_unless_a_token_or_network_allows_the_scraper(client, settings, embedded_redis):
    assert client.get("/metrics").status_code == 403  # neither set: nobody

    settings.P2C_METRICS_TOKEN = TOKEN
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403

    settings.P2C_METRICS_ALLOW = ["10.1.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403

    settings.DEBUG = True
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_counters_move_during_a_sync_through_a_real_worker(client, metrics_token, dataverse, finops, celery_worker):
    finops.seed(SellableReleasedProducts=5, seed=4)
    dataverse.seed(accounts=10, seed=4)
    # A tenant of its own: the worker's token for the emulators' usual one was had by earlier tests.
    tenant = f"metrics-{uuid.uuid4().hex[:8]}"
    project = template_load(name="prospect_to_cash", project="metrics", sales_connection=connection_to(
        dataverse, system="dataverse", name="metrics-sales", authority=f"{dataverse.origin}/{tenant}"),
        finops_connection=connection_to(finops, system="finops", name="metrics-finops",
                                        authority=f"{finops.origin}/{tenant}"))
    before = samples(client)

    run = run_and_wait(project, mode=SyncRun.Mode.FULL, entity_maps=["Products", "Accounts"])

    after = samples(client)
    for connection in ("metrics-sales", "metrics-finops"):
        assert total(after, "p2c_api_requests_total", connection=connection, status="200") > total(
            before, "p2c_api_requests_total", connection=connection, status="200")
        assert total(after, "p2c_api_request_duration_seconds_count", connection=connection) > total(
            before, "p2c_api_request_duration_seconds_count", connection=connection)
        assert total(after, "p2c_token_requests_total", connection=connection, outcome="ok") >= 1
    assert total(after, "p2c_api_request_duration_seconds_bucket", connection="metrics-sales", le="+Inf") == total(
        after, "p2c_api_request_duration_seconds_count", connection="metrics-sales")
    created = total(after, "p2c_records", project="metrics", entity_map="Accounts", outcome="created")
    assert created == run.counts["created"] - total(after, "p2c_records", project="metrics", entity_map="Products",
                                                    outcome="created")
    assert total(after, "p2c_runs", project="metrics", status=run.status, kind="bulk") == 1
    assert total(after, "p2c_last_success_timestamp_seconds", project="metrics") == run.finished_at.timestamp()
    assert total(after, "p2c_entity_map_paused", project="metrics", entity_map="Accounts") == 0
    assert ("p2c_queue_depth", (("queue", celery_worker.queue),)) in after


def test_429s_are_counted_per_connection(client, metrics_token, dataverse):
    from connectors import DataverseClient
    from tests.connectors.conftest import config_for

    dataverse.seed(accounts=30)
    dataverse.configure(throttle={"requests": 3, "window_s": 1})
    before = total(samples(client), "p2c_api_throttled_total", connection="throttled-sales")
    config = config_for(dataverse, "dataverse", "tenant-429", page_size=5, name="throttled-sales")

    list(DataverseClient(config).rows("accounts"))

    after = samples(client)
    assert total(after, "p2c_api_throttled_total", connection="throttled-sales") - before == dataverse.stats()[
        "throttled"]
    assert total(after, "p2c_api_requests_total", connection="throttled-sales", status="429") >= 1
