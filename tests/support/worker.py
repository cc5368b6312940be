"""A real Celery worker in a subprocess, pointed at the test database and the test session's Redis keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def database_url() -> str:
    """The URL of the database the tests run on (pytest-django's test database), for other processes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    if db["ENGINE"].endswith("postgresql"):
        auth = quote(db.get("USER") or "")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"])
        return f"postgres://{auth}@{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"
    raise RuntimeError(f"no URL form for database engine {db['ENGINE']}")


# Short leases and staleness thresholds, so the tests see the sweeper heal lost work within seconds.
TEST_ENGINE_ENV = {
    "P2C_HEARTBEAT_SECONDS": "1",
    "P2C_WORKER_DEAD_SECONDS": "5",
    "P2C_RECORD_LEASE_SECONDS": "15",
    "P2C_QUEUED_STALE_SECONDS": "3",
    "P2C_PLANNING_STALE_SECONDS": "15",
    "P2C_BACKOFF_BASE_SECONDS": "1",
    "P2C_BACKOFF_MAX_SECONDS": "4",
}


class CeleryProcess:
    """A `celery` command (worker or beat) as a separate process, on the test database, broker and queue; it
    can be killed and restarted like a real one."""

    kind = ""
    ready_marker = b""

    def __init__(self, *, key_prefix: str, log_dir: Path, queue: str | None = None,
                 extra_env: dict[str, str] | None = None):
        self.key_prefix = key_prefix
        self.queue = queue or settings.P2C_TASK_QUEUE
        self.extra_env = extra_env or {}
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = log_dir / f"{self.kind}-{self.name.split('@')[0]}.log"
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(TEST_ENGINE_ENV)
        env.update(
            DATABASE_URL=database_url(),
            REDIS_KEY_PREFIX=self.key_prefix,
            P2C_TASK_QUEUE=self.queue,
            DEBUG="true",
            PYTHONUNBUFFERED="1",
        )
        if not settings.EMBEDDED_REDIS:
            env["REDIS_URL"] = settings.REDIS_URL
        env.update(self.extra_env)
        return env

    def arguments(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 60.0):
        log = open(self.log_path, "wb")  # noqa: SIM115 - the child writes to it for its whole life
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "p2c_project", *self.arguments()],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while self.ready_marker not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} did not start; its log:\n{self.log()}")
            time.sleep(0.1)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL the whole process group (main process and children), as a crash or an OOM kill would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 20.0) -> None:
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class WorkerProcess(CeleryProcess):
    kind = "worker"
    ready_marker = b" ready."

    def __init__(self, *, pool: str = "threads", concurrency: int = 4, options: tuple[str, ...] = (), **kwargs):
        super().__init__(**kwargs)
        self.pool = pool
        self.concurrency = concurrency
        self.options = options  # more `celery worker` options, e.g. ("--prefetch-multiplier", "4")

    def arguments(self) -> list[str]:
        return ["worker", "--pool", self.pool, "--concurrency", str(self.concurrency), "--hostname", self.name,
                "--queues", f"{self.queue},{self.queue}-control", "--loglevel", "INFO", "--without-mingle",
                "--without-gossip", *self.options]


class BeatProcess(CeleryProcess):
    """celery beat with the database scheduler: project schedules and the housekeeping (the sweeper)."""

    kind = "beat"
    ready_marker = b"beat: Starting"

    def arguments(self) -> list[str]:
        return ["beat", "--loglevel", "INFO", "--schedule", str(self.log_path.with_suffix(".schedule"))]


def manage_py(*args: str, key_prefix: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python manage.py ...` as a separate process on the test database, broker and queue."""
    env = CeleryProcess(key_prefix=key_prefix, log_dir=Path(settings.VAR_DIR)).env()
    return subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR, capture_output=True,
                          text=True, timeout=timeout)
