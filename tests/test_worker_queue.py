"""The queue is real: a task published here is taken by a separate worker process and changes the database."""

import pytest

from integration.models import WorkerHeartbeat
from integration.tasks import worker_heartbeat
from tests.support.waiting import wait_until


@pytest.mark.django_db(transaction=True)
def test_worker_process_runs_a_published_task_against_the_database(celery_worker):
    worker_heartbeat.delay()

    beat = wait_until(lambda: WorkerHeartbeat.objects.filter(hostname=celery_worker.name).first(),
                      what="the worker's heartbeat row")
    # The row carries the worker's own hostname: the task ran in that process, not eagerly in this one.
    assert beat.tasks_seen == 1


@pytest.mark.django_db(transaction=True)
def test_tasks_run_concurrently_by_the_worker_each_take_effect_once(celery_worker):
    for _ in range(20):
        worker_heartbeat.delay()

    wait_until(lambda: WorkerHeartbeat.objects.filter(hostname=celery_worker.name, tasks_seen=20).exists(),
               what="twenty heartbeats counted")
