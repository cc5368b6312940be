"""What every engine benchmark needs: a database, both emulators, a Prospect-to-cash project and real workers.

The database is PostgreSQL when DATABASE_URL is set (a fresh `<name>_bench` database is made from it), else a
fresh SQLite file under var/bench/ (`<name>_drills` and var/drills/ for the drills); the broker is REDIS_URL when
set, else the embedded Redis. The emulators run in this process over HTTPS; the workers are `celery worker`
processes, as in production, with the benchmark's probe (bench/worker_probe.py: database statements per process)
and bare-pipeline task (bench/bare_task.py).
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# The drills (bench/drills.py) set P2C_BENCH_NAME=drills: their own var/ directory and database, so a benchmark
# and the drills can run side by side.
BENCH_NAME = os.environ.get("P2C_BENCH_NAME", "bench")
BENCH_VAR = ROOT / "var" / BENCH_NAME
PROBE_DIR = BENCH_VAR / "probe"
WORKER_MODULES = ("bench.worker_probe", "bench.bare_task")
CLIENT_ID, CLIENT_SECRET = "p2c-emulator", "emulator-secret"  # the emulators' documented defaults


def _prepare_environment() -> None:
    """Point Django at the benchmark's own database before it is imported."""
    # Production settings: with DEBUG on, Django keeps every query in memory and wraps each cursor call in a
    # timing wrapper, which costs workers ~10% and grows their memory.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "p2c-benchmark-only-" + uuid.uuid4().hex)
    os.environ.setdefault("P2C_ENCRYPTION_KEYS", "p2c-benchmark-encryption-" + uuid.uuid4().hex)
    # The emulators' token endpoints are on loopback, which production settings do not trust by default.
    os.environ.setdefault("P2C_AUTHORITY_HOSTS", "127.0.0.1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2c_project.settings")
    os.environ["LOG_LEVEL"] = os.environ.get("BENCH_LOG_LEVEL", "WARNING")
    os.environ.setdefault("REDIS_KEY_PREFIX", f"p2c-bench-{uuid.uuid4().hex[:6]}:")
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parts = urlsplit(url)
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=parts.path.rstrip("/") + f"_{BENCH_NAME}"))
    else:
        _remove_sqlite_files()
        os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_VAR / f'{BENCH_NAME}.sqlite3'}"
    sys.path.insert(0, str(ROOT))


def _remove_sqlite_files() -> None:
    for stale in BENCH_VAR.glob(f"{BENCH_NAME}.sqlite3*"):
        stale.unlink()


_prepare_environment()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from measure import ApiCounts, DatabaseCpu, RssSampler, api_counts, cpu_seconds, statements  # noqa: E402
from report import markdown_table  # noqa: E402, F401 - scripts take it from here too

from connectors.emulators import start  # noqa: E402
from integration.models import ACTIVE_RUN_STATUSES, Connection, Project, SyncRun  # noqa: E402
from integration.queueing import broker_contents_lost  # noqa: E402
from integration.services import runs  # noqa: E402
from integration.services.templates import template_load  # noqa: E402


def reset_database() -> None:
    """Drop and create the benchmark database (PostgreSQL) or its file (SQLite) and migrate it."""
    connection.close()
    if connection.vendor == "postgresql":
        name = connection.settings_dict["NAME"]
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
    else:
        _remove_sqlite_files()
    call_command("migrate", verbosity=0)


def results_append(name: str, text: str) -> None:
    """Append a scenario's table, with the command and commit that made it, to
    bench/results/<date>-<name>-<database>.md, and print it."""
    from report import provenance

    text += f"- {provenance()}\n"
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{datetime.now(UTC):%Y-%m-%d}-{name}-{database_label()}.md"
    with path.open("a") as file:
        file.write(text + "\n")
    print(text)
    print(f"(appended to {path.relative_to(ROOT)})")


def database_label() -> str:
    """`postgresql` or `sqlite`, for file names."""
    return connection.vendor


