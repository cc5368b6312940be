"""Connections to the emulators, one application user (tenant) per test so limiters and token caches are fresh."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from connectors import ConnectionConfig, DataverseClient, FinOpsClient

CLIENT_ID = "p2c-emulator"
CLIENT_SECRET = "emulator-secret"


def config_for(handle, system: str, tenant: str, **overrides) -> ConnectionConfig:
    settings = {
        "system": system,
        "base_url": handle.origin,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "authority": f"{handle.origin}/{tenant}",
        "ca_bundle": handle.cert_path,
        "default_company": "usmf" if system == "finops" else "",
        "connect_timeout": 5.0,
        "read_timeout": 20.0,
        "backoff_base": 0.05,
        "backoff_max": 0.5,
        **overrides,
    }
    return ConnectionConfig(**settings)


@pytest.fixture
def tenant():
    return f"tenant-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def dv_config(dataverse, tenant):
    """A factory of Dataverse configurations for this test's application user."""
    return lambda **overrides: config_for(dataverse, "dataverse", tenant, **overrides)


@pytest.fixture
def fo_config(finops, tenant):
    return lambda **overrides: config_for(finops, "finops", tenant, **overrides)


@pytest.fixture
def dv(dv_config):
    client = DataverseClient(dv_config())
    yield client
    client.close()


@pytest.fixture
def fo(fo_config):
    client = FinOpsClient(fo_config())
    yield client
    client.close()


@pytest.fixture(scope="session")
def limiter_redis_url(request):
    """The Redis the suite runs on: REDIS_URL when set (CI), else the embedded server's unix socket."""
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        return url
    return f"unix://{request.getfixturevalue('embedded_redis')}"


@pytest.fixture
def redis_prefix(limiter_redis_url):
    """A key prefix of this test's own in the suite's Redis, emptied afterwards."""
    prefix = f"p2c-test-limiter-{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = redis.Redis.from_url(limiter_redis_url.replace("redis+socket://", "unix://"))
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
