"""Code the limiter tests run in separate processes (spawned, so nothing is shared but Redis)."""

from __future__ import annotations

import time

from connectors import ConnectionConfig, DataverseClient
from connectors.limiter import RedisLimiter


def hammer(origin, cert_path, tenant, redis_url, prefix, account_id, count, go, done):
    """Warm up and say so on `done`, wait for `go`, then read one account `count` times through a client whose
    budget is in Redis."""
    config = ConnectionConfig(system="dataverse", base_url=origin, client_id="p2c-emulator",
                              client_secret="emulator-secret", authority=f"{origin}/{tenant}", ca_bundle=cert_path,
                              requests_per_window=10, window_seconds=1, redis_url=redis_url,
                              redis_key_prefix=prefix, max_retries=0)
    client = DataverseClient(config)
    client.get("accounts", account_id)  # the token and the TLS connection, before the clock starts
    done.put("ready")
    go.wait()
    for _ in range(count):
        client.get("accounts", account_id, select=["name"])
    done.put(count)


def hold_a_slot(config, lease_seconds, holding):
    """Take the only concurrency slot and keep it until killed."""
    limiter = RedisLimiter(config, lease_seconds=lease_seconds)
    with limiter.slot(5):
        holding.set()
        time.sleep(60)
