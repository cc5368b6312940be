"""Emulators of the Dataverse Web API and the Finance and Operations OData API, as real HTTPS servers.

`python -m connectors.emulators dataverse|finops --port N` runs one; tests start them in-process with `start`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from connectors.emulators.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorApp
from connectors.emulators.certs import ensure_certificate
from connectors.emulators.server import EmulatorServer

KINDS = {
    "dataverse": "connectors.emulators.dataverse:DataverseEmulator",
    "finops": "connectors.emulators.finops:FinOpsEmulator",
}


def app_class(kind: str) -> type[EmulatorApp]:
    module, _, name = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass
class RunningEmulator:
    app: EmulatorApp
    server: EmulatorServer
    cert_path: Path

    @property
    def origin(self) -> str:
        return self.server.origin

    @property
    def api_url(self) -> str:
        return self.app.api_url

    def stop(self) -> None:
        self.server.stop()


def start(kind: str, *, cert_path: Path, port: int = 0, client_id: str = DEFAULT_CLIENT_ID,
          client_secret: str = DEFAULT_CLIENT_SECRET, background: bool = True) -> RunningEmulator:
    """Create an emulator of `kind` and serve it on 127.0.0.1 (port 0: any free port)."""
    cert_path, key_path = ensure_certificate(cert_path)
    app = app_class(kind)(client_id=client_id, client_secret=client_secret)
    server = EmulatorServer(app, certfile=cert_path, keyfile=key_path, port=port)
    app.bind(server.origin)
    if background:
        server.start()
    return RunningEmulator(app, server, cert_path)