def machine() -> str:
    import celery
    import django as dj

    db = f"{connection.vendor} {connection.Database.sqlite_version if connection.vendor == 'sqlite' else ''}".strip()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            db = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    broker = "embedded Redis" if settings.EMBEDDED_REDIS else "Redis service"
    return (f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, "
            f"Django {dj.__version__}, Celery {celery.__version__}, {db}, {broker}")


class Emulators:
    """Both emulators in this process, with a requests session each for seeding and checking."""

    def __init__(self):
        cert = BENCH_VAR / "emulator-cert.pem"
        self.dataverse = start("dataverse", cert_path=cert)
        self.finops = start("finops", cert_path=cert)
        self.cert = cert

    @property
    def both(self) -> tuple:
        return (self.dataverse, self.finops)

    def control(self, emulator, method: str, action: str, body: dict | None = None) -> dict:
        import requests

        response = requests.request(method, f"{emulator.origin}/_emulator/{action}", json=body, verify=str(self.cert),
                                    timeout=600)
        response.raise_for_status()
        return response.json()

    def configure(self, **config) -> None:
        """The same config on both (latency_ms, throttle, concurrency_limit...); unnamed keys keep their value."""
        for emulator in self.both:
            self.control(emulator, "PUT", "config", config)

    def reset(self) -> None:
        """Empty data, default config, zeroed stats: a fresh pair for the next scenario."""
        for emulator in self.both:
            self.control(emulator, "PUT", "config", {"latency_ms": 0, "fault_rate": 0, "unavailable_rate": 0,
                                                     "throttle": None, "concurrency_limit": None})
            self.control(emulator, "POST", "reset")

    def seed(self, *, products: int = 0, accounts: int = 0, contacts: int = 0, quotes: int = 0,
             lines_per_quote: float = 0, seed: int = 1) -> dict[str, int]:
        """Seed F&O products, then Sales accounts, contacts and quotes; quote lines are topped up so the quotes
        carry `lines_per_quote` on average (the seeder gives each 1-5)."""
        created: dict[str, int] = {}
        if products:
            created.update(self.control(self.finops, "POST", "seed",
                                        {"SellableReleasedProducts": products, "seed": seed})["created"])
        counts = {name: n for name, n in (("accounts", accounts), ("contacts", contacts), ("quotes", quotes)) if n}
        if counts:
            created.update(self.control(self.dataverse, "POST", "seed", {**counts, "seed": seed})["created"])
        missing = round(quotes * lines_per_quote) - created.get("quotedetails", 0)
        if quotes and missing > 0:
            more = self.control(self.dataverse, "POST", "seed", {"quotedetails": missing, "seed": seed})["created"]
            created["quotedetails"] = created.get("quotedetails", 0) + more.get("quotedetails", 0)
        return created

    def stats(self) -> dict[str, dict]:
        return {emulator.app.name: self.control(emulator, "GET", "stats") for emulator in self.both}

    def api_session(self, emulator):
        """A plain `requests` session with a token, to change data the way a user of the API would."""
        import requests

        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        session.verify = str(self.cert)
        token = session.post(f"{emulator.origin}/contoso/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "scope": f"{emulator.origin}/.default"}, timeout=30).json()["access_token"]
        session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json",
                                "OData-Version": "4.0", "OData-MaxVersion": "4.0"})
        return session

    def stop(self) -> None:
        self.dataverse.stop()
        self.finops.stop()


def create_project(emulators: Emulators, *, name: str = "bench", **connection_fields) -> Project:
    def connection(emulator, system: str) -> Connection:
        return Connection.objects.create(
            name=f"{name}-{system}", system=system, base_url=emulator.origin, authority=f"{emulator.origin}/contoso",
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, ca_bundle=str(emulators.cert),
            default_company="usmf" if system == "finops" else "", **connection_fields)

    return template_load(name="prospect_to_cash", project=name,
                         sales_connection=connection(emulators.dataverse, "dataverse"),
                         finops_connection=connection(emulators.finops, "finops"))


