"""Claiming records, on the real database: only what no one holds is taken, each claim counts one attempt, and the
rows come back as claimed, read by the claiming statement itself where the database can return rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.heartbeat import process_name
from integration.models import RecordStatus, RecordSync, RunStatus
from integration.services.claims import claim
from tests.support import factories

pytestmark = pytest.mark.django_db
PENDING, WAITING, RUNNING = RecordStatus.PENDING, RecordStatus.WAITING, RecordStatus.RUNNING


@pytest.fixture
def rows():
    """By name: pending; waiting and due; waiting, due in a minute; running under a live lease; running under a
    lease that is over."""
    run = factories.run(factories.project(), status=RunStatus.RUNNING, records=[("Accounts", PENDING)] * 5)
    records = list(run.records.order_by("id"))
    now = timezone.now()
    lease_over = now - timedelta(seconds=settings.P2C_RECORD_LEASE_SECONDS + 5)
    changes = [{}, {"status": WAITING, "next_attempt_at": now}, {"status": WAITING,
                                                                 "next_attempt_at": now + timedelta(minutes=1)},
               {"status": RUNNING, "claimed_at": now}, {"status": RUNNING, "claimed_at": lease_over}]
    for record, change in zip(records, changes, strict=True):
        RecordSync.objects.filter(pk=record.pk).update(**change)
    return dict(zip(("pending", "due", "later", "held", "abandoned"), (r.pk for r in records), strict=True))


@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "update-then-select"])
def test_a_claim_takes_only_what_no_one_holds_and_hands_the_rows_back_as_claimed(rows, returning, monkeypatch):
    if not returning:  # as on an SQLite older than 3.35
        monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)

    with CaptureQueriesContext(connection) as queries:
        claimed = claim(list(rows.values()))

    assert sorted(record.pk for record in claimed) == sorted([rows["pending"], rows["due"]])
    assert all((r.status, r.attempts, r.claimed_by) == (RUNNING, 2, process_name()) for r in claimed)
    assert all("payload" in r.get_deferred_fields() for r in claimed)  # written by the sync, never read by it
    if returning:
        statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]  # the test's own transaction
        assert len(statements) == 1, statements
    stored = dict(RecordSync.objects.filter(pk__in=rows.values()).values_list("pk", "attempts"))
    assert stored == {rows["pending"]: 2, rows["due"]: 2, rows["later"]: 1, rows["held"]: 1, rows["abandoned"]: 1}

    assert claim(list(rows.values())) == []  # a second claim finds nothing left to take


def test_a_lease_that_is_over_is_taken_only_when_asked(rows):
    assert claim([rows["abandoned"], rows["held"]]) == []

    (taken,) = claim([rows["abandoned"], rows["held"]], take_expired_leases=True)

    assert (taken.pk, taken.status, taken.attempts) == (rows["abandoned"], RUNNING, 2)
    assert taken.claimed_at > timezone.now() - timedelta(seconds=5)
