"""How records are queued, wherever they are queued from (planning, and the sweeper giving back what waited,
was lost or was held by a dead worker): a bulk stage's records in batches of its destination's batch size
(`p2c.sync_batch`), any other record on its own (`p2c.sync_record`).

Records that come back from a long wait (a Retry-After longer than a broker countdown may be) go back in
batches too, so a bulk run that met the service's limits keeps writing a request per batch, not per record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from integration import task_names
from integration.models import SyncStage
from integration.queueing import enqueue_batches, enqueue_each
from integration.services import adapter


def stage_batch_size(stage: SyncStage) -> int:
    """Records per write request: the destination connection's batch size for a bulk run's stage (1: one by one).
    A two-way flow's records go one by one: each update first reads the other side's record (conflicts), each
    write is read back (echoes), which the single-record path does."""
    if not stage.run.is_bulk or stage.entity_map.reverse_map_id:
        return 1
    return max(1, adapter.destination_connection(stage.entity_map).batch_size)


def stage_records_queue(stage: SyncStage, ids: list[int]) -> None:
    """Queue these records of `stage` (after the transaction commits)."""
    size = stage_batch_size(stage)
    if size > 1:
        enqueue_batches(task_names.SYNC_BATCH, ids, size)
    else:
        enqueue_each(task_names.SYNC_RECORD, ids)


def records_queue(rows: Iterable[tuple[int, int]]) -> None:
    """Queue records of any stages, given as (record id, stage id): each stage's as `stage_records_queue` says."""
    by_stage: dict[int, list[int]] = defaultdict(list)
    for record_id, stage_id in rows:
        by_stage[stage_id].append(record_id)
    stages = SyncStage.objects.select_related("run", "entity_map__project__sales_connection",
                                              "entity_map__project__finops_connection").in_bulk(list(by_stage))
    for stage_id, stage_ids in by_stage.items():
        stage_records_queue(stages[stage_id], sorted(stage_ids))
