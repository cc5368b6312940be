"""Runs: start one, move from stage to stage, finish it with counts, cancel it.

The database is the source of truth: every transition is a conditional update that exactly one worker wins,
so a redelivered message or a second worker never moves a run twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from integration import storable, task_names
from integration.definitions import map_definition
from integration.mapping import MapDefinition
from integration.models import (
    ACTIVE_RUN_STATUSES,
    OPEN_RECORD_STATUSES,
    Conflict,
    EntityMap,
    KeyChange,
    Project,
    RecordStatus,
    RecordSync,
    RunStatus,
    StageStatus,
    SyncRun,
    SyncStage,
)
from integration.queueing import enqueue

log = logging.getLogger(__name__)

FINISHED_STAGE_STATUSES = (StageStatus.SUCCEEDED, StageStatus.WARNING, StageStatus.FAILED, StageStatus.CANCELLED)


class RunRefused(Exception):
    """A run cannot start; the message says why in words an admin can act on."""


class RunInProgress(RunRefused):
    def __init__(self, run: SyncRun):
        super().__init__(f"run #{run.pk} of project {run.project.name} is still {run.status}")
        self.run = run


def run_start(*, project: Project, mode: str = SyncRun.Mode.INCREMENTAL, entity_maps: Sequence[str] | None = None,
              trigger: str, requested_by: str = "", check: bool | None = None) -> SyncRun:
    """Start a bulk run over the project's enabled entity maps (or the named ones), in their order.

    A full run starts with the pre-flight check (`check`: None means "when full") and ends, failed, without
    syncing a record when the check finds errors."""
    if project.paused:
        raise RunRefused(f"project {project.name} is paused")
    if mode not in (SyncRun.Mode.FULL, SyncRun.Mode.INCREMENTAL):
        raise RunRefused(f"a bulk run is full or incremental, not {mode!r}")
    maps = list(project.entity_maps.filter(enabled=True).order_by("order", "id"))
    if entity_maps:
        unknown = sorted(set(entity_maps) - {m.name for m in maps})
        if unknown:
            raise RunRefused(f"project {project.name} has no enabled entity map named {', '.join(unknown)}")
        maps = [m for m in maps if m.name in set(entity_maps)]
    if not maps:
        raise RunRefused(f"project {project.name} has no enabled entity maps")
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(
                    project=project, mode=mode, trigger=trigger, is_bulk=True, requested_by=requested_by,
                    check_first=mode == SyncRun.Mode.FULL if check is None else check)
        except IntegrityError:
            active = SyncRun.objects.filter(project=project, is_bulk=True, status__in=ACTIVE_RUN_STATUSES).first()
            if active is None:  # it finished in between; the caller may simply try again
                raise RunRefused(f"project {project.name} had a run in progress; try again") from None
            raise RunInProgress(active) from None
        stages_create(run=run, entity_maps=maps, full=mode == SyncRun.Mode.FULL)
    log.info("run started run=%s project=%s mode=%s trigger=%s maps=%s", run.pk, project.name, mode, trigger,
             ",".join(m.name for m in maps))
    return run


def stages_create(*, run: SyncRun, entity_maps: Sequence[EntityMap], full: bool = False,
                  reads_source: bool = True) -> list[SyncStage]:
    """Create the run's stages and queue the first; call inside the transaction that created the run."""
    stages = SyncStage.objects.bulk_create(
        SyncStage(run=run, entity_map=entity_map, order=position, full=full, reads_source=reads_source)
        for position, entity_map in enumerate(entity_maps)
    )
    if run.check_first:
        enqueue(task_names.PREFLIGHT_RUN, run.pk)
    else:
        enqueue(task_names.START_STAGE, stages[0].pk)
    return stages


def run_preflight(*, run_id: int) -> None:
    """The run's pre-flight check, once: errors end the run (failed, nothing synced); else its first stage starts."""
    from integration.services.preflight import project_check

    run = SyncRun.objects.select_related("project__sales_connection", "project__finops_connection").get(pk=run_id)
    if run.status not in ACTIVE_RUN_STATUSES or run.preflight_id is not None:
        return
    check = project_check(project=run.project, trigger="run", requested_by=run.requested_by)
    if not SyncRun.objects.filter(pk=run.pk, preflight__isnull=True).update(preflight=check):
        return  # a redelivered message checked too; the first one goes on
    run.preflight = check
    errors = [problem for problem in check.problems if problem["severity"] == "error"]
    if errors:
        first = errors[0]
        where = " / ".join(part for part in (first["entity_map"], first["field"]) if part)
        run_fail(run=run, message=f"the pre-flight check (check #{check.pk}) found {len(errors)} error(s), so "
                                  f"nothing was synced; first: {where}: {first['message']}. Fix them, or start "
                                  "the run without the check")
        return
    run_continue(run=run)


