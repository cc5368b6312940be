from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integration.models import WorkerHeartbeat


def worker_heartbeat_record(*, hostname: str) -> None:
    """Note that a worker is alive; the admin shows stale workers from this.

    Concurrent calls from one worker's threads each count once: the update is atomic, and a lost race to
    create the row falls back to the update.
    """
    now = timezone.now()
    while True:
        if WorkerHeartbeat.objects.filter(hostname=hostname).update(seen_at=now, tasks_seen=F("tasks_seen") + 1):
            return
        try:
            with transaction.atomic():
                WorkerHeartbeat.objects.create(hostname=hostname, seen_at=now, tasks_seen=1)
            return
        except IntegrityError:
            continue