class Workers:
    """`celery worker` processes on the benchmark's database and broker, with the benchmark's worker modules.

    `emulators` (when given) tells the bare-pipeline task where F&O is and which certificate to trust.
    """

    def __init__(self, *, count: int = 1, pool: str = "threads", concurrency: int = 8, extra_env: dict | None = None,
                 emulators: Emulators | None = None, timeout: float = 60):
        self.count, self.pool, self.concurrency = count, pool, concurrency
        self.processes: list[subprocess.Popen] = []
        shutil.rmtree(PROBE_DIR, ignore_errors=True)
        PROBE_DIR.mkdir(parents=True)
        self.env = dict(os.environ, PYTHONUNBUFFERED="1", P2C_BENCH_PROBE_DIR=str(PROBE_DIR), **(extra_env or {}))
        if emulators is not None:
            self.env.update(P2C_BENCH_CA=str(emulators.cert), P2C_BENCH_FINOPS_ORIGIN=emulators.finops.origin,
                            P2C_BENCH_CLIENT_ID=CLIENT_ID, P2C_BENCH_CLIENT_SECRET=CLIENT_SECRET)
        self.processes = [self._spawn(n, log_mode="wb") for n in range(count)]
        deadline = time.monotonic() + timeout
        while not all((PROBE_DIR / f"ready-{pid}").exists() for pid in self.pids):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                self.stop()
                raise RuntimeError(f"the workers did not start; see {BENCH_VAR}/worker-*.log")
            time.sleep(0.1)

    def _spawn(self, n: int, *, log_mode: str) -> subprocess.Popen:
        with open(BENCH_VAR / f"worker-{n}.log", log_mode) as log:
            return subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "p2c_project", "worker", "--pool", self.pool, "--concurrency",
                 str(self.concurrency), "--hostname", f"bench{n}@%h", "--loglevel", "WARNING", "--without-mingle",
                 "--without-gossip", "--queues", f"{settings.P2C_TASK_QUEUE},{settings.P2C_CONTROL_QUEUE}",
                 "--include", ",".join(WORKER_MODULES)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)

    def restart(self, n: int) -> None:
        """Start worker n again under its name, as a supervisor would after it exited; its log goes on."""
        self.processes[n] = self._spawn(n, log_mode="ab")

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def describe(self) -> str:
        return f"{self.count} x `--pool {self.pool} --concurrency {self.concurrency}`"

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def run_and_time(project: Project, *, mode: str, entity_maps: list[str] | None = None, timeout: float = 3600,
                 on_poll: Callable[[SyncRun], None] | None = None) -> tuple[SyncRun, float]:
    """Start a run and wait for its end; the time is from the start request to the moment it was seen ended
    (polled every 20 ms for 5 s, then every 0.25 s). `on_poll` is called with the run while it is in progress."""
    started = time.monotonic()
    run = runs.run_start(project=project, mode=mode, entity_maps=entity_maps, trigger=SyncRun.Trigger.COMMAND)
    while True:
        run.refresh_from_db()
        if run.status not in ACTIVE_RUN_STATUSES:
            return run, time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"run #{run.pk} still {run.status} after {timeout}s")
        if on_poll is not None:
            on_poll(run)
        time.sleep(0.02 if time.monotonic() - started < 5 else 0.25)  # short runs are timed closely


def stage_seconds(run: SyncRun) -> dict[str, float]:
    return {stage.entity_map.name: (stage.finished_at - stage.started_at).total_seconds()
            for stage in run.stages.select_related("entity_map") if stage.started_at and stage.finished_at}


@dataclass(frozen=True)
class RunFigures:
    """One timed run and what it cost: API requests, database statements, worker memory."""

    run: SyncRun
    seconds: float
    records: int  # the run's record rows: what the workers synced (written, unchanged, skipped or failed)
    failed: int
    api: ApiCounts
    statements: Counter
    rss_peaks: dict[str, float]  # MiB by worker process
    worker_cpu: float  # CPU seconds of every worker process during the run
    bench_cpu: float  # CPU seconds of this process (the emulators, and the polling of the run) during the run
    database_cpu: float  # CPU seconds of the PostgreSQL backends of the benchmark's database (0 on SQLite)

    @property
    def rate(self) -> float:
        return self.records / self.seconds

    @property
    def queries(self) -> int:
        return sum(self.statements.values())


