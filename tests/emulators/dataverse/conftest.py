"""Fixtures of the Dataverse emulator tests."""

from __future__ import annotations

import pytest

from tests.emulators.dataverse.client import DataverseClient


@pytest.fixture
def dv(dataverse) -> DataverseClient:
    """A client of a freshly reset Dataverse emulator."""
    return DataverseClient(dataverse)
