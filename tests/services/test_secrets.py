"""Key rotation: `manage.py reencrypt_secrets` moves every stored secret under the first key, so the old can go."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection as database

from integration.crypto import SecretUnreadable
from integration.models import Connection, Project
from tests.support import factories

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "rotate-me-0f9e8d7c6b5a-4938-2716-aabbccddeeff"


def stored(table: str, column: str, pk: int) -> str:
    with database.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - names from the test
        return cursor.fetchone()[0]


def test_every_secret_moves_to_the_first_key_and_the_old_key_can_go(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.P2C_ENCRYPTION_KEYS = [old]
    project = factories.project(webhook_secret=WEBHOOK_SECRET)
    sales = Connection.objects.get(pk=project.sales_connection_id)
    sales.certificate_pem = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"
    sales.save()

    settings.P2C_ENCRYPTION_KEYS = [new, old]  # rotation: the new key first, the old one still decrypts
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "re-encrypted 4 secrets" in out.getvalue()  # two client secrets, a certificate, a webhook secret

    settings.P2C_ENCRYPTION_KEYS = [new]  # the old key is gone
    assert Project.objects.get(pk=project.pk).webhook_secret == WEBHOOK_SECRET
    assert Connection.objects.get(pk=sales.pk).client_secret == "s3cret-p2c-sales"
    assert Connection.objects.get(pk=sales.pk).certificate_pem.startswith("-----BEGIN PRIVATE KEY-----")
    raw = stored("integration_project", "webhook_secret", project.pk)
    assert Fernet(new.encode()).decrypt(raw.encode()).decode() == WEBHOOK_SECRET
    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(raw.encode())


def test_a_secret_no_key_can_read_is_named_and_the_others_still_move(settings):
    lost, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.P2C_ENCRYPTION_KEYS = [lost]
    orphan = factories.connection("orphan", "dataverse", client_secret="unrecoverable")
    settings.P2C_ENCRYPTION_KEYS = [new]
    kept = factories.connection("kept", "finops", client_secret="kept-secret")

    with pytest.raises(CommandError, match=rf"no configured key can read: integration.Connection #{orphan.pk} "
                                           "client_secret"):
        call_command("reencrypt_secrets", stdout=io.StringIO())
    assert Connection.objects.get(pk=kept.pk).client_secret == "kept-secret"
    with pytest.raises(SecretUnreadable):
        Connection.objects.get(pk=orphan.pk)
