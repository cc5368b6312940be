"""The queue is real: a task published here is taken by a separate worker process and changes the database; every
worker process reports itself in a heartbeat row of its own."""

from datetime import timedelta

import pytest

from integration.models import SyncRun, WorkerHeartbeat
from integration.queueing import enqueue
from integration.tasks import purge_history
from tests.support import factories
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_process_runs_a_published_task_against_the_database(celery_worker):
    expired = factories.run(factories.project(retention_days=1), age=timedelta(days=2))

    purge_history.delay()

    wait_until(lambda: not SyncRun.objects.filter(pk=expired.pk).exists(), what="the worker to purge the old run")


def test_a_worker_process_beats_under_its_name_and_counts_each_task_it_ran_once(own_queue):
    worker = own_queue.worker()
    name = f"{worker.name}:{worker.process.pid}"
    assert WorkerHeartbeat.objects.filter(name=name).exists()  # written before the worker took its first task

    for _ in range(20):
        enqueue("p2c.start_stage", 0)  # no such stage: the task only looks

    wait_until(lambda: WorkerHeartbeat.objects.filter(name=name, tasks_seen=20).exists(),
               what="twenty tasks counted in the worker's heartbeat")
