"""Scenario 2, the bare pipeline: as many Celery tasks as the full sync had records, each one PATCH to the F&O
emulator with plain `requests` and one ORM write (bench/bare_task.py), in the same workers as the full sync.

It needs a full sync first (it PATCHes the customers that sync wrote, with the payloads it wrote), so it runs from
bench/full_sync.py. The time is from the first message published to the emulator seeing the last PATCH.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from bare_task import TASK_NAME
from django.conf import settings
from harness import PROBE_DIR, Environment
from measure import ApiCounts, api_counts, cpu_seconds, statements

from connectors.odata import key_path
from integration.models import KeyLink, RecordSync, SyncRun
from p2c_project.celery import app

CUSTOMERS = "CustomersV3"


@dataclass(frozen=True)
class BareFigures:
    tasks: int
    seconds: float
    api: ApiCounts
    queries: int
    failed: int  # PATCHes the emulator did not answer with 2xx
    worker_cpu: float  # CPU seconds of every worker process

    @property
    def rate(self) -> float:
        return self.tasks / self.seconds


def run_bare(env: Environment, *, full_run: SyncRun, tasks: int, timeout: float = 3600) -> BareFigures:
    """Publish `tasks` bare tasks over the customers `full_run` wrote and time them."""
    payloads = dict(RecordSync.objects.filter(run=full_run, entity_map__name="Accounts", status="succeeded")
                    .values_list("source_key", "payload")[:tasks])
    links = KeyLink.objects.filter(entity_map__project=full_run.project, entity_map__name="Accounts",
                                   source_key__in=list(payloads)).values_list("id", "source_key")
    written = [(link_id, payloads[source_key]) for link_id, source_key in links]
    if not written:
        raise RuntimeError("the full sync wrote no customers for the bare pipeline to PATCH")
    api_url = env.emulators.finops.api_url
    messages = []
    for link_id, payload in itertools.islice(itertools.cycle(written), tasks):
        key = {name: payload[name] for name in ("dataAreaId", "CustomerAccount")}
        body = {name: value for name, value in payload.items() if name not in key}
        messages.append((link_id, f"{api_url}{key_path(CUSTOMERS, key)}?cross-company=true", body))

    api_before, sql_before = env.emulators.stats(), statements(PROBE_DIR, settle=False)
    patched_before = _patches(api_before)
    cpu_before = cpu_seconds(env.workers.pids)
    started = time.monotonic()
    with app.producer_or_acquire() as producer:
        for args in messages:
            app.send_task(TASK_NAME, args=args, producer=producer, queue=settings.P2C_TASK_QUEUE)
    while True:
        stats = env.emulators.stats()
        if _patches(stats) - patched_before >= tasks:
            seconds = time.monotonic() - started
            cpu = cpu_seconds(env.workers.pids) - cpu_before
            break
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"the bare pipeline did not finish {tasks} tasks in {timeout}s")
        time.sleep(0.25)
    sql_after, api_after = statements(PROBE_DIR), env.emulators.stats()
    failed = sum(n for status, n in api_after["finops"]["responses_by_status"].items() if not status.startswith("2"))
    failed -= sum(n for status, n in api_before["finops"]["responses_by_status"].items() if not status.startswith("2"))
    return BareFigures(tasks, seconds, api_counts(api_before, api_after), sum((sql_after - sql_before).values()),
                       failed, cpu)


def _patches(stats: dict[str, dict]) -> int:
    return stats["finops"]["requests_by_entity_set"].get(CUSTOMERS, {}).get("PATCH", 0)
