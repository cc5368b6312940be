"""Who may call what: tokens and sessions; 401 without credentials, 403 without permission, revealing nothing;
tokens stored as hashes and expiring; rates per user and address."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from integration.models import DryRun, RecordStatus, RunStatus
from integration.services.api_tokens import api_token_create
from tests.support import factories

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/projects/"),
    ("get", "/api/projects/{project}/"),
    ("get", "/api/projects/{project}/entity-maps/"),
    ("get", "/api/projects/{project}/runs/"),
    ("post", "/api/projects/{project}/runs/"),
    ("post", "/api/projects/{project}/pause/"),
    ("post", "/api/projects/{project}/resume/"),
    ("get", "/api/runs/"),
    ("get", "/api/runs/{run}/"),
    ("get", "/api/runs/{run}/records/"),
    ("post", "/api/runs/{run}/retry/"),
    ("post", "/api/runs/{run}/cancel/"),
    ("get", "/api/records/{record}/"),
    ("post", "/api/records/retry/"),
    ("get", "/api/projects/{project}/failing-records/"),
    ("post", "/api/failing-records/retry/"),
    ("post", "/api/failing-records/ignore/"),
    ("post", "/api/failing-records/unignore/"),
    ("get", "/api/dry-runs/{dry_run}/"),
    ("get", "/api/dry-runs/{dry_run}/records/"),
    ("get", "/api/projects/{project}/entity-maps/Accounts/preview/?key=K1"),
]


@pytest.fixture
def ids(project):
    run = factories.run(project, status=RunStatus.WARNING, records=[("Accounts", RecordStatus.FAILED)])
    dry_run = DryRun.objects.create(project=project, trigger="api")
    return {"project": project.name, "run": run.pk, "record": run.records.get().pk, "dry_run": dry_run.pk}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_credentials_get_401_with_a_token_challenge(anonymous, ids, method, path):
    response = getattr(anonymous, method)(path.format(**ids), {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_wrong_token_gets_401(ids, method, path):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert getattr(client, method)(path.format(**ids), {}, format="json").status_code == 401


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_permission_gets_403_whether_or_not_the_object_exists(nobody, ids, method, path):
    real = getattr(nobody, method)(path.format(**ids), {}, format="json")
    missing = getattr(nobody, method)(path.format(project="no-such-project", run=999999, record=999999,
                                                  dry_run=999999), {}, format="json")
    assert (real.status_code, missing.status_code) == (403, 403)
    assert real.json() == missing.json()


@pytest.mark.parametrize(("method", "path", "needs"), [
    ("post", "/api/projects/{project}/runs/", "add_syncrun"),
    ("post", "/api/projects/{project}/pause/", "change_project"),
    ("post", "/api/projects/{project}/resume/", "change_project"),
    ("post", "/api/runs/{run}/retry/", "change_syncrun"),
    ("post", "/api/runs/{run}/cancel/", "change_syncrun"),
    ("post", "/api/records/retry/", "change_syncrun"),
    ("post", "/api/failing-records/retry/", "change_syncrun"),
    ("post", "/api/failing-records/ignore/", "change_syncrun"),
])
def test_readers_cannot_act(reader, ids, method, path, needs):
    response = getattr(reader, method)(path.format(**ids), {"ids": [ids["record"]]}, format="json")
    assert response.status_code == 403, needs


@pytest.mark.parametrize(("perm", "path"), [
    ("integration.view_project", "/api/projects/"),
    ("integration.view_syncrun", "/api/runs/"),
])
def test_each_read_needs_its_own_view_permission(perm, path):
    client = APIClient()
    client.force_authenticate(factories.user("narrow", staff=False, perms=[perm]))
    assert client.get(path).status_code == 200
    other = "/api/runs/" if path == "/api/projects/" else "/api/projects/"
    assert client.get(other).status_code == 403


def test_exactly_the_named_permission_lets_a_user_start_a_run(project):
    client = APIClient()
    client.force_authenticate(factories.user("starter", staff=False, perms=["integration.add_syncrun"]))
    assert client.post(f"/api/projects/{project.name}/runs/", {"mode": "full"}, format="json").status_code == 202


def test_a_session_works_and_needs_the_csrf_token_to_write(project):
    factories.user("browser", staff=False, perms=factories.ALL)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="browser"))
    assert client.get("/api/projects/").status_code == 200
    refused = client.post(f"/api/projects/{project.name}/pause/")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


# --- tokens -------------------------------------------------------------------------------------------------------
def test_a_token_is_stored_only_as_a_hash(project):
    factories.user("script", staff=False, perms=factories.ALL)
    out = io.StringIO()
    call_command("create_api_token", "script", "--days", "7", stdout=out, stderr=io.StringIO())
    token = out.getvalue().strip()
    assert token.startswith("p2c_")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert token not in stored
    assert stored  # the row is there: its hash, the first characters knox finds it by, the expiry
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/projects/").status_code == 200


def test_every_token_expires_and_an_expired_one_is_refused(project):
    user = factories.user("script", staff=False, perms=factories.ALL)
    issued = api_token_create(username="script", days=30)
    assert timedelta(days=29) < issued.expiry - timezone.now() <= timedelta(days=30)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.token}")
    assert client.get("/api/projects/").status_code == 200
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/projects/").status_code == 401


@pytest.mark.parametrize(("arguments", "message"), [
    (["ghost"], "no active user named 'ghost'"),
    (["script", "--days", "0"], "a token is valid for at least 1 day"),
])
def test_the_command_refuses_unknown_users_and_tokens_without_an_expiry(project, arguments, message):
    factories.user("script", staff=False)
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", *arguments, stdout=io.StringIO(), stderr=io.StringIO())
    assert not AuthToken.objects.exists()


# --- throttling and the schema ------------------------------------------------------------------------------------
@override_settings(P2C_API_THROTTLE_RATE="3/minute")
def test_a_user_over_the_configured_rate_gets_429_with_retry_after(operator, reader):
    assert [operator.get("/api/projects/").status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = operator.get("/api/runs/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert reader.get("/api/projects/").status_code == 200  # per user: another one is not held back


def test_the_schema_needs_credentials(anonymous, reader):
    assert anonymous.get("/api/schema/").status_code == 401
    schema = reader.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/webhooks/dataverse/{project}/" in schema.content
