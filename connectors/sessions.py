"""HTTP sessions that trust exactly the CA the connection names, whatever the environment says.

`requests` lets REQUESTS_CA_BUNDLE (set on our machines) override a session's `verify` unless `trust_env` is
off, so a connection to a test server with its own certificate, or to a host behind a company CA, must
switch it off.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

from connectors.config import ConnectionConfig


def new_session(config: ConnectionConfig, *, pool_size: int) -> requests.Session:
    """A session with a connection pool for `pool_size` concurrent requests and no retries of its own."""
    session = requests.Session()
    session.trust_env = False
    session.verify = config.ca_bundle or True
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    return session
