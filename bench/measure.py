"""What a benchmark measures besides time: API requests (the emulators' own stats), database statements (the
workers' probe files, see bench/worker_probe.py) and the memory of each worker process (psutil, from here).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil

WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
MIB = 1024 * 1024


# --- API requests ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiCounts:
    """Requests the emulators received between two stats snapshots (both emulators together)."""

    requests: int
    reads: int  # GET
    writes: int  # POST, PATCH, PUT, DELETE ($batch counts once)
    throttled: int  # 429s sent
    retry_after_violations: int
    by_entity_set: dict[str, Counter] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.requests - self.throttled

    def reads_of(self, entity_sets: set[str]) -> int:
        return sum(methods.get("GET", 0) for name, methods in self.by_entity_set.items() if name in entity_sets)


def api_counts(before: dict[str, dict], after: dict[str, dict]) -> ApiCounts:
    """The difference of two `Emulators.stats()` snapshots."""
    by_entity_set: dict[str, Counter] = {}
    requests = throttled = violations = 0
    for name, stats in after.items():
        old = before.get(name, {})
        requests += stats["requests"] - old.get("requests", 0)
        throttled += stats["responses_by_status"].get("429", 0) - old.get("responses_by_status", {}).get("429", 0)
        violations += stats["retry_after_violations"] - old.get("retry_after_violations", 0)
        for entity_set, methods in stats["requests_by_entity_set"].items():
            previous = old.get("requests_by_entity_set", {}).get(entity_set, {})
            delta = Counter({method: n - previous.get(method, 0) for method, n in methods.items()})
            by_entity_set.setdefault(entity_set, Counter()).update(+delta)
    reads = sum(methods.get("GET", 0) for methods in by_entity_set.values())
    writes = sum(methods.get(m, 0) for methods in by_entity_set.values() for m in WRITE_METHODS)
    return ApiCounts(requests, reads, writes, throttled, violations, by_entity_set)


# --- database statements -----------------------------------------------------------------------------------
def statements(probe_dir: Path, *, settle: bool = True) -> Counter:
    """Statements the workers sent so far, by kind (SELECT, UPDATE...), summed over their processes.

    `settle` waits two of the probe's flush intervals first, so a run that just ended is fully counted.
    """
    if settle:
        time.sleep(1.0)
    total: Counter = Counter()
    for path in probe_dir.glob("*.json"):
        try:
            total.update(json.loads(path.read_text()))
        except (OSError, ValueError):  # replaced while being read: the next flush is half a second away
            time.sleep(0.1)
            total.update(json.loads(path.read_text()))
    return total


# --- CPU ---------------------------------------------------------------------------------------------------
def cpu_seconds(main_pids: list[int], *, children: bool = True) -> float:
    """User and system CPU time so far of the given processes and (unless told not to) all their children."""
    total = 0.0
    for pid in main_pids:
        try:
            main = psutil.Process(pid)
            processes = [main, *(main.children(recursive=True) if children else ())]
        except psutil.NoSuchProcess:
            continue
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


class DatabaseCpu:
    """CPU time of the PostgreSQL backends serving one database (their command line names it), including backends
    that exited since (a worker reconnects every CELERY_DB_REUSE_MAX tasks): each backend's last sample counts.
    Always 0 on SQLite, whose work happens inside the workers."""

    def __init__(self, database: str):
        self.database = database
        self._lock = threading.Lock()
        self._last: dict[int, float] = {}

    def sample(self) -> None:
        if not self.database:
            return
        for process in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            if cmdline.startswith("postgres:") and f" {self.database} " in cmdline:
                try:
                    times = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                with self._lock:
                    self._last[process.pid] = times.user + times.system

    def seconds(self) -> float:
        self.sample()
        with self._lock:
            return sum(self._last.values())


# --- memory ------------------------------------------------------------------------------------------------
class RssSampler:
    """Samples the resident memory of every worker process (each main process and its pool children) twice a
    second; keeps each process's peak since the last `reset` and its latest sample. Samples `also` (the
    database's CPU) on the same beat."""

    def __init__(self, main_pids: list[int], interval: float = 0.5, also: DatabaseCpu | None = None):
        self.main_pids = main_pids
        self.interval = interval
        self.also = also
        self._lock = threading.Lock()
        self._labels: dict[int, str] = {}
        self._peaks: dict[int, int] = {}
        self._latest: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def reset(self) -> None:
        with self._lock:
            self._peaks = dict(self._latest)

    def peaks(self) -> dict[str, float]:
        """Peak RSS in MiB by process label."""
        self.sample()
        with self._lock:
            return {self._labels[pid]: rss / MIB for pid, rss in self._peaks.items()}

    def latest(self) -> dict[str, float]:
        self.sample()
        with self._lock:
            return {self._labels[pid]: rss / MIB for pid, rss in self._latest.items()}

    def sample(self) -> None:
        for n, pid in enumerate(self.main_pids):
            try:
                main = psutil.Process(pid)
                processes = [main, *main.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for process in processes:
                try:
                    rss = process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                with self._lock:
                    if process.pid not in self._labels:
                        children = sum(1 for label in self._labels.values() if label.startswith(f"worker {n} child"))
                        self._labels[process.pid] = (f"worker {n} main" if process.pid == pid
                                                     else f"worker {n} child {children + 1}")
                    self._latest[process.pid] = rss
                    self._peaks[process.pid] = max(rss, self._peaks.get(process.pid, 0))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            if self.also is not None:
                self.also.sample()
            self._stop.wait(self.interval)
