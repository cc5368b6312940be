"""`client_for(config)`: the one client of a connection in this process, created on first use.

The engine calls it from many Celery tasks and threads; sharing the client shares its connection pool, token
cache and limiter, which is the point of having them.
"""

from __future__ import annotations

from connectors.base import ODataClient
from connectors.config import ConnectionConfig
from connectors.dataverse import DataverseClient
from connectors.finops import FinOpsClient
from connectors.process_local import ProcessLocal

CLIENT_TYPES: dict[str, type[ODataClient]] = {"dataverse": DataverseClient, "finops": FinOpsClient}
_clients: ProcessLocal[ODataClient] = ProcessLocal()


def client_for(config: ConnectionConfig) -> ODataClient:
    """The shared client for `config` (a DataverseClient or a FinOpsClient, by `config.system`)."""
    return _clients.get(config, lambda: CLIENT_TYPES[config.system](config))


def forget_client(config: ConnectionConfig) -> None:
    """Close and drop the shared client, e.g. after the engine changed the connection's settings."""
    client = _clients.pop(config)
    if client is not None:
        client.close()
