"""What /metrics says, gathered when Prometheus scrapes: the database's view of runs, records, workers, alerts and
paused maps, the broker's queue depth, beat's tick, and the connectors' counters that every process adds up in
Redis (`integration.connector_counters`).

Workers are separate processes, so nothing here keeps numbers in the web process's memory. The runs and records
counted are those of the last P2C_METRICS_WINDOW_HOURS (one grouped query each, whatever the history holds); they
are gauges, while the connectors' counters only grow, as Prometheus counters do.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from integration.models import (
    OPEN_RECORD_STATUSES,
    AlertIncident,
    EntityMap,
    Project,
    RecordStatus,
    RecordSync,
    RunStatus,
    SyncRun,
    WorkerHeartbeat,
)
from integration.services.workers import workers_live

log = logging.getLogger(__name__)


class P2CCollector(Collector):
    """A custom collector: every value is read at scrape time from where it lives."""

    def collect(self) -> Iterator[Metric]:
        yield from database_metrics()
        yield from broker_metrics()
        yield from connector_metrics()


def database_metrics() -> Iterator[Metric]:
    now = timezone.now()
    since = now - timedelta(hours=settings.P2C_METRICS_WINDOW_HOURS)
    window = f"the last {settings.P2C_METRICS_WINDOW_HOURS} hours"
    # Rows made between two of these queries would have no name: they are named by id.
    projects = defaultdict(str, Project.objects.values_list("pk", "name"))
    maps = defaultdict(lambda: ("", ""), {pk: (projects[project_id], name) for pk, project_id, name in
                                          EntityMap.objects.values_list("pk", "project_id", "name")})

    runs = GaugeMetricFamily("p2c_runs", f"Runs created in {window}, by project, status and kind (bulk or one "
                                         "record: webhooks and retries)", labels=["project", "status", "kind"])
    for project_id, status, is_bulk, n in (SyncRun.objects.filter(created_at__gte=since)
                                           .values_list("project_id", "status", "is_bulk")
                                           .annotate(n=Count("id")).order_by()):
        runs.add_metric([projects[project_id], status, "bulk" if is_bulk else "record"], n)
    yield runs

    records = GaugeMetricFamily("p2c_records", f"Records of the runs created in {window}, by project, entity map "
                                               "and outcome (created, updated, unchanged, deleted, skipped, failed, "
                                               "open)", labels=["project", "entity_map", "outcome"])
    totals: dict[tuple[str, str, str], int] = {}
    for map_id, status, outcome, n in (RecordSync.objects.filter(run__created_at__gte=since)
                                       .values_list("entity_map_id", "status", "outcome")
                                       .annotate(n=Count("id")).order_by()):
        label = "failed" if status == RecordStatus.FAILED else "open" if status in OPEN_RECORD_STATUSES else (
            outcome or status)
        key = (*maps[map_id], label)
        totals[key] = totals.get(key, 0) + n
    for key, n in sorted(totals.items()):
        records.add_metric(list(key), n)
    yield records

    open_records = GaugeMetricFamily("p2c_open_records", "Records not yet ended, in any run, by project and status "
                                                         "(pending, running, waiting to retry)",
                                     labels=["project", "status"])
    for project_id, status, n in (RecordSync.objects.filter(status__in=OPEN_RECORD_STATUSES)
                                  .values_list("run__project_id", "status").annotate(n=Count("id")).order_by()):
        open_records.add_metric([projects[project_id], status], n)
    yield open_records

    last_success = GaugeMetricFamily("p2c_last_success_timestamp_seconds", "When the project's last bulk run "
                                     "that succeeded ended (Unix time)", labels=["project"])
    for project_id, finished in (SyncRun.objects.filter(is_bulk=True, status=RunStatus.SUCCEEDED)
                                 .values_list("project_id").annotate(last=Max("finished_at")).order_by()):
        if finished is not None:
            last_success.add_metric([projects[project_id]], finished.timestamp())
    yield last_success

    paused = GaugeMetricFamily("p2c_entity_map_paused", "1 while the entity map is paused",
                               labels=["project", "entity_map"])
    for pk, is_paused in EntityMap.objects.values_list("pk", "paused"):
        paused.add_metric(list(maps[pk]), 1 if is_paused else 0)
    yield paused

    incidents = GaugeMetricFamily("p2c_alert_incidents_open", "Alert incidents not yet resolved, by project and kind",
                                  labels=["project", "kind"])
    for project_id, kind, n in (AlertIncident.objects.filter(resolved_at__isnull=True)
                                .values_list("rule__project_id", "rule__kind").annotate(n=Count("id")).order_by()):
        incidents.add_metric([projects[project_id], kind], n)
    yield incidents

    yield GaugeMetricFamily("p2c_workers_live", "Worker processes whose heartbeat is at most "
                            f"{settings.P2C_WORKER_DEAD_SECONDS} s old", value=workers_live(now=now).count())
    newest = WorkerHeartbeat.objects.aggregate(newest=Max("seen_at"))["newest"]
    if newest is not None:
        yield GaugeMetricFamily("p2c_worker_heartbeat_age_seconds", "Age of the newest worker heartbeat",
                                value=max(0.0, (now - newest).total_seconds()))


def broker_metrics() -> Iterator[Metric]:
    from integration.beat import TICK_KEY, beat_noted
    from integration.queueing import broker_queue_length

    depth = broker_queue_length()
    if depth is not None:
        queue = GaugeMetricFamily("p2c_queue_depth", "Messages waiting in p2c's queue", labels=["queue"])
        queue.add_metric([settings.P2C_TASK_QUEUE], depth)
        yield queue
    try:
        tick = beat_noted(TICK_KEY)
    except redis.RedisError:
        tick = None
    if tick is not None:
        yield GaugeMetricFamily("p2c_beat_tick_age_seconds", "Seconds since beat's last tick",
                                value=max(0.0, time.time() - tick))


def connector_metrics() -> Iterator[Metric]:
    from integration.connector_counters import counters_read

    try:
        counters = counters_read()
    except redis.RedisError as exc:
        log.warning("connector counters unavailable for /metrics: %s", type(exc).__name__)
        return
    requests_ = CounterMetricFamily("p2c_api_requests", "Requests to Dataverse and F&O by connection, method and "
                                    "status (error: no answer); each retry counts",
                                    labels=["connection", "method", "status"])
    for labels, n in sorted(counters.requests.items()):
        requests_.add_metric(list(labels), n)
    yield requests_
    throttled = CounterMetricFamily("p2c_api_throttled", "Requests answered 429 (throttled), by connection",
                                    labels=["connection"])
    for connection, n in sorted(counters.throttled.items()):
        throttled.add_metric([connection], n)
    yield throttled
    latency = HistogramMetricFamily("p2c_api_request_duration_seconds", "Time from sending a request to its "
                                    "answer, by connection", labels=["connection"])
    for connection, histogram in sorted(counters.latency.items()):
        latency.add_metric([connection], histogram.buckets, histogram.total)
    yield latency
    tokens = CounterMetricFamily("p2c_token_requests", "Requests to the token endpoint by connection and outcome "
                                 "(ok, failed)", labels=["connection", "outcome"])
    for labels, n in sorted(counters.tokens.items()):
        tokens.add_metric(list(labels), n)
    yield tokens
