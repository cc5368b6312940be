"""The sweeper's rules one by one, on the real database and broker, each pass read back from the queue it
wrote to (no worker takes the messages). What needs processes of its own (a worker killed, a broker restarted
empty, a planner killed mid-read) is in tests/engine/test_recovery.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration import task_names
from integration.models import (
    Connection,
    RecordStatus,
    RecordSync,
    RunStatus,
    StageStatus,
    SyncStage,
)
from integration.queueing import broker_contents_lost
from integration.services.sweeper import sweep
from tests.support import factories
from tests.support.broker import queued_messages

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue(settings, embedded_redis):
    """A queue of this test's own, and a broker whose epoch is known (else the first sweep takes it for a broker
    that lost its contents and queues every open record)."""
    settings.P2C_TASK_QUEUE = f"p2c-sweep-{timezone.now().timestamp():.6f}"
    broker_contents_lost()
    return settings.P2C_TASK_QUEUE


def running_run(*records: str, batch_size: int = 10):
    project = factories.project()
    Connection.objects.filter(pk=project.finops_connection_id).update(batch_size=batch_size)
    return factories.run(project, status=RunStatus.RUNNING, records=[("Accounts", status) for status in records])


def test_waiting_records_that_are_due_go_back_in_batches_and_only_once(queue):
    run = running_run(*[RecordStatus.WAITING] * 28, batch_size=10)
    now = timezone.now()
    records = list(RecordSync.objects.filter(run=run).order_by("pk"))
    due, fresh, later = records[:25], records[25:27], records[27:]
    RecordSync.objects.filter(pk__in=[r.pk for r in due]).update(next_attempt_at=now - timedelta(seconds=30))
    # Due a moment ago: its own broker countdown is bringing it back; the sweeper leaves it a few seconds.
    RecordSync.objects.filter(pk__in=[r.pk for r in fresh]).update(next_attempt_at=now - timedelta(seconds=1))
    RecordSync.objects.filter(pk__in=[r.pk for r in later]).update(next_attempt_at=now + timedelta(minutes=5))

    assert sweep()["waiting_due"] == 25
    assert sweep()["waiting_due"] == 0  # queued once, not once per sweep while it waits its turn

    ids = [r.pk for r in due]
    assert queued_messages(queue) == [(task_names.SYNC_BATCH, (ids[:10],)), (task_names.SYNC_BATCH, (ids[10:20],)),
                                      (task_names.SYNC_BATCH, (ids[20:],))]


def test_a_record_running_past_its_lease_goes_back_alone(queue, settings):
    run = running_run(RecordStatus.RUNNING, RecordStatus.RUNNING)
    abandoned, busy = RecordSync.objects.filter(run=run).order_by("pk")
    lease = timedelta(seconds=settings.P2C_RECORD_LEASE_SECONDS)
    RecordSync.objects.filter(pk=abandoned.pk).update(claimed_at=timezone.now() - lease - timedelta(seconds=5))
    RecordSync.objects.filter(pk=busy.pk).update(claimed_at=timezone.now())

    assert sweep()["abandoned"] == 1

    # Alone: only the single-record path takes a record whose lease is over.
    assert queued_messages(queue) == [(task_names.SYNC_RECORD, (abandoned.pk,))]


def test_pending_records_whose_messages_are_gone_are_queued_again_when_the_queue_is_empty(queue, settings):
    run = running_run(RecordStatus.PENDING, RecordStatus.PENDING)
    lost, recent = RecordSync.objects.filter(run=run).order_by("pk")
    stale = timedelta(seconds=settings.P2C_QUEUED_STALE_SECONDS)
    RecordSync.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - stale - timedelta(seconds=5))
    RecordSync.objects.filter(pk=recent.pk).update(queued_at=timezone.now())

    assert sweep()["lost"] == 1

    assert queued_messages(queue) == [(task_names.SYNC_BATCH, ([lost.pk],))]
    assert sweep()["lost"] == 0  # the queue holds it now: a long queue is not a lost one


def test_a_stage_whose_planning_went_silent_is_planned_again(queue, settings):
    run = running_run()
    stage = run.stages.get(entity_map__name="Accounts")
    silent = timezone.now() - timedelta(seconds=settings.P2C_PLANNING_STALE_SECONDS + 5)
    SyncStage.objects.filter(pk=stage.pk).update(status=StageStatus.PLANNING, heartbeat_at=silent)
    SyncStage.objects.filter(run=run).exclude(pk=stage.pk).update(status=StageStatus.PENDING)

    assert sweep()["stages_restarted"] == 1

    stage.refresh_from_db()
    assert stage.status == StageStatus.PENDING
    assert (task_names.START_STAGE, (stage.pk,)) in queued_messages(queue)


def test_a_running_stage_with_every_record_ended_is_finished_and_its_run_goes_on(queue):
    run = running_run(RecordStatus.SUCCEEDED, RecordStatus.FAILED)
    SyncStage.objects.filter(run=run).exclude(entity_map__name="Accounts").update(status=StageStatus.PENDING)
    accounts = run.stages.get(entity_map__name="Accounts")

    assert sweep()["stages_finished"] == 1

    accounts.refresh_from_db()
    assert accounts.status in (StageStatus.SUCCEEDED, StageStatus.WARNING, StageStatus.FAILED)
    contacts = run.stages.get(entity_map__name="Contacts")
    assert (task_names.START_STAGE, (contacts.pk,)) in queued_messages(queue)  # the next stage
