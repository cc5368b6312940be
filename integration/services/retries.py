"""Retrying failed records after the cause was fixed: one, a filtered set, all of a run, or from the queue."""

from __future__ import annotations

from django.db.models import QuerySet

from integration.models import RecordStatus, RecordSync, SyncRun
from integration.services import failing, runs


class NothingToRetry(Exception):
    pass


def records_retry(*, records: QuerySet[RecordSync], requested_by: str = "") -> SyncRun:
    """Start a retry run over the failed records among `records`, each read again from its source first.

    The original rows keep their failure (history is not rewritten); each new row points back at the one it
    retries, and the retry run reports the outcome.
    """
    failed = list(records.filter(status=RecordStatus.FAILED).select_related("entity_map__project"))
    if not failed:
        raise NothingToRetry("none of the selected records has failed")
    projects = {record.entity_map.project for record in failed}
    if len(projects) != 1:
        raise NothingToRetry("retry the records of one project at a time")
    retries = [
        RecordSync(entity_map=record.entity_map, source_key=record.source_key, source_id=record.source_id,
                   operation=record.operation, snapshot=record.snapshot, retry_of=record,
                   refresh=record.operation == RecordSync.Operation.UPSERT)
        for record in failed
    ]
    return runs.run_start_given(project=projects.pop(), mode=SyncRun.Mode.RETRY, trigger=SyncRun.Trigger.RETRY,
                                records=retries, requested_by=requested_by)


def run_retry_failed(*, run: SyncRun, requested_by: str = "") -> SyncRun:
    """Retry the records the run failed that are still failing now (a record fixed since, or retried and failed
    again in a later run, is retried from its latest failure)."""
    failed = set(run.records.filter(status=RecordStatus.FAILED).values_list("entity_map_id", "source_key"))
    if not failed:
        raise NothingToRetry("none of the selected records has failed")
    keys = run.records.filter(status=RecordStatus.FAILED).values("source_key")
    still = [row.pk for row in failing.failing_now(ignored=None).filter(
        entity_map__project=run.project_id, source_key__in=keys).only("pk", "entity_map", "source_key")
        if (row.entity_map_id, row.source_key) in failed]
    if not still:
        raise NothingToRetry(f"every record run #{run.pk} failed has succeeded or been skipped since")
    return records_retry(records=RecordSync.objects.filter(pk__in=still), requested_by=requested_by)


def failures_retry(*, records: QuerySet[RecordSync], requested_by: str = "") -> SyncRun:
    """Retry those of `records` that are failing now (from the failing-records queue), in one new run."""
    return records_retry(records=failing.failing_now(ignored=None).filter(pk__in=records.values("pk")),
                         requested_by=requested_by)
