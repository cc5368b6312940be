"""Pausing an entity map: it takes no new work until resumed, as dual-write pauses a map at an error threshold.

A paused map's stages are skipped (a warning, with the reason, on the stage and so on the run) and its cursor
stays, so the first run after the resume reads everything that changed meanwhile. Records already queued finish or
wait as they would; records given to a skipped stage (a webhook's, a retry's) are skipped with the same message,
and scheduled runs pick those changes up after the resume.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from integration.models import EntityMap, RecordStatus, RecordSync, StageStatus, SyncStage
from integration.services import runs

log = logging.getLogger(__name__)


def entity_map_paused(*, entity_map_id: int) -> bool:
    """The selector the engine asks before it starts a stage."""
    return EntityMap.objects.filter(pk=entity_map_id, paused=True).exists()


def entity_map_pause(*, entity_map: EntityMap, reason: str) -> bool:
    """Pause the map; False when it already was (its first reason stays)."""
    changed = EntityMap.objects.filter(pk=entity_map.pk, paused=False).update(
        paused=True, paused_at=timezone.now(), paused_reason=reason[:500])
    entity_map.refresh_from_db(fields=["paused", "paused_at", "paused_reason"])
    if changed:
        log.warning("entity map paused project=%s entity_map=%s: %s", entity_map.project.name, entity_map.name,
                    reason)
    return bool(changed)


def entity_map_resume(*, entity_map: EntityMap) -> bool:
    """Resume the map; False when it was not paused. Failures before now no longer count toward alert thresholds."""
    changed = EntityMap.objects.filter(pk=entity_map.pk, paused=True).update(
        paused=False, paused_reason="", resumed_at=timezone.now())
    entity_map.refresh_from_db(fields=["paused", "paused_at", "paused_reason", "resumed_at"])
    if changed:
        log.info("entity map resumed project=%s entity_map=%s", entity_map.project.name, entity_map.name)
    return bool(changed)


def stage_skip_paused(*, stage: SyncStage) -> None:
    """End a stage of a paused map before it reads anything; the run goes on with its next stage."""
    entity_map = EntityMap.objects.get(pk=stage.entity_map_id)
    message = (f"skipped: entity map {entity_map.name} is paused ({entity_map.paused_reason or 'by an admin'}); "
               "resume it in the admin or the API, and the next run reads what changed meanwhile")
    now = timezone.now()
    with transaction.atomic():
        if not SyncStage.objects.filter(pk=stage.pk, status=StageStatus.PLANNING).update(
                status=StageStatus.WARNING, finished_at=now, message=message):
            return
        RecordSync.objects.filter(stage=stage, status=RecordStatus.PENDING).update(
            status=RecordStatus.SKIPPED, outcome=RecordSync.Outcome.SKIPPED, finished_at=now,
            error_type="paused", error_message=message)
    log.warning("stage skipped run=%s entity_map=%s: entity map paused", stage.run_id, entity_map.name)
    runs.run_continue(run=stage.run)
