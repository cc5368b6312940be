"""Retrying failed records after the cause was fixed: one, a filtered set, or all of a run."""

from __future__ import annotations

from django.db.models import QuerySet

from integration.models import RecordStatus, RecordSync, SyncRun
from integration.services import runs


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
    return records_retry(records=run.records.all(), requested_by=requested_by)
