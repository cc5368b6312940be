"""Loaded into benchmark workers (`celery worker --include bench.worker_probe`): counts database statements.

Every statement Django sends through a cursor (queries, and the savepoints of nested atomic blocks) passes an
execute wrapper installed on each new connection; BEGIN and COMMIT, which the driver sends on its own, are not
counted. A daemon thread writes the process's totals, by statement kind, to `$P2C_BENCH_PROBE_DIR/<pid>.json`
twice a second; the benchmark sums the files before and after a run. `ready-<pid>` says the worker consumes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path

from celery.signals import worker_ready
from django.db.backends.signals import connection_created

FLUSH_SECONDS = 0.5

_lock = threading.Lock()
_counts: Counter = Counter()
_writer_pid: int | None = None


def _count(execute, sql, params, many, context):
    kind = sql.lstrip()[:12].split(None, 1)[0].upper() if sql else "OTHER"
    with _lock:
        _counts[kind] += 1
    return execute(sql, params, many, context)


def _install(sender, connection, **kwargs) -> None:
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)
    _start_writer()


def _start_writer() -> None:
    global _writer_pid
    directory = os.environ.get("P2C_BENCH_PROBE_DIR")
    if not directory or _writer_pid == os.getpid():
        return
    _writer_pid = os.getpid()
    threading.Thread(target=_write_forever, args=(Path(directory),), name="bench-probe", daemon=True).start()


def _write_forever(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{os.getpid()}.json"
    while True:
        with _lock:
            snapshot = dict(_counts)
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(snapshot))
        temporary.replace(target)
        time.sleep(FLUSH_SECONDS)


def _forget_parent_counts() -> None:
    # A prefork child starts from zero: what its parent counted is in the parent's file.
    global _lock, _writer_pid
    _lock = threading.Lock()
    _counts.clear()
    _writer_pid = None


def _ready(**kwargs) -> None:
    directory = os.environ.get("P2C_BENCH_PROBE_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / f"ready-{os.getpid()}").touch()


os.register_at_fork(after_in_child=_forget_parent_counts)
connection_created.connect(_install, dispatch_uid="p2c-bench-probe")
worker_ready.connect(_ready, dispatch_uid="p2c-bench-probe-ready")
