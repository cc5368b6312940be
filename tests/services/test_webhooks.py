"""The webhook intake service: constant-time secret checks, delivery keys, and concurrent redeliveries."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from integration.models import SyncRun, WebhookDelivery
from integration.services import webhooks
from integration.webhook_context import parse_context
from tests.support import factories
from tests.webhooks import contexts

SECRET = "whk-0a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


@pytest.fixture
def project(db):
    return factories.template_project(webhook_secret=SECRET)


def test_authentication_returns_the_project_only_for_its_secret(project):
    assert webhooks.webhook_authenticate(project_name="p2c", header=SECRET, query=None) == project
    for name, presented in (("p2c", "nope"), ("p2c", None), ("p2c", ""), ("ghost", SECRET), ("ghost", None)):
        with pytest.raises(webhooks.WebhookUnauthorized, match=r"^unauthorized$"):
            webhooks.webhook_authenticate(project_name=name, header=presented, query=None)


def test_the_query_string_counts_only_where_the_project_allows_it(project, caplog):
    with pytest.raises(webhooks.WebhookUnauthorized):
        webhooks.webhook_authenticate(project_name="p2c", header=None, query=SECRET)
    assert "the secret came in the query string (WebhookKey), which the project does not accept" in caplog.text
    assert SECRET not in caplog.text
    project.webhook_secret_in_query = True
    project.save()
    assert webhooks.webhook_authenticate(project_name="p2c", header=None, query=SECRET) == project


def test_the_secret_is_compared_in_constant_time(project, monkeypatch):
    compared = []
    real = webhooks.hmac.compare_digest
    monkeypatch.setattr(webhooks.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    for name in ("p2c", "ghost"):
        with pytest.raises(webhooks.WebhookUnauthorized):
            webhooks.webhook_authenticate(project_name=name, header="guess", query=None)
    assert len(compared) == 2  # an unknown project is compared too, so both refusals cost the same


def test_a_delivery_key_names_the_operation_the_record_and_the_message(project):
    body = contexts.context(operation_id="op-1", correlation_id="co-1")
    key = webhooks.delivery_key(parse_context(body), body)
    assert key == webhooks.delivery_key(parse_context(body), {**body, "Depth": 2})  # same operation
    for change in ({"OperationId": "op-2"}, {"MessageName": "Create"},
                   {"PrimaryEntityId": "5f2b1a4e-0c1d-4e8b-9a51-000000000002"},
                   {"CorrelationId": "co-2"}):
        changed = {**body, **change}
        assert webhooks.delivery_key(parse_context(changed), changed) != key, change


@pytest.fixture
def committed_project(transactional_db):
    return factories.template_project(webhook_secret=SECRET)


def test_concurrent_redeliveries_start_exactly_one_run(committed_project):
    project = committed_project
    body = contexts.context(image=contexts.account_attributes())
    outcomes, barrier = [], threading.Barrier(6)

    def deliver():
        try:
            barrier.wait()
            outcomes.append(webhooks.webhook_receive(project=project, body=body).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["duplicate"] * 5 + ["queued"]
    assert SyncRun.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_deliveries_go_with_their_run_when_history_is_purged(project):
    webhooks.webhook_receive(project=project, body=contexts.context(image=contexts.account_attributes()))
    SyncRun.objects.all().delete()
    assert not WebhookDelivery.objects.exists()
