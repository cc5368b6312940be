"""A TCP listener on loopback that counts the connections made to it: proof that nothing was sent there."""

from __future__ import annotations

import socket
import threading


class Listener:
    def __init__(self):
        self.connections = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()  # whatever the client wanted (TLS, a token request), it gets nothing

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self._socket.close()
