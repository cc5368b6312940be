"""This process's heartbeat: the name its claims carry, the stages it is planning, and a thread that writes both to
the database every P2C_HEARTBEAT_SECONDS.

Every process that runs tasks beats: with the thread pool (or solo), the worker itself; with prefork, each child,
since a child can die alone (its parent runs no task and does not beat). A process killed with SIGKILL stops
beating, and the sweeper takes back what it had claimed once it has been silent for P2C_WORKER_DEAD_SECONDS,
instead of waiting for leases to expire.

Why heartbeats in the database rather than Celery's own signs of life: they name the very process that claims (a
`celery inspect ping` or a worker-offline event speaks for the parent only, and needs events and a listener), they
do not depend on the broker (when the broker is lost, every worker would look offline), and the sweeper reads them
with one query on a table of a few rows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator

from celery import signals
from django.conf import settings
from django.db import DatabaseError, close_old_connections

log = logging.getLogger(__name__)


class _Process:
    """What one process knows about itself; made again after a fork (a prefork child is a process of its own)."""

    def __init__(self, node: str) -> None:
        self.pid = os.getpid()
        self.name = f"{node}:{self.pid}"
        self.lock = threading.Lock()
        self.planning: Counter[int] = Counter()
        self.tasks_seen = 0
        self.steady_since: float | None = None  # monotonic time of the first beat written since the last failure
        self.last_beat = 0.0
        self.beating = False


_process = _Process(socket.gethostname())


def _current() -> _Process:
    global _process
    if _process.pid != os.getpid():  # forked: the parent's name, stages and beats are not this process's
        _process = _Process(_process.name.rsplit(":", 1)[0])
    return _process


def process_name() -> str:
    """The name this process's claims carry: its Celery node name and pid (`celery@host:1234`)."""
    return _current().name


@contextlib.contextmanager
def planning(stage_id: int) -> Iterator[None]:
    """While a stage is planned here, every heartbeat says so; a planning stage no live process names is orphaned."""
    process = _current()
    with process.lock:
        process.planning[stage_id] += 1
    try:
        yield
    finally:
        with process.lock:
            process.planning[stage_id] -= 1
            if process.planning[stage_id] <= 0:
                del process.planning[stage_id]


def steady_for(seconds: float) -> bool:
    """This process has written its heartbeat without a gap for `seconds`. Only such a process declares others
    dead: after a database outage every heartbeat is old, and no one should be taken for dead because of it."""
    process = _current()
    now = time.monotonic()
    return (process.steady_since is not None and now - process.steady_since >= seconds
            and now - process.last_beat <= 2 * settings.P2C_HEARTBEAT_SECONDS)


def start(node: str) -> None:
    """Beat once now (so the row exists before the first task is claimed), then every few seconds in a thread;
    once per process."""
    global _process
    if _current().beating:
        return
    _process = _Process(node)
    _process.beating = True
    _beat(_process)
    threading.Thread(target=_beat_forever, args=(_process,), name="p2c-heartbeat", daemon=True).start()


def _beat_forever(process: _Process) -> None:
    while process is _process and process.pid == os.getpid():
        time.sleep(settings.P2C_HEARTBEAT_SECONDS)
        _beat(process)


def _beat(process: _Process) -> None:
    from integration.services.workers import worker_heartbeat_record

    with process.lock:
        planning, tasks_seen = sorted(process.planning), process.tasks_seen
    try:
        close_old_connections()  # drop a connection the database closed, or one past its age
        if not worker_heartbeat_record(name=process.name, tasks_seen=tasks_seen, planning=planning):
            log.error("worker %s was silent long enough to be taken for dead: the records it had claimed were given "
                      "to other workers; it goes on", process.name)
    except DatabaseError as exc:
        process.steady_since = None
        log.warning("worker %s could not write its heartbeat: %s", process.name, exc)
        return
    now = time.monotonic()
    if process.steady_since is None:
        process.steady_since = now
    process.last_beat = now


@signals.worker_ready.connect
def _on_worker_ready(sender, **kwargs) -> None:
    if type(sender.pool).__module__ != "celery.concurrency.prefork":
        start(sender.hostname)


@signals.worker_process_init.connect
def _on_prefork_child(sender, **kwargs) -> None:
    start(sender)


@signals.task_postrun.connect
def _count_task(**kwargs) -> None:
    process = _current()
    with process.lock:
        process.tasks_seen += 1