# The setting bench/README.md recommends for I/O-bound work, on this 2-core machine: a process per core, each with
# a pool of threads above its share of the API's concurrent requests (20 in scenario 4), since a thread also
# spends time on the database between requests.
WORKERS, POOL, CONCURRENCY = 2, "threads", 16


def add_worker_arguments(parser, *, workers: int = WORKERS, pool: str = POOL, concurrency: int = CONCURRENCY) -> None:
    """--workers, --pool and --concurrency, with the scenario's defaults."""
    parser.add_argument("--workers", type=int, default=workers, help="worker processes (celery worker commands)")
    parser.add_argument("--pool", default=pool, choices=["prefork", "threads", "solo"])
    parser.add_argument("--concurrency", type=int, default=concurrency, help="of each worker")


class Beat:
    """`celery beat`: the project schedules and the housekeeping, the sweeper among it."""

    def __init__(self) -> None:
        self.log_path = BENCH_VAR / "beat.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "p2c_project", "beat", "--loglevel", "INFO", "--schedule",
                 str(BENCH_VAR / "beat-schedule")], env=dict(os.environ, PYTHONUNBUFFERED="1", LOG_LEVEL="INFO"),
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 60
        while b"beat: Starting" not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                sys.exit(f"beat did not start; see {self.log_path}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(20)


class Environment:
    """Everything a scenario runs on: a fresh database, both emulators, the workers (one setting per
    environment), `celery beat` (the sweeper gives back what waited longer than a broker countdown, as in
    production) and the sampler of the workers' memory. Use it as a context manager."""

    def __init__(self, *, workers: int = 1, pool: str = "threads", concurrency: int = 8,
                 extra_env: dict | None = None):
        self.worker_options = {"count": workers, "pool": pool, "concurrency": concurrency, "extra_env": extra_env}

    @classmethod
    def from_args(cls, args, **options) -> Environment:
        return cls(workers=args.workers, pool=args.pool, concurrency=args.concurrency, **options)

    def __enter__(self) -> Environment:
        reset_database()
        self.emulators = Emulators()
        try:
            self.workers = Workers(**self.worker_options, emulators=self.emulators)
        except BaseException:
            self.emulators.stop()
            raise
        broker_contents_lost()  # a deployment's broker is known long before a run: the first sweep would mark it so
        self.beat = Beat()
        self.database_cpu = DatabaseCpu(connection.settings_dict["NAME"] if connection.vendor == "postgresql" else "")
        self.rss = RssSampler(self.workers.pids, also=self.database_cpu)
        return self

    def __exit__(self, *exc) -> None:
        self.rss.stop()
        self.beat.stop()
        self.workers.stop()
        self.emulators.stop()

    def project(self, name: str = "bench", **connection_fields) -> Project:
        return create_project(self.emulators, name=name, **connection_fields)

    def run(self, project: Project, *, mode: str, entity_maps: list[str] | None = None,
            on_poll: Callable[[SyncRun], None] | None = None) -> RunFigures:
        """A run from start to end, with the API requests and statements it caused and the workers' peak RSS."""
        api_before, sql_before = self.emulators.stats(), statements(PROBE_DIR, settle=False)
        self.rss.reset()
        cpu_before = self._cpu()
        run, seconds = run_and_time(project, mode=mode, entity_maps=entity_maps, on_poll=on_poll)
        cpu_after = self._cpu()
        sql_after, api_after = statements(PROBE_DIR), self.emulators.stats()
        return RunFigures(run, seconds, run.records.count(), run.counts.get("failed", 0),
                          api_counts(api_before, api_after), sql_after - sql_before, self.rss.peaks(),
                          *(after - before for before, after in zip(cpu_before, cpu_after, strict=True)))

    def _cpu(self) -> tuple[float, float, float]:
        """CPU seconds so far of the workers, of this process and of the database server's backends."""
        return (cpu_seconds(self.workers.pids), cpu_seconds([os.getpid()], children=False),
                self.database_cpu.seconds())

    def notes(self) -> list[str]:
        return [f"machine: {machine()}", f"workers: {self.workers.describe()}, and `celery beat`"]
