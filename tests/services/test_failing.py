"""Which records are failing now: one line per record across runs, what a later outcome changes, ignoring with a
reason (kept, undoable), retrying the records failing alike, and the counts the overview shows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integration.models import IgnoredFailure, RecordStatus, RecordSync, RunStatus, SyncRun
from integration.services import failing, retries
from integration.services.runs import run_cancel
from tests.support import factories

pytestmark = pytest.mark.django_db
FAILED, SUCCEEDED, PENDING = RecordStatus.FAILED, RecordStatus.SUCCEEDED, RecordStatus.PENDING


@pytest.fixture
def project():
    return factories.project()


def keys(rows) -> list[tuple[str, str]]:
    return sorted((row.entity_map.name, row.source_key) for row in rows)


def test_a_record_failing_in_several_runs_is_one_line_with_its_first_and_last_failure(project):
    first = factories.run(project, status=RunStatus.WARNING, age=timedelta(days=2),
                          records=[("Contacts", FAILED), ("Contacts", FAILED)])
    second = factories.run(project, status=RunStatus.WARNING, age=timedelta(days=1), records=[("Contacts", FAILED)])

    queue = {row.source_key: row for row in failing.failing_queue(project=project)}

    assert sorted(queue) == ["K0000", "K0001"]  # three failures, two records
    again = queue["K0000"]
    assert (again.run_id, again.failures) == (second.pk, 2)
    assert again.first_seen == first.records.get(source_key="K0000").finished_at
    assert again.last_seen == second.records.get().finished_at
    assert queue["K0001"].failures == 1
    assert failing.failing_counts(project=project) == {project.entity_maps.get(name="Contacts").pk: 2}


def test_a_later_success_takes_a_record_out_and_a_later_failure_starts_its_count_again(project):
    factories.run(project, status=RunStatus.WARNING, age=timedelta(days=3), records=[("Accounts", FAILED)])
    factories.run(project, age=timedelta(days=2), records=[("Accounts", SUCCEEDED)])
    assert not failing.failing_now(project=project).exists()

    factories.run(project, status=RunStatus.WARNING, age=timedelta(days=1), records=[("Accounts", FAILED)])

    assert failing.failing_queue(project=project).get().failures == 1


def test_open_and_cancelled_rows_say_nothing_new_about_a_record(project):
    factories.run(project, status=RunStatus.WARNING, age=timedelta(days=1), records=[("Accounts", FAILED)])
    retry = factories.run(project, status=RunStatus.RUNNING, records=[("Accounts", PENDING)])
    assert keys(failing.failing_now(project=project)) == [("Accounts", "K0000")]  # until the retry says otherwise

    run_cancel(run=retry, reason="cancelled in a test")

    assert keys(failing.failing_now(project=project)) == [("Accounts", "K0000")]


def test_ignoring_keeps_the_reason_hides_the_record_and_can_be_undone(project):
    run = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED), ("Contacts", FAILED)])
    first = run.records.get(source_key="K0000")

    assert failing.failures_ignore(records=RecordSync.objects.filter(pk=first.pk), reason="a test account",
                                   ignored_by="integrator") == 1

    assert keys(failing.failing_now(project=project)) == [("Contacts", "K0001")]
    ignored = failing.failing_queue(project=project, ignored=True).get()
    assert (ignored.source_key, ignored.ignored_reason, ignored.ignored_by) == ("K0000", "a test account",
                                                                                "integrator")
    with pytest.raises(ValueError, match="say why"):
        failing.failures_ignore(records=RecordSync.objects.filter(pk=first.pk), reason="  ", ignored_by="x")

    assert failing.failures_unignore(records=RecordSync.objects.filter(pk=first.pk)) == 1
    assert keys(failing.failing_now(project=project)) == [("Contacts", "K0000"), ("Contacts", "K0001")]


def test_a_new_failure_after_an_ignore_is_back_in_the_queue(project):
    run = factories.run(project, status=RunStatus.WARNING, age=timedelta(days=1), records=[("Contacts", FAILED)])
    failing.failures_ignore(records=run.records.all(), reason="known", ignored_by="integrator")
    assert not failing.failing_now(project=project).exists()

    factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED)])  # failed again, later

    assert keys(failing.failing_now(project=project)) == [("Contacts", "K0000")]
    assert IgnoredFailure.objects.count() == 1  # kept, shown among the ignored once more if ignored again


def test_retrying_all_like_one_takes_the_same_map_error_type_and_field(project):
    run = factories.run(project, status=RunStatus.WARNING,
                        records=[("Contacts", FAILED), ("Contacts", FAILED), ("Accounts", FAILED)])
    RecordSync.objects.filter(run=run, source_key="K0001").update(error_field="Other")
    model = run.records.get(source_key="K0000")

    retry = retries.failures_retry(records=failing.failures_like(record=model), requested_by="integrator")

    assert retry.mode == SyncRun.Mode.RETRY
    assert [r.retry_of_id for r in retry.records.all()] == [model.pk]


def test_retrying_a_runs_failures_takes_each_record_from_its_latest_failure(project):
    first = factories.run(project, status=RunStatus.WARNING, age=timedelta(days=2),
                          records=[("Contacts", FAILED), ("Contacts", FAILED)])
    later = factories.run(project, status=RunStatus.WARNING, age=timedelta(days=1),
                          records=[("Contacts", FAILED), ("Contacts", SUCCEEDED)])

    retry = retries.run_retry_failed(run=first)

    assert [r.retry_of_id for r in retry.records.all()] == [later.records.get(source_key="K0000").pk]
    fixed = factories.run(project, records=[("Contacts", SUCCEEDED)])
    assert fixed.records.exists()
    with pytest.raises(retries.NothingToRetry, match="has succeeded or been skipped since"):
        retries.run_retry_failed(run=later)


def test_stored_errors_that_said_the_field_twice_say_it_once_after_the_migration(project):
    from importlib import import_module

    from django.apps import apps

    run = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED), ("Accounts", FAILED)])
    RecordSync.objects.filter(run=run, source_key="K0000").update(
        error_message="Country: no value map entry for 'Atlantis'")  # as records were stored before
    RecordSync.objects.filter(run=run, source_key="K0001").update(error_type="ValidationError", error_field="",
                                                                  error_message="Country: refused")

    import_module("integration.migrations.0016_workbench").say_the_field_once(apps, None)

    assert dict(run.records.values_list("source_key", "error_message")) == {
        "K0000": "no value map entry for 'Atlantis'", "K0001": "Country: refused"}
