from __future__ import annotations

import pytest
from django.test import Client

from tests.support import factories


@pytest.fixture
def admin_client_with_perms(db) -> Client:
    """A staff user with every integration permission (not a superuser: permissions are what is tested)."""
    client = Client()
    client.force_login(factories.user("integrator", perms=factories.ALL))
    return client


@pytest.fixture
def staff_without_perms(db) -> Client:
    client = Client()
    client.force_login(factories.user("visitor"))
    return client


@pytest.fixture
def viewer(db) -> Client:
    """A staff user who may look at everything but change nothing."""
    client = Client()
    perms = [f"integration.view_{model}" for model in ("connection", "project", "entitymap", "fieldmap", "keylink",
                                                        "syncrun", "recordsync", "webhookdelivery",
                                                        "workerheartbeat", "organizationmapping")]
    client.force_login(factories.user("viewer", perms=perms))
    return client
