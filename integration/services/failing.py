"""Which records are failing now, decided once: the failing-records queue, what ignoring and retrying from it do,
and which known failures a run leaves alone.

A record (an entity map and a source key) is failing now when its last conclusive row failed; rows still open,
and rows skipped because their run was cancelled, say nothing new about it. The queue has one line per record,
across runs: its latest failure, when it first and last failed since it last succeeded, and how many times.

A failure caused by the record's content (the map cannot turn it into a payload, or the destination refuses it)
comes back for as long as the content stays the same, so an incremental run leaves such a record out when its
source has not changed since it failed: it stays in the queue until its source changes or someone retries it.
Failures from outside the record (throttling, outages, a parent not linked, credentials) are tried again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce

from integration import mapping
from integration.models import EntityMap, IgnoredFailure, Project, RecordStatus, RecordSync, SyncRun

# Error types whose cause is the record's own content: the map cannot turn it into a payload (records.py), the
# destination refuses it (connector errors go by their class name), its key cannot be stored (planning.py).
CONTENT_ERROR_TYPES = ("mapping", "ValidationError", "DuplicateError", "unstorable")
# A row skipped because its run was cancelled (runs.run_cancel) or its stage failed (stages.stage_fail) was never
# tried, so it says nothing about the record.
_NEVER_TRIED = ("cancelled", "stage_failed")
_CONCLUSIVE = (Q(status__in=(RecordStatus.SUCCEEDED, RecordStatus.UNCHANGED, RecordStatus.FAILED))
               | (Q(status=RecordStatus.SKIPPED) & ~Q(error_type__in=_NEVER_TRIED)))


def _same_record(**extra) -> Q:
    return Q(entity_map=OuterRef("entity_map"), source_key=OuterRef("source_key"), **extra)


def _ignore_covering() -> QuerySet[IgnoredFailure]:
    return IgnoredFailure.objects.filter(_same_record(record_id__gte=OuterRef("pk")))


def failing_now(*, project: Project | None = None, entity_maps: Iterable[EntityMap] | None = None,
                ignored: bool | None = False) -> QuerySet[RecordSync]:
    """The latest failure of each record failing now, one row per record. `ignored`: False leaves out the ones
    someone ignored (the queue), True gives only those, None both."""
    later = RecordSync.objects.filter(_same_record(pk__gt=OuterRef("pk"))).filter(_CONCLUSIVE)
    rows = RecordSync.objects.filter(status=RecordStatus.FAILED).filter(~Exists(later))
    if project is not None:
        rows = rows.filter(entity_map__project=project)
    if entity_maps is not None:
        rows = rows.filter(entity_map__in=list(entity_maps))
    if ignored is not None:
        rows = rows.filter(Exists(_ignore_covering()) if ignored else ~Exists(_ignore_covering()))
    return rows


def failing_queue(*, project: Project | None = None, entity_maps: Iterable[EntityMap] | None = None,
                  ignored: bool | None = False) -> QuerySet[RecordSync]:
    """`failing_now` with what the queue shows of each record: first_seen and last_seen (since it last
    succeeded), failures (how many runs failed it since then), and the ignore on it, if any."""
    last_good = (RecordSync.objects.filter(_same_record(pk__lt=OuterRef("pk"))).filter(_CONCLUSIVE)
                 .exclude(status=RecordStatus.FAILED).order_by("-pk").values("pk")[:1])
    rows = failing_now(project=project, entity_maps=entity_maps, ignored=ignored).annotate(
        since=Coalesce(Subquery(last_good), Value(0)))
    streak = RecordSync.objects.filter(_same_record(status=RecordStatus.FAILED, pk__gt=OuterRef("since"),
                                                    pk__lte=OuterRef("pk")))
    ignore = _ignore_covering()
    return rows.annotate(
        first_seen=Subquery(streak.order_by("pk").values("finished_at")[:1], output_field=DateTimeField()),
        last_seen=F("finished_at"),
        failures=Subquery(streak.order_by().values("entity_map").annotate(n=Count("pk")).values("n")[:1],
                          output_field=IntegerField()),
        ignored_reason=Subquery(ignore.values("reason")[:1], output_field=TextField()),
        ignored_by=Subquery(ignore.values("ignored_by")[:1], output_field=CharField()),
        ignored_at=Subquery(ignore.values("ignored_at")[:1], output_field=DateTimeField()),
    ).select_related("entity_map__project", "run")


def failing_counts(*, project: Project) -> dict[int, int]:
    """Records failing now (not ignored) per entity map id: distinct records, not attempts."""
    return dict(failing_now(project=project).order_by().values_list("entity_map_id").annotate(n=Count("pk")))


def failures_like(*, record: RecordSync) -> QuerySet[RecordSync]:
    """The records failing now (not ignored) the way `record` is: same entity map, error type and field."""
    return failing_now(entity_maps=[record.entity_map]).filter(error_type=record.error_type,
                                                                error_field=record.error_field)


def failures_ignore(*, records: QuerySet[RecordSync], reason: str, ignored_by: str) -> int:
    """Leave the given failing records alone, saying why; the reason is kept and shown. Returns how many."""
    reason = reason.strip()
    if not reason:
        raise ValueError("say why the records are ignored")
    count = 0
    for row in failing_now(ignored=None).filter(pk__in=records.values("pk")).only("pk", "entity_map", "source_key"):
        IgnoredFailure.objects.update_or_create(
            entity_map_id=row.entity_map_id, source_key=row.source_key,
            defaults={"record": row, "reason": reason, "ignored_by": ignored_by})
        count += 1
    return count


def failures_unignore(*, records: QuerySet[RecordSync]) -> int:
    """Undo ignoring: the records are back in the queue."""
    keys = list(records.values_list("entity_map_id", "source_key"))
    removed = 0
    for entity_map_id, source_key in keys:
        removed += IgnoredFailure.objects.filter(entity_map_id=entity_map_id, source_key=source_key).delete()[0]
    return removed


# --- runs ------------------------------------------------------------------------------------------------------
def content_hash(*, entity_map: EntityMap, record: Mapping) -> str:
    """A hash of the fields the map reads (all of them when it reads every field): a record read in full (a
    retry reads it by id) and the same record read by the change feed hash alike."""
    fields: Sequence[str] = entity_map.source_select or ()
    return mapping.record_hash({name: record.get(name) for name in fields} if fields else record)


def unchanged_failures(*, entity_map: EntityMap, records: Mapping[str, Mapping]) -> set[str]:
    """The source keys among `records` (key -> the record as read now) whose content-caused failure is still
    their latest outcome, with the same content: a run would only fail them again, so it leaves them out."""
    if not records:
        return set()
    failing = failing_now(entity_maps=[entity_map], ignored=None).filter(
        source_key__in=list(records), error_type__in=CONTENT_ERROR_TYPES).values_list("source_key", "snapshot")
    return {key for key, snapshot in failing
            if snapshot is not None and content_hash(entity_map=entity_map, record=snapshot)
            == content_hash(entity_map=entity_map, record=records[key])}


def repeated_failures(*, run: SyncRun) -> int:
    """Failures of the run that only repeat what was known before it: the record's previous outcome was the same
    content-caused failure (same error type and field) of the same content."""
    previous = (RecordSync.objects.filter(_same_record(pk__lt=OuterRef("pk"))).filter(_CONCLUSIVE)
                .order_by("-pk").values("pk")[:1])
    failed = list(run.records.filter(status=RecordStatus.FAILED, error_type__in=CONTENT_ERROR_TYPES)
                  .select_related("entity_map").annotate(previous=Subquery(previous)))
    before = RecordSync.objects.in_bulk([row.previous for row in failed if row.previous])
    repeated = 0
    for row in failed:
        earlier = before.get(row.previous)
        if (earlier is not None and earlier.status == RecordStatus.FAILED
                and (earlier.error_type, earlier.error_field) == (row.error_type, row.error_field)
                and earlier.snapshot is not None and row.snapshot is not None
                and content_hash(entity_map=row.entity_map, record=earlier.snapshot)
                == content_hash(entity_map=row.entity_map, record=row.snapshot)):
            repeated += 1
    return repeated
