"""A run's records through the API: filtered and paginated, one record, and retry by ids."""

from __future__ import annotations

import pytest

from integration.models import RecordStatus, RunStatus, SyncRun
from tests.support import factories

pytestmark = pytest.mark.django_db
FAILED, SUCCEEDED = RecordStatus.FAILED, RecordStatus.SUCCEEDED


@pytest.fixture
def run(project):
    return factories.run(project, status=RunStatus.WARNING, records=[
        ("Accounts", SUCCEEDED), ("Accounts", FAILED), ("Contacts", SUCCEEDED), ("Contacts", FAILED)])


def keys(response) -> list[str]:
    return [record["source_key"] for record in response.json()["results"]]


def test_a_runs_records_are_filtered_by_status_and_entity_map(reader, run):
    url = f"/api/runs/{run.pk}/records/"
    assert keys(reader.get(url)) == ["K0000", "K0001", "K0002", "K0003"]
    assert keys(reader.get(url, {"status": "failed"})) == ["K0001", "K0003"]
    assert keys(reader.get(url, {"entity_map": "Contacts"})) == ["K0002", "K0003"]
    assert keys(reader.get(url, {"status": "failed", "entity_map": "Accounts"})) == ["K0001"]
    assert keys(reader.get(url, {"entity_map": "Nothing"})) == []


def test_a_record_carries_its_snapshot_payload_error_and_attempts(reader, run):
    failed = reader.get(f"/api/runs/{run.pk}/records/", {"status": "failed"}).json()["results"][0]
    assert failed["entity_map"] == "Accounts"
    assert failed["snapshot"] == {"number": "K0001", "name": "Record 1"}
    assert (failed["error_type"], failed["error_field"], failed["attempts"]) == ("mapping", "Country", 1)
    assert "no value map entry for 'Atlantis'" in failed["error_message"]
    one = reader.get(f"/api/records/{failed['id']}/").json()
    assert one == failed


def test_records_are_paginated(reader, run):
    page = reader.get(f"/api/runs/{run.pk}/records/", {"page_size": 3}).json()
    assert (page["count"], len(page["results"])) == (4, 3)
    assert keys(reader.get(f"/api/runs/{run.pk}/records/", {"page_size": 3, "page": 2})) == ["K0003"]


def test_a_bad_status_filter_is_400(reader, run):
    response = reader.get(f"/api/runs/{run.pk}/records/", {"status": "lost"})
    assert response.status_code == 400
    assert response.json() == {"status": ['"lost" is not a valid choice.']}


def test_an_unknown_record_is_404(reader):
    assert reader.get("/api/records/999999/").status_code == 404


def test_retrying_records_by_id_retries_the_failed_ones(operator, run):
    ids = list(run.records.values_list("pk", flat=True))
    response = operator.post("/api/records/retry/", {"ids": ids}, format="json")
    assert response.status_code == 202
    retry = SyncRun.objects.get(pk=response.json()["id"])
    assert sorted(retry.records.values_list("retry_of_id", flat=True)) == sorted(
        run.records.filter(status=FAILED).values_list("pk", flat=True))
    assert all(record.refresh for record in retry.records.all())


def test_retrying_records_none_of_which_failed_is_409(operator, run):
    ids = list(run.records.filter(status=SUCCEEDED).values_list("pk", flat=True))
    response = operator.post("/api/records/retry/", {"ids": ids}, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize(("body", "message"), [
    ({}, "This field is required."),
    ({"ids": []}, "This list may not be empty."),
    ({"ids": ["one"]}, "A valid integer is required."),
    ({"ids": [0]}, "Ensure this value is greater than or equal to 1."),
    ({"ids": [999999]}, "no records with ids [999999]"),
])
def test_bad_retry_input_is_400_with_field_messages(operator, run, body, message):
    response = operator.post("/api/records/retry/", body, format="json")
    assert response.status_code == 400
    assert message in str(response.json()["ids"])
    assert not SyncRun.objects.filter(mode=SyncRun.Mode.RETRY).exists()
