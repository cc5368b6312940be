from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integration.services.api_tokens import api_token_create
from tests.support import factories


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(username=user.username, days=1).token}")
    return client


@pytest.fixture
def operator(db) -> APIClient:
    """A script's user that may read everything and start, retry, cancel runs and pause projects."""
    return token_client(factories.user("operator", staff=False, perms=factories.ALL))


@pytest.fixture
def reader(db) -> APIClient:
    perms = [f"integration.view_{model}" for model in ("project", "entitymap", "syncrun", "recordsync")]
    return token_client(factories.user("reader", staff=False, perms=perms))


@pytest.fixture
def nobody(db) -> APIClient:
    """Authenticated, with no permission at all."""
    return token_client(factories.user("nobody", staff=False))


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def project(db):
    return factories.project()
