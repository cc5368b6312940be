"""A dry run against the demo's emulators, after the demo's incremental changes, reports exactly the changed records
with the fields that would change, writes nothing to either emulator and moves no change cursor; the run that
follows writes exactly what it predicted."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integration.demo import scenario
from integration.models import ChangeCursor, DryRun, KeyLink, RecordSync, RunStatus, SyncRun
from integration.services import dry_runs
from tests.support import factories
from tests.support.projects import prospect_to_cash_project, run_and_wait

pytestmark = pytest.mark.django_db(transaction=True)
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def writes(handle) -> int:
    """Every write the emulator answered: requests other than reads, on any entity set ($batch included)."""
    stats = handle.stats()
    return sum(count for methods in stats["requests_by_entity_set"].values()
               for method, count in methods.items() if method in WRITES)


@pytest.fixture
def demo_after_changes(dataverse, finops, celery_worker):
    """The demo's story up to its incremental changes: seeded, bad records planted, a full run, then the edits."""
    sales, fno = scenario.EmulatorClient(dataverse.emulator), scenario.EmulatorClient(finops.emulator)
    scenario.seed(sales, fno, accounts=40, contacts=40, products=12, quotes=8)
    story = scenario.Story(bad=scenario.plant_bad_records(sales, fno))
    project = prospect_to_cash_project(dataverse, finops)
    full = run_and_wait(project, mode=SyncRun.Mode.FULL, timeout=240)
    assert full.status == RunStatus.WARNING  # the planted bad records
    story.changed = scenario.make_changes(sales, fno, story)
    return project, story


def test_a_dry_run_reports_exactly_the_changed_records_and_writes_nothing(demo_after_changes, dataverse, finops):
    project, story = demo_after_changes
    written_before = (writes(dataverse), writes(finops))
    cursors = dict(ChangeCursor.objects.values_list("entity_map__name", "value"))
    rows, links = RecordSync.objects.count(), list(KeyLink.objects.values_list("pk", "payload_hash"))

    dry = dry_runs.dry_run_start(project=project, trigger="command", queue=False)
    dry = dry_runs.dry_run_execute(dry_run_id=dry.pk)

    assert dry.status == DryRun.Status.SUCCEEDED, dry.message
    assert (writes(dataverse), writes(finops)) == written_before
    assert dict(ChangeCursor.objects.values_list("entity_map__name", "value")) == cursors
    assert (RecordSync.objects.count(), list(KeyLink.objects.values_list("pk", "payload_hash"))) == (rows, links)
    report = dry_runs.dry_run_report(dry_run=dry)
    updates = {name: {r.source_key for r in records if r.outcome == "update"} for name, records in report.items()}
    assert {name: keys for name, keys in updates.items() if keys} == story.changed
    others = [(r.entity_map.name, r.source_key, r.outcome) for records in report.values() for r in records
              if r.outcome != "update"]
    assert others == []  # nothing created, and the bad records, unchanged, are left alone
    for records in report.values():
        for record in records:
            assert record.differences, (record.source_key, "an update names what changes")
    fields = {name: {d["field"] for r in records for d in r.differences} for name, records in report.items()
              if records}
    assert fields == {"Accounts": {"PrimaryContactPhone"}, "Contacts": {"EmploymentProfession"},
                      "Products": {"price"},
                      "Quote lines": {"RequestedSalesQuantity", "LineDiscountAmount", "FixedPriceCharges"}}
    job = report["Contacts"][0].differences[0]
    assert job["sends"] == "Head of Purchasing" != job["holds"]
    line = {d["field"]: d["sends"] for d in report["Quote lines"][0].differences}
    assert (line["RequestedSalesQuantity"], line["LineDiscountAmount"], line["FixedPriceCharges"]) == (3, 3.33, -0.01)
    summary = {row["entity_map"]: row for row in dry.summary}
    assert summary["Accounts"]["update"] == 3
    assert summary["Quotes"]["unchanged"] == 1

    # The same through the API: the dry run's records, filtered, and one of them previewed on its own.
    api = APIClient()
    api.force_authenticate(factories.user("script", staff=False, perms=factories.ALL))
    listed = api.get(f"/api/dry-runs/{dry.pk}/records/", {"outcome": "update", "entity_map": "Contacts"}).json()
    assert {row["source_key"] for row in listed["results"]} == story.changed["Contacts"]
    assert all(row["differences"] == [d for d in row["differences"] if d["field"] == "EmploymentProfession"]
               and row["differences"] for row in listed["results"])
    key = sorted(story.changed["Contacts"])[0]
    preview = api.get(f"/api/projects/{project.name}/entity-maps/Contacts/preview/", {"key": key}).json()
    assert (preview["source_key"], preview["outcome"]) == (key, "update")
    [difference] = preview["differences"]
    assert (difference["field"], difference["sends"]) == ("EmploymentProfession", "Head of Purchasing")
    assert difference["holds"] != "Head of Purchasing"
    assert (writes(dataverse), writes(finops)) == written_before  # neither wrote anything

    run = run_and_wait(project, timeout=180)

    written = {}
    for name, key in run.records.filter(outcome__in=["created", "updated"]).values_list("entity_map__name",
                                                                                         "source_key"):
        written.setdefault(name, set()).add(key)
    assert written == story.changed  # the run did what the dry run said it would
