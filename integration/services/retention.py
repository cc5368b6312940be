"""History retention: runs (with their stages and records) and dry runs older than the project's retention are
purged."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from integration.models import ACTIVE_RUN_STATUSES, DryRun, Project, SyncRun

log = logging.getLogger(__name__)

_BATCH = 200


def history_purge(*, now=None) -> int:
    """Delete finished runs past each project's retention period; returns how many runs went."""
    now = now or timezone.now()
    purged = 0
    for project in Project.objects.all():
        cutoff = now - timedelta(days=project.retention_days)
        old = SyncRun.objects.filter(project=project, created_at__lt=cutoff).exclude(status__in=ACTIVE_RUN_STATUSES)
        while True:
            ids = list(old.values_list("id", flat=True)[:_BATCH])
            if not ids:
                break
            SyncRun.objects.filter(pk__in=ids).delete()
            purged += len(ids)
        DryRun.objects.filter(project=project, created_at__lt=cutoff).exclude(
            status__in=(DryRun.Status.QUEUED, DryRun.Status.RUNNING)).delete()
    if purged:
        log.info("history purged runs=%s", purged)
    return purged
