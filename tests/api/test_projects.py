"""Projects through the API: list with entity maps, one project, its maps, pause and resume."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from integration.services.schedules import periodic_task_name
from tests.support import factories

pytestmark = pytest.mark.django_db


def test_projects_are_listed_with_their_entity_maps_in_order(reader, project):
    factories.project("second")
    body = reader.get("/api/projects/").json()
    assert body["count"] == 2
    first = body["results"][0]
    assert first["name"] == "p2c"
    assert first["url"] == "http://testserver/api/projects/p2c/"
    assert first["runs_url"] == "http://testserver/api/projects/p2c/runs/"
    assert first["failing_records_url"] == "http://testserver/api/projects/p2c/failing-records/"
    assert [m["name"] for m in first["entity_maps"]] == ["Accounts", "Contacts"]
    assert first["entity_maps"][0]["source_entity_set"] == "accounts"
    assert "webhook_secret" not in first


def test_one_project_and_its_entity_maps(reader, project):
    assert reader.get("/api/projects/p2c/").json()["name"] == "p2c"
    maps = reader.get("/api/projects/p2c/entity-maps/").json()["results"]
    assert [(m["name"], m["destination_entity_set"]) for m in maps] == [("Accounts", "CustomersV3"),
                                                                       ("Contacts", "CDSContactPersons")]


@pytest.mark.parametrize("path", ["/api/projects/nope/", "/api/projects/nope/entity-maps/",
                                  "/api/projects/nope/runs/"])
def test_an_unknown_project_is_404(reader, path):
    assert reader.get(path).status_code == 404


def test_pause_and_resume(operator):
    project = factories.project(schedule_minutes=10)
    response = operator.post("/api/projects/p2c/pause/")
    assert response.status_code == 200
    assert response.json()["paused"] is True
    project.refresh_from_db()
    assert project.paused
    assert PeriodicTask.objects.get(name=periodic_task_name(project)).enabled is False
    assert operator.post("/api/projects/p2c/resume/").json()["paused"] is False
    assert PeriodicTask.objects.get(name=periodic_task_name(project)).enabled is True


def test_pausing_an_unknown_project_is_404(operator):
    assert operator.post("/api/projects/nope/pause/").status_code == 404


def test_the_openapi_schema_describes_the_api(reader):
    response = reader.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/projects/{name}/runs/", "/api/runs/{id}/records/", "/api/records/retry/",
                 "/api/webhooks/dataverse/{project}/", "/api/projects/{name}/pause/"):
        assert path in paths, path
    assert set(paths["/api/projects/{name}/runs/"]["post"]["responses"]) >= {"202", "409"}
