"""Connections in the admin: secrets are write-only and never shown; a credential goes only where the rules
allow; the test action signs in and reads, for those who may change connections."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.test import override_settings
from django.urls import reverse

from connectors import AppUser
from integration.models import ApplicationUser, Connection, System
from integration.services.connections import connection_config
from tests.support import factories
from tests.support.listener import Listener

pytestmark = pytest.mark.django_db
SECRET = "correct-horse-battery-staple"


def form_data(*extra_users: dict, **overrides) -> dict:
    data = {"name": "sales", "system": System.DATAVERSE, "base_url": "https://contoso.crm.dynamics.com",
            "authority": "https://login.microsoftonline.com/contoso", "client_id": "app-id", "client_secret": "",
            "client_secret_env": "", "certificate_pem": "", "certificate_thumbprint": "", "scope": "",
            "default_company": "", "ca_bundle": "", "timeout_seconds": "60", "page_size": "5000",
            "batch_size": "100", "max_retries": "5", "requests_per_window": "", "window_seconds": "300",
            "max_concurrency": ""}
    return {**data, **inline_users(*extra_users), **overrides}


def inline_users(*users: dict) -> dict:
    """The inline formset of extra application users, as the page posts it (new rows only)."""
    data = {"extra_users-TOTAL_FORMS": str(len(users)), "extra_users-INITIAL_FORMS": "0",
            "extra_users-MIN_NUM_FORMS": "0", "extra_users-MAX_NUM_FORMS": "1000"}
    for number, user in enumerate(users):
        for name, value in {"client_id": "", "client_secret": "", "client_secret_env": "", **user}.items():
            data[f"extra_users-{number}-{name}"] = value
    return data


def test_a_secret_typed_on_the_add_page_is_stored_encrypted_and_never_shown_again(admin_client_with_perms):
    response = admin_client_with_perms.post(reverse("admin:integration_connection_add"),
                                            form_data(client_secret=SECRET))
    assert response.status_code == 302
    connection = Connection.objects.get(name="sales")
    assert connection.client_secret == SECRET
    for url in (reverse("admin:integration_connection_change", args=[connection.pk]),
                reverse("admin:integration_connection_changelist"),
                reverse("admin:integration_connection_history", args=[connection.pk]),
                reverse("admin:integration_connection_delete", args=[connection.pk])):
        page = admin_client_with_perms.get(url)
        assert page.status_code == 200, url
        assert SECRET not in page.content.decode(), url
    change_page = admin_client_with_perms.get(reverse("admin:integration_connection_change", args=[connection.pk]))
    assert "stored, encrypted" in change_page.content.decode()
    assert all(SECRET not in entry.change_message for entry in LogEntry.objects.all())


def test_saving_with_a_blank_secret_keeps_the_stored_one(admin_client_with_perms):
    connection = factories.connection("sales", System.DATAVERSE, client_secret=SECRET)
    response = admin_client_with_perms.post(reverse("admin:integration_connection_change", args=[connection.pk]),
                                            form_data(client_id="another-app"))
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.client_id, connection.client_secret) == ("another-app", SECRET)


def test_a_new_secret_replaces_the_stored_one_and_the_tick_removes_it(admin_client_with_perms):
    connection = factories.connection("sales", System.DATAVERSE, client_secret=SECRET)
    url = reverse("admin:integration_connection_change", args=[connection.pk])
    admin_client_with_perms.post(url, form_data(client_secret="rotated"))
    connection.refresh_from_db()
    assert connection.client_secret == "rotated"
    admin_client_with_perms.post(url, form_data(clear_client_secret="on", client_secret_env="P2C_SECRET_SALES"))
    connection.refresh_from_db()
    assert (connection.client_secret, connection.client_secret_env) == ("", "P2C_SECRET_SALES")


def test_a_stored_certificate_is_not_rendered_in_its_textarea(admin_client_with_perms):
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    connection = factories.connection("sales", System.DATAVERSE, client_secret="", certificate_pem=pem,
                                      certificate_thumbprint="AB12")
    page = admin_client_with_perms.get(reverse("admin:integration_connection_change", args=[connection.pk]))
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in page.content.decode()
    assert "certificate (stored, encrypted)" in admin_client_with_perms.get(
        reverse("admin:integration_connection_changelist")).content.decode()


def test_staff_without_permissions_cannot_open_connections(staff_without_perms):
    factories.connection("sales", System.DATAVERSE)
    assert staff_without_perms.get(reverse("admin:integration_connection_changelist")).status_code == 403


def refusal(client, **fields) -> str:
    """Save the add form with `fields`; the page of errors it answers with (nothing is saved)."""
    response = client.post(reverse("admin:integration_connection_add"), form_data(**fields))
    assert response.status_code == 200
    assert not Connection.objects.exists()
    return response.content.decode()


@pytest.mark.parametrize(("system", "fields", "message"), [
    (System.DATAVERSE, {"batch_size": "1001"}, "between 1 and 1,000 records: the most operations a dataverse $batch"),
    (System.DATAVERSE, {"batch_size": "0"}, "between 1 and 1,000 records"),
    (System.DATAVERSE, {"page_size": "5001"}, "between 1 and 5,000 records for dataverse"),
    (System.FINOPS, {"batch_size": "5001"}, "between 1 and 5,000 records: the most operations a finops $batch"),
])
def test_page_and_batch_sizes_beyond_the_documented_limits_are_refused_on_save(admin_client_with_perms, system,
                                                                                fields, message):
    assert message in refusal(admin_client_with_perms, system=system, **fields)


def test_the_batch_size_is_set_in_the_admin(admin_client_with_perms):
    response = admin_client_with_perms.post(reverse("admin:integration_connection_add"),
                                            form_data(client_secret=SECRET, batch_size="250"))
    assert response.status_code == 302
    assert Connection.objects.get().batch_size == 250


@pytest.mark.parametrize("authority", [
    "https://login.attacker.example/contoso",
    "https://login.microsoftonline.com.attacker.example/contoso",
    "https://login.microsoftonline.com:8443/contoso",
    "https://127.0.0.2/contoso",
    "https://login.microsoftonline.com/contoso?x=1",
])
def test_a_foreign_authority_is_refused_on_save(admin_client_with_perms, authority):
    page = refusal(admin_client_with_perms, authority=authority)
    assert "is not Microsoft Entra ID" in page or "must be https://&lt;host&gt;/&lt;tenant&gt;" in page


@pytest.mark.parametrize("authority", [
    "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555",
    "https://login.microsoftonline.us/contoso.onmicrosoft.us",
    "https://login.partner.microsoftonline.cn/contoso",
])
def test_microsoft_entras_clouds_are_accepted(admin_client_with_perms, authority):
    response = admin_client_with_perms.post(reverse("admin:integration_connection_add"),
                                            form_data(authority=authority, client_secret=SECRET))
    assert response.status_code == 302
    assert Connection.objects.get().authority == authority


@pytest.mark.parametrize(("variable", "message"), [
    ("SECRET_KEY", "SECRET_KEY is one of p2c&#x27;s own settings"),
    ("P2C_ENCRYPTION_KEYS", "P2C_ENCRYPTION_KEYS is one of p2c&#x27;s own settings"),
    ("DATABASE_URL", "DATABASE_URL is one of p2c&#x27;s own settings"),
    ("P2C_SECRET_ENV_ALLOWLIST", "P2C_SECRET_ENV_ALLOWLIST is one of p2c&#x27;s own settings"),  # matches P2C_SECRET_*
    ("HOME", "HOME is not allowed by P2C_SECRET_ENV_ALLOWLIST (allowed: P2C_SECRET_*)"),
    ("P2C SECRET", "&#x27;P2C SECRET&#x27; is not an environment variable name"),
])
def test_a_variable_that_may_not_hold_a_secret_is_refused_on_save(admin_client_with_perms, variable, message):
    assert message in refusal(admin_client_with_perms, client_secret_env=variable)


@override_settings(P2C_SECRET_ENV_ALLOWLIST=["SECRET_*", "SALES_APP_SECRET"])
def test_the_allow_list_takes_names_and_prefixes_but_never_a_setting(admin_client_with_perms):
    assert "one of p2c&#x27;s own settings" in refusal(admin_client_with_perms, client_secret_env="SECRET_KEY")
    for name in ("SECRET_SALES", "SALES_APP_SECRET"):
        response = admin_client_with_perms.post(reverse("admin:integration_connection_add"),
                                                form_data(name=name, client_secret_env=name))
        assert response.status_code == 302, name


def test_a_ca_file_must_be_certificates_in_an_allowed_directory(admin_client_with_perms, emulator_cert, tmp_path):
    outside = tmp_path / "ca.pem"
    outside.write_bytes(emulator_cert.read_bytes())
    assert "must be a file in one of P2C_CA_BUNDLE_DIRS" in refusal(admin_client_with_perms, ca_bundle=str(outside))
    assert "must be a file in one of P2C_CA_BUNDLE_DIRS" in refusal(admin_client_with_perms, ca_bundle="/etc/passwd")
    escape = f"{settings.VAR_DIR}/../../../../etc/passwd"
    assert "must be a file in one of P2C_CA_BUNDLE_DIRS" in refusal(admin_client_with_perms, ca_bundle=escape)
    key = str(emulator_cert.with_suffix(".key"))  # in the directory, but a private key
    assert "is not a PEM file of certificates" in refusal(admin_client_with_perms, ca_bundle=key)
    response = admin_client_with_perms.post(reverse("admin:integration_connection_add"),
                                            form_data(ca_bundle=str(emulator_cert), client_secret=SECRET))
    assert response.status_code == 302


def test_a_scope_for_another_resource_is_refused(admin_client_with_perms):
    page = refusal(admin_client_with_perms, scope="https://contoso.crm4.dynamics.com/.default")
    assert "must be the base URL&#x27;s own resource" in page


def run_test_action(client, connection: Connection):
    return client.post(reverse("admin:integration_connection_changelist"),
                       {"action": "test_connection", "_selected_action": [connection.pk]}, follow=True)


def emulator_connection(handle, *, secret: str, **fields) -> Connection:
    values = {"base_url": handle.origin, "authority": f"{handle.origin}/contoso-admin-test",
              "client_id": "p2c-emulator", "client_secret": secret, "ca_bundle": handle.cert_path,
              "requests_per_window": None, **fields}
    return factories.connection("sales", System.DATAVERSE, **values)


def test_test_connection_signs_in_and_reads_a_page(admin_client_with_perms, dataverse, embedded_redis):
    connection = emulator_connection(dataverse, secret="emulator-secret")
    page = run_test_action(admin_client_with_perms, connection).content.decode()
    assert "Sales: signed in and read" in page
    assert "transactioncurrencies" in page


def test_test_connection_reports_a_refused_secret_without_showing_it(admin_client_with_perms, dataverse,
                                                                     embedded_redis):
    connection = emulator_connection(dataverse, secret="wrong-secret-value")
    page = run_test_action(admin_client_with_perms, connection).content.decode()
    assert "Sales: AuthError" in page
    assert "wrong-secret-value" not in page


def test_a_view_only_user_cannot_run_the_test(viewer, dataverse, embedded_redis):
    connection = emulator_connection(dataverse, secret="emulator-secret")
    assert "test_connection" not in viewer.get(reverse("admin:integration_connection_changelist")).content.decode()
    page = run_test_action(viewer, connection).content.decode()
    assert "signed in" not in page
    assert dataverse.stats()["tokens_issued"] == 0


@pytest.fixture
def listener():
    made = Listener()
    yield made
    made.stop()


def test_a_connection_saved_around_the_rules_sends_nothing(admin_client_with_perms, dataverse, listener,
                                                           embedded_redis, settings):
    """Rows written before the rules, or without the admin: the test refuses them before any request."""
    settings.P2C_AUTHORITY_HOSTS = [dataverse.origin.split("//")[1]]  # the emulator's host:port, not the listener's
    foreign = emulator_connection(dataverse, secret="emulator-secret",
                                  authority=f"https://127.0.0.1:{listener.port}/contoso")
    page = run_test_action(admin_client_with_perms, foreign).content.decode()
    assert "authority: 127.0.0.1 is not Microsoft Entra ID" in page
    foreign.delete()

    settings.P2C_AUTHORITY_HOSTS = ["127.0.0.1"]  # the listener's host is allowed now; the variable is not
    leaking = emulator_connection(dataverse, secret="", client_secret_env="SECRET_KEY",
                                  authority=f"https://127.0.0.1:{listener.port}/contoso")
    page = run_test_action(admin_client_with_perms, leaking).content.decode()
    assert "client_secret_env: SECRET_KEY is one of p2c&#x27;s own settings" in page
    assert settings.SECRET_KEY not in page
    assert listener.connections == 0
    assert dataverse.stats()["tokens_issued"] == 0

    leaking.client_secret_env, leaking.client_secret = "", "emulator-secret"  # the same row, allowed: it calls
    leaking.save()
    run_test_action(admin_client_with_perms, leaking)
    assert listener.connections > 0  # so the listener would have seen the refused ones


# --- extra application users -----------------------------------------------------------------------------------
def test_extra_application_users_are_added_inline_with_write_only_secrets(admin_client_with_perms):
    response = admin_client_with_perms.post(reverse("admin:integration_connection_add"), form_data(
        {"client_id": "second-app", "client_secret": "second-s3cret"}, client_secret=SECRET))
    assert response.status_code == 302
    connection = Connection.objects.get(name="sales")
    assert [(user.client_id, user.client_secret) for user in connection.extra_users.all()] == [("second-app",
                                                                                                 "second-s3cret")]
    page = admin_client_with_perms.get(reverse("admin:integration_connection_change", args=[connection.pk]))
    assert "second-app" in page.content.decode()
    assert "second-s3cret" not in page.content.decode()
    config = connection_config(connection)
    assert config.extra_users == (AppUser("second-app", client_secret="second-s3cret"),)
    assert [user.client_id for user in config.users] == ["app-id", "second-app"]


@pytest.mark.parametrize(("user", "message"), [
    ({"client_id": "app-id", "client_secret": "x"}, "is the connection&#x27;s own application user"),
    ({"client_id": "third-app", "client_secret_env": "SECRET_KEY"}, "SECRET_KEY is one of p2c&#x27;s own settings"),
    ({"client_id": "third-app"}, "give the secret, or the environment variable that holds it"),
])
def test_an_extra_user_is_refused_by_the_connections_rules(admin_client_with_perms, user, message):
    assert message in refusal(admin_client_with_perms, **form_data(user, client_secret=SECRET))


def test_an_extra_users_secret_may_come_from_an_allowed_variable(admin_client_with_perms, monkeypatch):
    monkeypatch.setenv("P2C_SECRET_SECOND", "from-the-environment")
    response = admin_client_with_perms.post(reverse("admin:integration_connection_add"), form_data(
        {"client_id": "second-app", "client_secret_env": "P2C_SECRET_SECOND"}, client_secret=SECRET))
    assert response.status_code == 302
    config = connection_config(Connection.objects.get(name="sales"))
    assert config.extra_users[0].client_secret == "from-the-environment"


@pytest.fixture
def second_app(dataverse):
    dataverse.control("POST", "clients", {"client_id": "second-app", "client_secret": "second-s3cret"})
    yield "second-app"
    dataverse.control("DELETE", "clients")


def test_test_connection_signs_in_and_reads_as_each_application_user(admin_client_with_perms, dataverse,
                                                                     second_app, embedded_redis):
    connection = emulator_connection(dataverse, secret="emulator-secret")
    ApplicationUser.objects.create(connection=connection, client_id=second_app, client_secret="second-s3cret")
    page = run_test_action(admin_client_with_perms, connection).content.decode()
    assert "Sales: signed in as each of its 2 application users and read" in page
    assert dataverse.stats()["requests_by_client"] == {"p2c-emulator": 1, second_app: 1}
    ApplicationUser.objects.filter(client_id=second_app).update(client_secret="wrong-secret-value")
    page = run_test_action(admin_client_with_perms, connection).content.decode()
    assert "Sales: AuthError as application user second-app" in page
    assert "wrong-secret-value" not in page