def run_fail(*, run: SyncRun, message: str) -> bool:
    """End a run that cannot go on: its stages not yet ended are cancelled, it is failed with the message."""
    now = timezone.now()
    with transaction.atomic():
        run.stages.exclude(status__in=FINISHED_STAGE_STATUSES).update(status=StageStatus.CANCELLED, finished_at=now)
        changed = SyncRun.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
            status=RunStatus.FAILED, finished_at=now, message=message[:4000], counts=run_counts(run=run))
    if changed:
        log.warning("run failed run=%s project=%s: %s", run.pk, run.project.name, message)
    return bool(changed)


def run_start_given(*, project: Project, mode: str, trigger: str, records: Sequence[RecordSync],
                    requested_by: str = "") -> SyncRun:
    """A run over records already known (retries, webhooks): one stage per entity map, in map order.

    `records` are unsaved RecordSync rows carrying entity_map, source key and id, operation and snapshot;
    they are not a bulk run, so they never wait for (or block) the project's scheduled runs.
    """
    by_map: dict[int, list[RecordSync]] = {}
    for record in records:
        by_map.setdefault(record.entity_map_id, []).append(record)
    maps = sorted({record.entity_map for record in records}, key=lambda m: (m.order, m.pk))
    for entity_map in maps:
        definition = map_definition(entity_map)
        for record in by_map[entity_map.pk]:
            _make_storable(record, definition)
    with transaction.atomic():
        run = SyncRun.objects.create(project=project, mode=mode, trigger=trigger, is_bulk=False,
                                     requested_by=requested_by)
        stages = stages_create(run=run, entity_maps=maps, reads_source=False)
        for stage in stages:
            for record in by_map[stage.entity_map_id]:
                record.run, record.stage = run, stage
        RecordSync.objects.bulk_create(records)
    log.info("run started run=%s project=%s mode=%s trigger=%s records=%s", run.pk, project.name, mode, trigger,
             len(records))
    return run


def _make_storable(record: RecordSync, definition: MapDefinition) -> None:
    """A given record (a webhook's image, a retry's snapshot) cleaned of what the database cannot store; one
    whose key or id cannot be stored fails with a message, rather than the whole run being refused."""
    refusal = None
    if record.snapshot is not None:
        prepared = storable.prepare(definition, record.snapshot)
        record.snapshot, record.notes, refusal = prepared.record, prepared.note, prepared.refusal
    key, source_id = storable.identity_text(record.source_key), storable.identity_text(record.source_id,
                                                                                      storable.ID_LENGTH)
    if key != record.source_key or source_id != record.source_id:
        refusal = refusal or ("", f"the record's key or id ('{key}', '{source_id}') cannot be stored as it is")
        record.source_key, record.source_id = key, source_id
    if refusal:
        record.status, record.finished_at, record.error_type = RecordStatus.FAILED, timezone.now(), "unstorable"
        record.error_field, record.error_message = refusal[0], " ".join(part for part in refusal if part)


def run_continue(*, run: SyncRun) -> None:
    """After a stage ended (or the check passed): start the next pending stage, or finish the run."""
    if run.check_first and run.preflight_id is None:
        enqueue(task_names.PREFLIGHT_RUN, run.pk)  # the check's message was lost: it comes first
        return
    next_stage = run.stages.filter(status=StageStatus.PENDING).order_by("order").first()
    if next_stage is not None:
        enqueue(task_names.START_STAGE, next_stage.pk)
        return
    if not run.stages.exclude(status__in=FINISHED_STAGE_STATUSES).exists():
        run_finish(run=run)


def run_counts(*, run: SyncRun) -> dict[str, int]:
    """Records by outcome, from the rows themselves, so the counts always equal the rows."""
    counts: Counter = Counter()
    rows = RecordSync.objects.filter(run=run).values("status", "outcome").annotate(n=Count("id"))
    for row in rows:
        counts["total"] += row["n"]
        if row["status"] == RecordStatus.FAILED:
            counts["failed"] += row["n"]
        elif row["status"] in OPEN_RECORD_STATUSES:
            counts["open"] += row["n"]
        else:
            counts[row["outcome"] or row["status"]] += row["n"]
    return {key: counts.get(key, 0) for key in ("total", "created", "updated", "unchanged", "deleted", "skipped",
                                               "failed", "open")}


