"""The API's index and documentation pages, the failing-records queue and its actions, and dry runs started like
runs; every answer about a run carries the exit code the commands give for it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from integration.models import DryRun, IgnoredFailure, RecordStatus, RunStatus, SyncRun
from tests.support import factories

pytestmark = pytest.mark.django_db
FAILED, SUCCEEDED = RecordStatus.FAILED, RecordStatus.SUCCEEDED


def test_the_index_lists_every_endpoint_and_where_the_docs_are(reader):
    body = reader.get("/api/").json()
    paths = {endpoint["path"]: endpoint for endpoint in body["endpoints"]}
    for path in ("/api/projects/{name}/runs/", "/api/projects/{name}/failing-records/", "/api/dry-runs/{pk}/",
                 "/api/failing-records/retry/", "/api/schema/", "/api/webhooks/dataverse/{project}/"):
        assert path in paths, path
    assert paths["/api/projects/{name}/runs/"]["methods"] == ["GET", "POST"]
    assert paths["/api/failing-records/ignore/"]["description"].startswith("Leave failing records alone")
    assert body["documentation"]["swagger_ui"] == "http://testserver/api/docs/"
    assert "create_api_token" in body["authentication"]


def test_the_index_tells_a_stranger_how_to_authenticate(anonymous):
    response = anonymous.get("/api/")
    assert response.status_code == 401
    assert "create_api_token" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_need_the_admin_sign_in_and_load_nothing_from_elsewhere(path):
    anonymous = Client().get(path)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/?next=")
    client = Client()
    client.force_login(factories.user("reader", perms=["integration.view_project"]))
    page = client.get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert "/static/drf_spectacular_sidecar/" in text
    assert "cdn." not in text
    assert "https://" not in text.replace("https://testserver", "")


def test_the_failing_records_are_one_per_record_with_their_history(reader, project):
    factories.run(project, status=RunStatus.WARNING, age=timedelta(days=1),
                  records=[("Contacts", FAILED), ("Contacts", FAILED)])
    latest = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED)])

    body = reader.get(f"/api/projects/{project.name}/failing-records/").json()

    rows = {row["source_key"]: row for row in body["results"]}
    assert sorted(rows) == ["K0000", "K0001"]
    assert (rows["K0000"]["failures"], rows["K0000"]["run"]) == (2, latest.pk)
    assert rows["K0000"]["error"] == "Country: no value map entry for 'Atlantis'"
    assert rows["K0000"]["ignored"] is None
    assert reader.get(f"/api/projects/{project.name}/failing-records/", {"ignored": "maybe"}).status_code == 400


def test_retrying_ignoring_and_unignoring_failing_records(operator, project):
    run = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED), ("Contacts", FAILED)])
    first, second = run.records.order_by("source_key")

    retry = operator.post("/api/failing-records/retry/", {"like": first.pk}, format="json")
    assert retry.status_code == 202
    assert SyncRun.objects.get(pk=retry.json()["id"]).records.count() == 2
    assert operator.post("/api/failing-records/retry/", {}, format="json").status_code == 400

    ignored = operator.post("/api/failing-records/ignore/", {"ids": [first.pk], "reason": "test data"},
                            format="json")
    assert ignored.json() == {"count": 1}
    assert IgnoredFailure.objects.get().reason == "test data"
    listed = operator.get(f"/api/projects/{project.name}/failing-records/", {"ignored": "true"}).json()["results"]
    assert [(r["source_key"], r["ignored"]["reason"]) for r in listed] == [("K0000", "test data")]
    assert operator.post("/api/failing-records/unignore/", {"ids": [first.pk]}, format="json").json() == {"count": 1}
    assert second.pk


def test_a_dry_run_is_started_like_a_run_and_read_back(operator, project):
    response = operator.post(f"/api/projects/{project.name}/runs/", {"dry_run": True, "mode": "full",
                                                                     "entity_maps": ["Accounts"]}, format="json")
    assert response.status_code == 202
    dry_run = DryRun.objects.get()
    assert response["Location"] == f"http://testserver/api/dry-runs/{dry_run.pk}/"
    body = operator.get(f"/api/dry-runs/{dry_run.pk}/").json()
    assert (body["status"], body["full"], body["entity_maps"], body["trigger"]) == ("queued", True, ["Accounts"],
                                                                                   "api")
    assert operator.get(f"/api/dry-runs/{dry_run.pk}/records/").json()["results"] == []
    assert not SyncRun.objects.exists()  # a dry run is not a run


def test_a_paused_project_may_still_be_dry_run(operator):
    project = factories.project(paused=True)
    assert operator.post(f"/api/projects/{project.name}/runs/", {"dry_run": True}, format="json").status_code == 202


def test_a_run_carries_the_exit_code_the_commands_give(reader, project):
    warning = factories.run(project, status=RunStatus.WARNING, records=[("Contacts", FAILED)])
    running = factories.run(project, status=RunStatus.RUNNING, records=[("Accounts", SUCCEEDED)])
    assert reader.get(f"/api/runs/{warning.pk}/").json()["exit_code"] == 1
    assert reader.get(f"/api/runs/{running.pk}/").json()["exit_code"] is None
