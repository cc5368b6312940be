from __future__ import annotations

import pytest

from integration.models import Project
from tests.support import factories

SECRET = "whk-4f7d2a9c1e-8b3a-4c55-9e01-7d2f6a0b9c3e"


@pytest.fixture
def project(db) -> Project:
    """The Prospect-to-cash template on connections nobody can reach: the webhook must not call out."""
    return factories.template_project(webhook_secret=SECRET)
