"""Runs through the API: start (202, or 409 naming the run in progress), list and filter, one run, cancel, retry."""

from __future__ import annotations

import pytest

from integration.models import RecordStatus, RunStatus, SyncRun
from tests.support import factories

pytestmark = pytest.mark.django_db
FAILED, SUCCEEDED, PENDING = RecordStatus.FAILED, RecordStatus.SUCCEEDED, RecordStatus.PENDING


def test_starting_a_run_answers_202_with_the_run_and_its_url(operator, project):
    response = operator.post("/api/projects/p2c/runs/", {"mode": "full", "entity_maps": ["Contacts"]}, format="json")
    assert response.status_code == 202
    body = response.json()
    run = SyncRun.objects.get()
    assert body["id"] == run.pk
    assert body["url"] == f"http://testserver/api/runs/{run.pk}/"
    assert response["Location"] == body["url"]
    assert (body["mode"], body["trigger"], body["status"], body["requested_by"]) == ("full", "api", "queued",
                                                                                      "operator")
    assert list(run.stages.values_list("entity_map__name", flat=True)) == ["Contacts"]


def test_the_mode_defaults_to_incremental_over_all_enabled_maps(operator, project):
    assert operator.post("/api/projects/p2c/runs/", {}, format="json").json()["mode"] == "incremental"
    assert SyncRun.objects.get().stages.count() == 2


def test_a_second_bulk_run_gets_409_naming_the_run_in_progress(operator, project):
    first = operator.post("/api/projects/p2c/runs/", {"mode": "incremental"}, format="json").json()
    response = operator.post("/api/projects/p2c/runs/", {"mode": "full"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["run"]["id"] == first["id"]
    assert body["run"]["url"] == first["url"]
    assert f"run #{first['id']} of project p2c is still queued" in body["detail"]


def test_a_paused_project_gets_409(operator):
    factories.project(paused=True)
    response = operator.post("/api/projects/p2c/runs/", {"mode": "full"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "project p2c is paused"}


def test_a_disabled_entity_map_gets_409(operator, project):
    project.entity_maps.filter(name="Contacts").update(enabled=False)
    response = operator.post("/api/projects/p2c/runs/", {"entity_maps": ["Contacts"]}, format="json")
    assert response.status_code == 409
    assert "no enabled entity map named Contacts" in response.json()["detail"]


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"mode": "sideways"}, "mode", '"sideways" is not a valid choice.'),
    ({"mode": "record"}, "mode", '"record" is not a valid choice.'),
    ({"entity_maps": ["Accounts", "Invoices"]}, "entity_maps", "no entity map named Invoices in this project"),
    ({"entity_maps": []}, "entity_maps", "This list may not be empty."),
    ({"entity_maps": "Accounts"}, "entity_maps", 'Expected a list of items but got type "str".'),
])
def test_bad_input_gets_400_with_field_messages(operator, project, body, field, message):
    response = operator.post("/api/projects/p2c/runs/", body, format="json")
    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert not SyncRun.objects.exists()


def test_starting_a_run_of_an_unknown_project_is_404(operator):
    assert operator.post("/api/projects/nope/runs/", {"mode": "full"}, format="json").status_code == 404


def test_runs_are_listed_newest_first_and_filtered_by_project_and_status(reader, project):
    other = factories.project("other")
    old = factories.run(project, status=RunStatus.SUCCEEDED)
    failed = factories.run(project, status=RunStatus.FAILED)
    elsewhere = factories.run(other, status=RunStatus.FAILED)
    ids = lambda response: [run["id"] for run in response.json()["results"]]  # noqa: E731
    assert ids(reader.get("/api/runs/")) == [elsewhere.pk, failed.pk, old.pk]
    assert ids(reader.get("/api/runs/", {"project": "p2c"})) == [failed.pk, old.pk]
    assert ids(reader.get("/api/runs/", {"status": "failed"})) == [elsewhere.pk, failed.pk]
    assert ids(reader.get("/api/runs/", {"project": "p2c", "status": "failed"})) == [failed.pk]
    assert ids(reader.get("/api/projects/other/runs/")) == [elsewhere.pk]
    assert ids(reader.get("/api/runs/", {"project": "nope"})) == []


def test_a_bad_status_filter_is_400(reader):
    response = reader.get("/api/runs/", {"status": "exploded"})
    assert response.status_code == 400
    assert response.json() == {"status": ['"exploded" is not a valid choice.']}


def test_runs_are_paginated(reader, project):
    for _ in range(5):
        factories.run(project)
    page = reader.get("/api/runs/", {"page_size": 2}).json()
    assert (page["count"], len(page["results"])) == (5, 2)
    assert page["next"].endswith("page=2&page_size=2")
    assert reader.get("/api/runs/", {"page": 9}).status_code == 404


def test_one_run_has_its_counts_and_progress(reader, project):
    run = factories.run(project, status=RunStatus.RUNNING,
                        records=[("Accounts", SUCCEEDED), ("Accounts", PENDING), ("Contacts", FAILED)])
    body = reader.get(f"/api/runs/{run.pk}/").json()
    assert body["counts"]["created"] == 1
    assert body["counts"]["failed"] == 1
    assert body["counts"]["open"] == 1
    accounts, contacts = body["progress"]
    assert (accounts["entity_map"], accounts["records"], accounts["done"]) == ("Accounts", 2, 1)
    assert (contacts["entity_map"], contacts["failed"], contacts["by_status"]) == ("Contacts", 1, {"failed": 1})
    assert body["records_url"] == f"http://testserver/api/runs/{run.pk}/records/"


def test_an_unknown_run_is_404(reader, operator):
    assert reader.get("/api/runs/999999/").status_code == 404
    assert reader.get("/api/runs/999999/records/").status_code == 404
    assert operator.post("/api/runs/999999/cancel/").status_code == 404
    assert operator.post("/api/runs/999999/retry/").status_code == 404


def test_cancelling_a_run_in_progress(operator, project):
    run = factories.run(project, status=RunStatus.RUNNING, records=[("Accounts", PENDING)])
    response = operator.post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["message"] == "cancelled by operator through the API"
    assert run.records.get().status == RecordStatus.SKIPPED


def test_cancelling_a_finished_run_is_409(operator, project):
    run = factories.run(project, status=RunStatus.SUCCEEDED)
    response = operator.post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["detail"] == f"run #{run.pk} is not in progress (it is succeeded)"


def test_retrying_a_runs_failed_records_answers_202_with_the_retry_run(operator, project):
    run = factories.run(project, status=RunStatus.WARNING,
                        records=[("Accounts", SUCCEEDED), ("Contacts", FAILED), ("Contacts", FAILED)])
    response = operator.post(f"/api/runs/{run.pk}/retry/")
    assert response.status_code == 202
    retry = SyncRun.objects.get(pk=response.json()["id"])
    assert (retry.mode, retry.trigger, retry.requested_by) == ("retry", "retry", "operator")
    assert retry.records.count() == 2
    assert response["Location"].endswith(f"/api/runs/{retry.pk}/")


def test_retrying_a_run_without_failures_is_409(operator, project):
    run = factories.run(project, records=[("Accounts", SUCCEEDED)])
    response = operator.post(f"/api/runs/{run.pk}/retry/")
    assert response.status_code == 409
    assert response.json() == {"detail": "none of the selected records has failed"}
