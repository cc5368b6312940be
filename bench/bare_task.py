"""The bare pipeline's task (scenario 2), loaded into benchmark workers with `--include bench.bare_task`.

The least a record sync can do: one PATCH to the emulator with plain `requests` (one keep-alive session per
process, a token fetched once) and one ORM write. It runs in the same workers as the engine, with the same Celery
settings, so the ratio of the two rates is what the engine's own work costs.
"""

from __future__ import annotations

import os
import threading

import requests
from celery import shared_task
from django.utils import timezone
from requests.adapters import HTTPAdapter

from integration.models import KeyLink

TASK_NAME = "p2c_bench.bare_record"

_lock = threading.Lock()
_sessions: dict[int, requests.Session] = {}


def _session() -> requests.Session:
    """The process's session, with a token from the emulator's token endpoint (client credentials)."""
    pid = os.getpid()
    session = _sessions.get(pid)
    if session is not None:
        return session
    with _lock:
        if pid not in _sessions:
            session = requests.Session()
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
            session.verify = os.environ["P2C_BENCH_CA"]
            session.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=64, max_retries=0))
            origin = os.environ["P2C_BENCH_FINOPS_ORIGIN"]
            token = session.post(f"{origin}/contoso/oauth2/v2.0/token", data={
                "grant_type": "client_credentials", "client_id": os.environ["P2C_BENCH_CLIENT_ID"],
                "client_secret": os.environ["P2C_BENCH_CLIENT_SECRET"], "scope": f"{origin}/.default"},
                timeout=30).json()["access_token"]
            session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json",
                                    "OData-MaxVersion": "4.0", "OData-Version": "4.0", "If-Match": "*"})
            _sessions[pid] = session
        return _sessions[pid]


@shared_task(name=TASK_NAME)
def bare_record(link_id: int, url: str, body: dict) -> None:
    response = _session().patch(url, json=body, timeout=60)
    response.raise_for_status()
    KeyLink.objects.filter(pk=link_id).update(synced_at=timezone.now())
