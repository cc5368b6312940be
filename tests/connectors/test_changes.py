"""Change feeds: delta links with updates and deletes, an expired delta token, watermark ties, full scans."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

import pytest

from connectors import ChangeTrackingExpiredError, DataverseClient, FinOpsClient

SELECT = ["name", "accountnumber"]


def all_changes(read):
    return [change for page in read for change in page]


def test_delta_link_reports_creates_updates_and_deletes_then_nothing(dataverse, dv):
    dataverse.seed(accounts=40)
    first = dv.delta_changes("accounts", select=SELECT)
    initial = all_changes(first)
    assert len(initial) >= 40
    assert not any(change.deleted for change in initial)
    assert "$deltatoken=" in first.cursor

    updated, deleted = initial[0], initial[1]
    dv.upsert("accounts", updated.key["accountid"], {"name": "Renamed"}, mode="update")
    dv.delete("accounts", deleted.key["accountid"])
    created = dv.upsert("accounts", {"accountnumber": "DELTA-NEW"}, {"name": "New one"}, mode="create")

    second = dv.delta_changes("accounts", select=SELECT, cursor=first.cursor)
    changes = {change.key["accountid"]: change for change in all_changes(second)}
    assert set(changes) == {updated.key["accountid"], deleted.key["accountid"], created.key["accountid"]}
    assert changes[updated.key["accountid"]].row["name"] == "Renamed"
    assert changes[created.key["accountid"]].row["accountnumber"] == "DELTA-NEW"
    tombstone = changes[deleted.key["accountid"]]
    assert tombstone.deleted
    assert tombstone.row is None
    assert second.cursor != first.cursor

    third = dv.delta_changes("accounts", select=SELECT, cursor=second.cursor)
    assert all_changes(third) == []
    assert third.cursor


def test_a_large_delta_pages_through_next_links_and_ends_with_the_delta_link(dataverse, dv_config):
    dataverse.seed(accounts=30)
    client = DataverseClient(dv_config(page_size=7))
    first = client.delta_changes("accounts", select=SELECT)
    keys = [change.key["accountid"] for change in all_changes(first)]
    for account_id in keys[:25]:
        client.upsert("accounts", account_id, {"name": "bulk edit"}, mode="update")
    pages = list(client.delta_changes("accounts", select=SELECT, cursor=first.cursor))
    assert len(pages) >= 4
    assert sorted(change.key["accountid"] for page in pages for change in page) == sorted(keys[:25])


def test_an_expired_delta_token_asks_for_a_full_read(dataverse, dv):
    dataverse.seed(accounts=3)
    read = dv.delta_changes("accounts", select=SELECT)
    all_changes(read)
    link, _, token = read.cursor.partition("$deltatoken=")
    version, _, _ = unquote(token).partition("!")
    eight_days_ago = (datetime.now(UTC) - timedelta(days=8)).strftime("%m/%d/%Y %H:%M:%S")
    stale = f"{link}$deltatoken={quote(f'{version}!{eight_days_ago}', safe='')}"
    with pytest.raises(ChangeTrackingExpiredError) as caught:
        all_changes(dv.delta_changes("accounts", select=SELECT, cursor=stale))
    assert "expired" in caught.value.message


def test_a_change_read_gives_its_cursor_only_when_read_to_the_end(dataverse, dv):
    read = dv.delta_changes("accounts", select=SELECT)
    with pytest.raises(RuntimeError, match="every page"):
        _ = read.cursor
    all_changes(read)
    with pytest.raises(RuntimeError, match="once"):
        all_changes(read)


def _start_of_a_second() -> None:
    time.sleep(1.05 - time.time() % 1)


def test_watermark_ties_on_the_boundary_second_come_again_and_nothing_is_missed(dataverse, dv):
    for _ in range(3):  # the two writes must share a second; try again if the clock ticked in between
        first_run = dv.watermark_changes("accounts", select=SELECT)
        all_changes(first_run)
        _start_of_a_second()
        a = dv.upsert("accounts", {"accountnumber": "TIE-A"}, {"name": "written before the read"})
        run = dv.watermark_changes("accounts", select=SELECT, cursor=first_run.cursor)
        seen_by_run = {change.key["accountid"] for change in all_changes(run)}
        b = dv.upsert("accounts", {"accountnumber": "TIE-B"}, {"name": "written after the read"})
        stamps = {dv.get("accounts", w.key["accountid"], select=["modifiedon"])["modifiedon"] for w in (a, b)}
        if len(stamps) == 1:
            break
        dataverse.reset()
    assert len(stamps) == 1, "could not write two rows in one second"
    next_run = dv.watermark_changes("accounts", select=SELECT, cursor=run.cursor)
    seen_next = {change.key["accountid"] for change in all_changes(next_run)}
    assert b.key["accountid"] in seen_next  # the row written after the read, in the same second, is not lost
    assert a.key["accountid"] in seen_by_run | seen_next
    assert run.cursor <= next(iter(stamps))  # the cursor never moves to the newest timestamp seen


def test_watermark_read_never_returns_a_row_twice_even_when_it_changes_during_the_read(dataverse, dv_config):
    dataverse.seed(accounts=40)
    client = DataverseClient(dv_config(page_size=5))
    read = client.watermark_changes("accounts", select=SELECT)
    seen = []
    for number, page in enumerate(read):
        seen += [change.key["accountid"] for change in page]
        if number == 0:  # edit a row already read: its new version sorts last, on a later page
            client.upsert("accounts", page[0].key["accountid"], {"name": "edited mid-read"}, mode="update")
            edited = page[0].key["accountid"]
    assert len(seen) == len(set(seen))
    later = {change.key["accountid"]: change.row for change in all_changes(
        client.watermark_changes("accounts", select=SELECT, cursor=read.cursor))}
    assert later[edited]["name"] == "edited mid-read"


def test_watermark_finds_what_changed_since_the_last_read(dataverse, dv):
    dataverse.seed(accounts=20)
    first = dv.watermark_changes("accounts", select=SELECT)
    everything = all_changes(first)
    assert len(everything) >= 20
    time.sleep(1.1)
    dv.upsert("accounts", everything[5].key["accountid"], {"name": "changed later"}, mode="update")
    time.sleep(1.1)
    later = {change.key["accountid"]: change.row for change in all_changes(
        dv.watermark_changes("accounts", select=SELECT, cursor=first.cursor))}
    assert later[everything[5].key["accountid"]]["name"] == "changed later"
    assert len(later) < len(everything)  # the cursor moved on: only the overlap and the change come back


def test_finops_full_scan_yields_every_row_with_its_company_key(finops, fo):
    finops.seed(CustomersV3=50)
    read = fo.company_scan("CustomersV3", key_fields=("dataAreaId", "CustomerAccount"),
                           select=["dataAreaId", "CustomerAccount", "OrganizationName"])
    changes = all_changes(read)
    assert len(changes) >= 50
    assert all(set(change.key) == {"dataAreaId", "CustomerAccount"} for change in changes)
    assert read.cursor is None


def test_full_scan_of_dataverse_too(dataverse, dv):
    dataverse.seed(accounts=10)
    assert len(all_changes(dv.full_scan("accounts", key_fields=("accountid",), select=SELECT))) >= 10


def test_finops_full_scan_reads_all_pages(finops, fo_config):
    finops.seed(CustomersV3=120)
    client = FinOpsClient(fo_config(page_size=25))
    pages = list(client.full_scan("CustomersV3", key_fields=("dataAreaId", "CustomerAccount")))
    assert len(pages) >= 5
