"""The processes the demo starts (a Celery worker, beat, the web server), and stopping every one of them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings


def free_port(preferred: int) -> int:
    """`preferred` when nothing listens there, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError("no free port")


class Processes:
    """Child processes in their own process groups, logging to files under var/demo/, stopped together."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.children: list[tuple[str, subprocess.Popen]] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: list[str], *, ready: bytes | None = None, timeout: float = 60) -> Path:
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(args, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.children.append((name, process))
        deadline = time.monotonic() + timeout
        while ready and ready not in log_path.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} did not start; {log_path} ends with:\n{tail}")
            time.sleep(0.1)
        return log_path

    def worker(self, concurrency: int) -> None:
        # No -Q: the worker takes from every queue in CELERY_TASK_QUEUES, the records' and the sweeper's.
        self.start("worker", [sys.executable, "-m", "celery", "-A", "p2c_project", "worker", "--pool", "prefork",
                              "--concurrency", str(concurrency), "--loglevel", "INFO", "--hostname", "demo@%h"],
                   ready=b" ready.")

    def beat(self) -> None:
        self.start("beat", [sys.executable, "-m", "celery", "-A", "p2c_project", "beat", "--loglevel", "INFO",
                            "--schedule", str(self.log_dir / "beat-schedule")], ready=b"beat: Starting")

    def web(self, port: int) -> None:
        self.start("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                   ready=b"Quit the server with")

    def stop_all(self) -> None:
        for _, process in reversed(self.children):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, process in reversed(self.children):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.children.clear()
