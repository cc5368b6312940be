"""The connection rule: a token request the engine saw fail (against the emulator's real token endpoint), and a
stored certificate near its end."""

from __future__ import annotations

import uuid

import pytest

from integration.models import AlertIncident, AlertRule, Connection, Project, System
from integration.services.alerts import alerts_evaluate
from integration.services.connections import ConnectionTestFailed, connection_test
from tests.support import factories
from tests.support.certificates import self_signed
from tests.support.projects import connection_to

pytestmark = pytest.mark.django_db


def unique(name: str) -> str:
    """Token outcomes are kept in Redis by connection name for the whole session: a name of this test's own."""
    return f"{name}-{uuid.uuid4().hex[:6]}"


def certificate_pem(*, days: int) -> str:
    return "".join(self_signed(days=days))


def test_a_refused_token_request_alerts_and_the_next_good_one_resolves_it(dataverse, embedded_redis, smtp_sink):
    name = unique("sales")
    sales = connection_to(dataverse, system="dataverse", name=name, client_secret="not-the-secret")
    project = Project.objects.create(name="tokens", sales_connection=sales,
                                     finops_connection=factories.connection(unique("fno"), System.FINOPS))
    AlertRule.objects.create(project=project, kind="connection_failing", email_to="ops@example.com")

    with pytest.raises(ConnectionTestFailed):
        connection_test(connection=sales)
    alerts_evaluate()
    alerts_evaluate()

    incident = AlertIncident.objects.get()
    assert incident.subject == f"token:{sales.pk}"
    assert incident.summary.startswith(f"connection {name}: the last token request failed at ")
    assert "invalid_client" in incident.summary
    assert "not-the-secret" not in incident.summary
    assert smtp_sink.subjects() == ["[p2c] ALERT tokens: A connection's token or certificate is failing"]

    Connection.objects.filter(pk=sales.pk).update(client_secret="emulator-secret")
    connection_test(connection=Connection.objects.get(pk=sales.pk))
    alerts_evaluate()

    assert AlertIncident.objects.get().resolved_at is not None
    assert smtp_sink.subjects()[1] == "[p2c] RESOLVED tokens: A connection's token or certificate is failing"


def test_a_certificate_that_expires_within_the_threshold_alerts_until_it_is_renewed(embedded_redis, smtp_sink):
    finops = factories.connection(unique("fno"), System.FINOPS, client_secret="",
                                  certificate_pem=certificate_pem(days=5), certificate_thumbprint="AB" * 20)
    project = Project.objects.create(name="certs", finops_connection=finops,
                                     sales_connection=factories.connection(unique("sales"), System.DATAVERSE))
    AlertRule.objects.create(project=project, kind="connection_failing", threshold=14, email_to="ops@example.com")

    alerts_evaluate()

    incident = AlertIncident.objects.get()
    assert incident.subject == f"certificate:{finops.pk}"
    assert "its certificate expires at" in incident.summary
    assert "in 4 days: renew it" in incident.summary

    Connection.objects.filter(pk=finops.pk).update(certificate_pem=certificate_pem(days=300))
    alerts_evaluate()

    assert AlertIncident.objects.get().resolved_at is not None
    assert len(smtp_sink.messages) == 2
