"""Dry runs: plan, map and compare every eligible record as a run would, and report what it would do, per entity
map: creates, updates (with the fields that would change), unchanged, would fail, skips and source deletes.

Nothing is written to either environment or to the engine's own state: no record rows, no key links, and no
change cursor moves (the change feeds are read from where the next run would start, and their new positions are
thrown away). Entity maps are taken in run order; a record a dry run would create counts as linked for the later
maps' lookups (a new contact's new account), with a placeholder where the destination would assign the value.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from django.db import transaction
from django.utils import timezone

from connectors import ChangeTrackingExpiredError, ConnectorError
from integration import mapping, task_names
from integration.definitions import map_definition
from integration.models import ChangeCursor, ChangeDetection, DryRun, DryRunRecord, EntityMap, Project
from integration.queueing import enqueue
from integration.services import adapter, binder, comparison
from integration.services.connections import ConnectionMisconfigured
from integration.services.planning import page_work
from integration.services.runs import RunRefused

log = logging.getLogger(__name__)

COUNTED = ("read", "ineligible", "create", "update", "unchanged", "would_fail", "skip", "delete")


def dry_run_start(*, project: Project, full: bool = False, entity_maps: Sequence[str] | None = None,
                  trigger: str, requested_by: str = "", queue: bool = True) -> DryRun:
    """Record a dry run of the project's enabled entity maps (or the named ones) and queue it (`queue=False`:
    the caller runs it with `dry_run_execute`). A paused project may be dry-run: it writes nothing."""
    enabled = set(project.entity_maps.filter(enabled=True).values_list("name", flat=True))
    unknown = sorted(set(entity_maps or ()) - enabled)
    if unknown:
        raise RunRefused(f"project {project.name} has no enabled entity map named {', '.join(unknown)}")
    if not enabled:
        raise RunRefused(f"project {project.name} has no enabled entity maps")
    with transaction.atomic():
        dry_run = DryRun.objects.create(project=project, full=full, entity_maps=list(entity_maps or ()),
                                        trigger=trigger, requested_by=requested_by)
        if queue:
            enqueue(task_names.DRY_RUN, dry_run.pk)
    return dry_run


def dry_run_execute(*, dry_run_id: int) -> DryRun | None:
    """Run a queued dry run, once (a redelivered message finds it taken)."""
    if not DryRun.objects.filter(pk=dry_run_id, status=DryRun.Status.QUEUED).update(
            status=DryRun.Status.RUNNING, started_at=timezone.now()):
        return None
    dry_run = DryRun.objects.select_related("project__sales_connection", "project__finops_connection").get(
        pk=dry_run_id)
    maps = list(dry_run.project.entity_maps.filter(enabled=True).select_related(
        "project__sales_connection", "project__finops_connection").order_by("order", "id"))
    if dry_run.entity_maps:
        maps = [m for m in maps if m.name in set(dry_run.entity_maps)]
    planned: dict[str, dict[str, dict[str, mapping.LinkTarget]]] = {}
    summary: list[dict] = []
    try:
        for entity_map in maps:
            summary.append(_dry_map(dry_run, entity_map, planned))
    except (ConnectorError, ConnectionMisconfigured, ValueError) as exc:
        _dry_run_fail(dry_run, summary, getattr(exc, "message", None) or str(exc))
    except Exception as exc:
        # Whatever else stops it (a time limit, a bug), it must not stay "running" for ever.
        _dry_run_fail(dry_run, summary, f"stopped: {type(exc).__name__}: {exc}")
        raise
    else:
        DryRun.objects.filter(pk=dry_run.pk).update(status=DryRun.Status.SUCCEEDED, finished_at=timezone.now(),
                                                    summary=summary)
        log.info("dry run done dry_run=%s project=%s %s", dry_run.pk, dry_run.project.name,
                 " ".join(f"{row['entity_map']}={row['create']}c/{row['update']}u/{row['would_fail']}f"
                          for row in summary))
    dry_run.refresh_from_db()
    return dry_run


def _dry_run_fail(dry_run: DryRun, summary: list[dict], message: str) -> None:
    DryRun.objects.filter(pk=dry_run.pk).update(status=DryRun.Status.FAILED, finished_at=timezone.now(),
                                                summary=summary, message=message[:4000])
    log.warning("dry run failed dry_run=%s project=%s: %s", dry_run.pk, dry_run.project.name, message)


def _dry_map(dry_run: DryRun, entity_map: EntityMap, planned: dict) -> dict:
    """One entity map: its changes read as its next run would read them, each compared; the summary row."""
    cursor = None
    if not dry_run.full:
        cursor = ChangeCursor.objects.filter(entity_map=entity_map).values_list("value", flat=True).first() or None
    try:
        return _dry_read(dry_run, entity_map, planned, cursor)
    except ChangeTrackingExpiredError:
        DryRunRecord.objects.filter(dry_run=dry_run, entity_map=entity_map).delete()
        return _dry_read(dry_run, entity_map, planned, None)


def _dry_read(dry_run: DryRun, entity_map: EntityMap, planned: dict, cursor: str | None) -> dict:
    definition = map_definition(entity_map)
    full_scan = entity_map.change_detection == ChangeDetection.FULL_SCAN
    seen: set[str] | None = set() if full_scan else None
    counts: Counter = Counter()
    resolver = _DryRunResolver(comparison.resolver_for(entity_map=entity_map), planned)
    binds = comparison.bind_properties(entity_map=entity_map)
    mine = planned.setdefault(entity_map.name, {"source_id": {}, "source_key": {}})
    deleted: list[str] = []
    for changes in adapter.read_changes(entity_map, cursor=cursor):
        work = page_work(entity_map=entity_map, definition=definition, changes=changes, seen=seen,
                         compare_hashes=full_scan and not dry_run.full, skip_unchanged_failures=not dry_run.full)
        counts["read"] += work.read
        counts["ineligible"] += work.ineligible
        deleted += work.deleted_ids
        _dry_page(dry_run, entity_map, definition, {key: (source_id, prepared.record)
                                                    for key, (source_id, prepared) in work.upserts.items()},
                  resolver, binds, mine, counts)
        _dry_refused(dry_run, entity_map, work.refused, counts)
    if seen is None:  # a change feed names what it deleted; after a complete scan, what it did not see is gone
        gone = [key for key, _ in binder.linked_by_source_ids(entity_map=entity_map, source_ids=deleted)]
    else:
        gone = [key for key, _ in binder.live_links(entity_map=entity_map) if key not in seen]
    if gone:
        note = ("deleted at the source: a run would delete it at the destination" if entity_map.propagate_deletes
                else "deleted at the source: a run would note it and keep the destination record")
        rows = [DryRunRecord(dry_run=dry_run, entity_map=entity_map, source_key=key,
                             outcome=DryRunRecord.Outcome.DELETE, error_message=note) for key in gone]
        DryRunRecord.objects.bulk_create(rows)
        counts["delete"] += len(rows)
    return {"entity_map": entity_map.name, **{name: counts.get(name, 0) for name in COUNTED}}


def _dry_page(dry_run: DryRun, entity_map: EntityMap, definition: mapping.MapDefinition,
              upserts: Mapping[str, tuple[str, dict]], resolver: _DryRunResolver, binds: Mapping[str, str],
              mine: dict, counts: Counter) -> None:
    links = binder.links_of(entity_map=entity_map,
                            records=[(key, source_id) for key, (source_id, _) in upserts.items()])
    evaluated = []
    for key, (source_id, record) in upserts.items():
        evaluation = comparison.evaluate(definition=definition, record=record, resolver=resolver,
                                         link=links.get(key))
        evaluated.append((key, source_id, evaluation))
    to_compare = [e.destination_key for _, _, e in evaluated if e.outcome == "update"]
    rows = comparison.destination_records(entity_map=entity_map, keys=to_compare) if to_compare else {}
    results = []
    for key, source_id, evaluation in evaluated:
        if evaluation.outcome == "update":
            evaluation = comparison.compare(evaluation, rows.get(mapping.destination_key_text(
                evaluation.destination_key)), binds)
            if evaluation.link is None:  # a run would link it now: later maps' lookups find it
                target = mapping.LinkTarget(source_key=key, destination_key=evaluation.destination_key,
                                            destination_id=f"(new {entity_map.name} {key})",
                                            attributes=_Assigned(f"(assigned to the new {entity_map.name} {key})"))
                mine["source_key"][key] = target
                if source_id:
                    mine["source_id"][source_id.lower()] = target
        counts[evaluation.outcome] += 1
        if evaluation.outcome == "unchanged":
            continue
        results.append(DryRunRecord(
            dry_run=dry_run, entity_map=entity_map, source_key=key, outcome=evaluation.outcome,
            differences=[{"field": d.field, "sends": d.sends, "holds": d.holds} for d in evaluation.differences],
            payload=evaluation.payload, error_field=evaluation.error_field, error_message=evaluation.error[:4000]))
    DryRunRecord.objects.bulk_create(results)


def _dry_refused(dry_run: DryRun, entity_map: EntityMap, refused: Mapping[str, tuple[dict, object]],
                 counts: Counter) -> None:
    """Records whose key or id the database cannot store: a run would fail them, naming the field."""
    rows = []
    for key, (_, prepared) in refused.items():
        field, reason = prepared.refusal
        rows.append(DryRunRecord(dry_run=dry_run, entity_map=entity_map, source_key=key,
                                 outcome=DryRunRecord.Outcome.WOULD_FAIL, error_field=field, error_message=reason))
    DryRunRecord.objects.bulk_create(rows)
    counts["would_fail"] += len(rows)


class _Assigned(dict):
    """Attributes of a record a run would create: the destination assigns them, so each reads as a placeholder."""

    def __init__(self, placeholder: str):
        super().__init__()
        self.placeholder = placeholder

    def get(self, key, default=None):
        return self.placeholder


class _DryRunResolver:
    """The run's resolver, plus the records this dry run would link in earlier entity maps."""

    def __init__(self, inner: mapping.Resolver, planned: Mapping[str, Mapping[str, Mapping[str, mapping.LinkTarget]]]):
        self.inner = inner
        self.planned = planned

    def link(self, entity_maps: Sequence[str], match: str, value: str) -> mapping.LinkTarget | None:
        found = self.inner.link(entity_maps, match, value)
        if found is not None or match == "destination_id":
            return found
        wanted = value.lower() if match == "source_id" else value
        for name in entity_maps:
            target = self.planned.get(name, {}).get(match, {}).get(wanted)
            if target is not None:
                return target
        return None

    def reference(self, *args, **kwargs):
        return self.inner.reference(*args, **kwargs)

    def legal_entity(self, business_unit):
        return self.inner.legal_entity(business_unit)


def dry_run_report(*, dry_run: DryRun) -> dict[str, list[DryRunRecord]]:
    """The dry run's records by entity map name, in run order."""
    report: dict[str, list[DryRunRecord]] = {row["entity_map"]: [] for row in dry_run.summary}
    for record in dry_run.records.select_related("entity_map"):
        report.setdefault(record.entity_map.name, []).append(record)
    return report
