"""What every engine benchmark needs: a database, both emulators, a Prospect-to-cash project and real workers.

The database is PostgreSQL when DATABASE_URL is set (a fresh `<name>_bench` database is made from it), else a
fresh SQLite file under var/bench/; the broker is REDIS_URL when set, else the embedded Redis. The emulators run
in this process over HTTPS; the workers are `celery worker` processes, as in production.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_VAR = ROOT / "var" / "bench"


def _prepare_environment() -> None:
    """Point Django at the benchmark's own database before it is imported."""
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2c_project.settings")
    os.environ["LOG_LEVEL"] = os.environ.get("BENCH_LOG_LEVEL", "WARNING")
    os.environ.setdefault("REDIS_KEY_PREFIX", f"p2c-bench-{uuid.uuid4().hex[:6]}:")
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parts = urlsplit(url)
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_bench"))
    else:
        for stale in BENCH_VAR.glob("bench.sqlite3*"):
            stale.unlink()
        os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_VAR / 'bench.sqlite3'}"
    sys.path.insert(0, str(ROOT))


_prepare_environment()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from connectors.emulators import start  # noqa: E402
from integration.models import ACTIVE_RUN_STATUSES, Connection, Project, SyncRun  # noqa: E402
from integration.services import runs  # noqa: E402
from integration.services.templates import template_load  # noqa: E402


def reset_database() -> None:
    """Drop and create the benchmark database (PostgreSQL) and migrate it."""
    if connection.vendor == "postgresql":
        name = connection.settings_dict["NAME"]
        connection.close()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def machine() -> str:
    import celery
    import django as dj

    db = f"{connection.vendor} {connection.Database.sqlite_version if connection.vendor == 'sqlite' else ''}".strip()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            db = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    broker = "embedded Redis" if settings.EMBEDDED_REDIS else "Redis service"
    return (f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, Django {dj.__version__}, "
            f"Celery {celery.__version__}, {db}, {broker}")


class Emulators:
    """Both emulators in this process, with a requests session each for seeding and checking."""

    def __init__(self):
        cert = BENCH_VAR / "emulator-cert.pem"
        self.dataverse = start("dataverse", cert_path=cert)
        self.finops = start("finops", cert_path=cert)
        self.cert = cert

    def control(self, emulator, method: str, action: str, body: dict | None = None) -> dict:
        import requests

        response = requests.request(method, f"{emulator.origin}/_emulator/{action}", json=body, verify=str(self.cert),
                                    timeout=600)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.dataverse.stop()
        self.finops.stop()


def create_project(emulators: Emulators, *, name: str = "bench", **connection_fields) -> Project:
    def connection(emulator, system: str) -> Connection:
        return Connection.objects.create(
            name=f"{name}-{system}", system=system, base_url=emulator.origin, authority=f"{emulator.origin}/contoso",
            client_id="p2c-emulator", client_secret="emulator-secret", ca_bundle=str(emulators.cert),
            default_company="usmf" if system == "finops" else "", **connection_fields)

    return template_load(name="prospect_to_cash", project=name,
                         sales_connection=connection(emulators.dataverse, "dataverse"),
                         finops_connection=connection(emulators.finops, "finops"))


class Workers:
    """`celery worker` processes on the benchmark's database and broker."""

    def __init__(self, *, count: int = 1, pool: str = "threads", concurrency: int = 8, extra_env: dict | None = None):
        self.processes: list[subprocess.Popen] = []
        env = dict(os.environ, PYTHONUNBUFFERED="1", **(extra_env or {}))
        for n in range(count):
            log = open(BENCH_VAR / f"worker-{n}.log", "wb")  # noqa: SIM115 - the worker writes to it until stopped
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "p2c_project", "worker", "--pool", pool, "--concurrency",
                 str(concurrency), "--hostname", f"bench{n}@%h", "--loglevel", "WARNING", "--without-mingle",
                 "--without-gossip", "--queues", settings.P2C_TASK_QUEUE],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True))
        time.sleep(3)  # let them connect before the first message

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def run_and_time(project: Project, *, mode: str, entity_maps: list[str] | None = None,
                 timeout: float = 3600) -> tuple[SyncRun, float]:
    started = time.monotonic()
    run = runs.run_start(project=project, mode=mode, entity_maps=entity_maps, trigger=SyncRun.Trigger.COMMAND)
    while True:
        run.refresh_from_db()
        if run.status not in ACTIVE_RUN_STATUSES:
            return run, time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"run #{run.pk} still {run.status} after {timeout}s")
        time.sleep(0.25)


def stage_seconds(run: SyncRun) -> dict[str, float]:
    return {stage.entity_map.name: (stage.finished_at - stage.started_at).total_seconds()
            for stage in run.stages.select_related("entity_map") if stage.started_at and stage.finished_at}


def markdown_table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
