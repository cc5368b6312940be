"""Connections in the admin: secrets are write-only and never shown; the test action signs in and reads."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from integration.models import Connection, System
from tests.support import factories

pytestmark = pytest.mark.django_db
SECRET = "correct-horse-battery-staple"


def form_data(**overrides) -> dict:
    data = {"name": "sales", "system": System.DATAVERSE, "base_url": "https://contoso.crm.dynamics.com",
            "authority": "https://login.microsoftonline.com/contoso", "client_id": "app-id", "client_secret": "",
            "client_secret_env": "", "certificate_pem": "", "certificate_thumbprint": "", "scope": "",
            "default_company": "", "ca_bundle": "", "timeout_seconds": "60", "page_size": "5000",
            "max_retries": "5", "requests_per_window": "", "window_seconds": "300", "max_concurrency": ""}
    return {**data, **overrides}


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
    admin_client_with_perms.post(url, form_data(clear_client_secret="on", client_secret_env="SALES_SECRET"))
    connection.refresh_from_db()
    assert (connection.client_secret, connection.client_secret_env) == ("", "SALES_SECRET")


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


def run_test_action(client, connection: Connection):
    return client.post(reverse("admin:integration_connection_changelist"),
                       {"action": "test_connection", "_selected_action": [connection.pk]}, follow=True)


def emulator_connection(handle, *, secret: str) -> Connection:
    return factories.connection("sales", System.DATAVERSE, base_url=handle.origin,
                                authority=f"{handle.origin}/contoso-admin-test", client_id="p2c-emulator",
                                client_secret=secret, ca_bundle=handle.cert_path, requests_per_window=None)


def test_test_connection_signs_in_and_reads_a_page(viewer, dataverse, embedded_redis):
    connection = emulator_connection(dataverse, secret="emulator-secret")
    page = run_test_action(viewer, connection).content.decode()
    assert "Sales: signed in and read" in page
    assert "transactioncurrencies" in page


def test_test_connection_reports_a_refused_secret_without_showing_it(viewer, dataverse, embedded_redis):
    connection = emulator_connection(dataverse, secret="wrong-secret-value")
    page = run_test_action(viewer, connection).content.decode()
    assert "Sales: AuthError" in page
    assert "wrong-secret-value" not in page