def run_finish(*, run: SyncRun) -> bool:
    """End the run with its counts, status and note (services.run_results); False when another worker already did."""
    from integration.services.run_results import run_result

    counts = run_counts(run=run)
    result = run_result(run=run, counts=counts, stage_statuses=set(run.stages.values_list("status", flat=True)))
    counts["known_failures"] = result.known_failures
    message = "; ".join(part for part in (result.note, _key_changes_report(run), _conflicts_report(run)) if part)
    changed = SyncRun.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
        status=result.status, finished_at=timezone.now(), counts=counts, **({"message": message} if message else {}))
    if changed:
        log.info("run finished run=%s project=%s status=%s %s%s", run.pk, run.project.name, result.status,
                 " ".join(f"{k}={v}" for k, v in counts.items()), f" note={result.note}" if result.note else "")
    return bool(changed)


def _key_changes_report(run: SyncRun) -> str:
    """What the run's message says about records whose key changed, so an admin sees old records left behind."""
    by_policy = dict(RecordSync.objects.filter(run=run, status=RecordStatus.SUCCEEDED).exclude(
        previous_destination_key="").values_list("entity_map__on_key_change").annotate(n=Count("id")))
    parts = []
    if by_policy.get(KeyChange.CREATE_AND_REPORT):
        parts.append(f"{by_policy[KeyChange.CREATE_AND_REPORT]} records changed their key: each was written "
                     "under its new key and its old destination record is left in place (see the records' "
                     "previous destination key)")
    if by_policy.get(KeyChange.RENAME):
        parts.append(f"{by_policy[KeyChange.RENAME]} records changed their key: their destination records were "
                     "renamed")
    return "; ".join(parts)


def _conflicts_report(run: SyncRun) -> str:
    """What the run's message says about records of two-way flows that had changed on both sides."""
    by_resolution = dict(RecordSync.objects.filter(run=run).exclude(conflict="").values_list("conflict").annotate(
        n=Count("id")))
    if not by_resolution:
        return ""
    total = sum(by_resolution.values())
    return (f"{total} records had changed on both sides since the last sync: the system of record's change won "
            f"({by_resolution.get(Conflict.OVERWROTE, 0)} written over the other side, "
            f"{by_resolution.get(Conflict.YIELDED, 0)} not written); each record's row names the fields and both "
            "values")


def run_cancel(*, run: SyncRun, reason: str = "cancelled") -> bool:
    """Stop a run: open records are skipped, stages not yet ended are cancelled, cursors stay where they were."""
    now = timezone.now()
    with transaction.atomic():
        changed = SyncRun.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
            status=RunStatus.CANCELLED, finished_at=now, message=reason)
        if not changed:
            return False
        run.stages.exclude(status__in=FINISHED_STAGE_STATUSES).update(status=StageStatus.CANCELLED, finished_at=now)
        RecordSync.objects.filter(run=run, status__in=OPEN_RECORD_STATUSES).update(
            status=RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, finished_at=now,
            error_type="cancelled", error_message=reason)
        SyncRun.objects.filter(pk=run.pk).update(counts=run_counts(run=run))
    log.info("run cancelled run=%s project=%s reason=%s", run.pk, run.project.name, reason)
    return True


def run_progress(*, run: SyncRun) -> list[dict]:
    """Per stage: its state and its records by status, for progress displays."""
    by_stage: dict[int, Counter] = {}
    rows = RecordSync.objects.filter(run=run).values("stage_id", "status").annotate(n=Count("id"))
    for row in rows:
        by_stage.setdefault(row["stage_id"], Counter())[row["status"]] = row["n"]
    progress = []
    for stage in run.stages.select_related("entity_map").order_by("order"):
        statuses = by_stage.get(stage.pk, Counter())
        progress.append({
            "entity_map": stage.entity_map.name,
            "status": stage.status,
            "read": stage.records_read,
            "ineligible": stage.records_ineligible,
            "records": sum(statuses.values()),
            "done": sum(n for s, n in statuses.items() if s not in OPEN_RECORD_STATUSES),
            "failed": statuses.get(RecordStatus.FAILED, 0),
            "by_status": dict(statuses),
            "started_at": stage.started_at,
            "finished_at": stage.finished_at,
        })
    return progress


def active_bulk_run(*, project: Project) -> SyncRun | None:
    return SyncRun.objects.filter(project=project, is_bulk=True, status__in=ACTIVE_RUN_STATUSES).first()


def open_records_exist(*, stage_id: int) -> bool:
    return RecordSync.objects.filter(stage_id=stage_id, status__in=OPEN_RECORD_STATUSES).exists()


def failed_records_exist(*, stage_id: int) -> bool:
    return RecordSync.objects.filter(stage_id=stage_id, status=RecordStatus.FAILED).exists()
