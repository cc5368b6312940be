"""Change tracking: the initial read with a delta link, deltas with tombstones, rejected options, token expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

import pytest

from tests.emulators.dataverse.client import error_of

TRACK = {"Prefer": "odata.track-changes"}


def _delta_token(link: str) -> str:
    return unquote(link.partition("$deltatoken=")[2])


def test_initial_read_returns_all_rows_and_a_delta_link(dv):
    dv.handle.seed(accounts=3)
    response = dv.get("accounts?$select=name,accountnumber", **TRACK)
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "odata.track-changes"
    body = response.json()
    assert len(body["value"]) == 3
    link = body["@odata.deltaLink"]
    assert link.startswith(f"{dv.api}accounts?$select=name,accountnumber&$deltatoken=")
    assert re.fullmatch(r"\d+!\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", _delta_token(link))
    assert "%21" in link
    assert "%2f" in link


def test_delta_returns_changes_then_tombstones_and_a_new_link(dv):
    first = dv.create("accounts", {"name": "Stays"})
    doomed = dv.create("accounts", {"name": "Doomed"})
    link = dv.get("accounts?$select=name", **TRACK).json()["@odata.deltaLink"]
    dv.patch(f"accounts({first['accountid']})", {"name": "Stays, renamed"})
    dv.delete(f"accounts({doomed['accountid']})")
    added = dv.create("accounts", {"name": "New"})
    delta = dv.get(link).json()
    assert delta["@odata.context"] == f"{dv.api}$metadata#accounts(name)/$delta"
    assert [row.get("name") for row in delta["value"]] == ["Stays, renamed", "New", None]
    assert delta["value"][1]["accountid"] == added["accountid"]
    assert delta["value"][2] == {"@odata.context": f"{dv.api}$metadata#accounts/$deletedEntity",
                                 "id": doomed["accountid"], "reason": "deleted"}
    assert delta["@odata.deltaLink"] != link
    assert dv.get(delta["@odata.deltaLink"]).json()["value"] == []


def test_a_record_created_and_deleted_between_polls_comes_as_deleted(dv):
    link = dv.get("accounts?$select=name", **TRACK).json()["@odata.deltaLink"]
    brief = dv.create("accounts", {"name": "Brief"})
    dv.delete(f"accounts({brief['accountid']})")
    assert [row.get("reason") for row in dv.get(link).json()["value"]] == ["deleted"]


def test_large_initial_read_pages_and_the_delta_link_comes_on_the_last_page(dv):
    dv.handle.seed(accounts=11)
    first = dv.get("accounts?$select=name", Prefer="odata.track-changes,odata.maxpagesize=5")
    assert first.headers["Preference-Applied"] == "odata.track-changes,odata.maxpagesize=5"
    body = first.json()
    assert "@odata.deltaLink" not in body
    assert 'istracking="True"' in unquote(unquote(body["@odata.nextLink"]))
    changed_while_paging = body["value"][0]
    dv.patch(f"accounts({changed_while_paging['accountid']})", {"name": "Changed while paging"})
    rows = list(body["value"])
    while "@odata.nextLink" in body:
        body = dv.get(body["@odata.nextLink"], Prefer="odata.track-changes,odata.maxpagesize=5").json()
        rows += body["value"]
    assert len({row["accountid"] for row in rows}) == 11
    delta = dv.get(body["@odata.deltaLink"]).json()["value"]
    assert [row["name"] for row in delta] == ["Changed while paging"]


def test_large_deltas_page_too(dv):
    link = dv.get("accounts?$select=name", **TRACK).json()["@odata.deltaLink"]
    dv.handle.seed(accounts=7)
    pages = dv.all_pages(link, Prefer="odata.maxpagesize=3")
    assert [len(page) for page in pages] == [3, 3, 1]


@pytest.mark.parametrize("option", ["$filter=name eq 'x'", "$orderby=name", "$top=2", "$expand=primarycontactid"])
def test_filter_orderby_top_expand_are_rejected_with_tracking(dv, option):
    response = dv.get(f"accounts?$select=name&{option}", **TRACK)
    assert response.status_code == 400
    name = option.partition("=")[0]
    assert error_of(response)["message"] == f'The "{name}" query parameter isn\'t supported when Change Tracking is ' \
                                            "enabled."


def test_a_token_older_than_seven_days_has_expired(dv):
    link = dv.get("accounts?$select=name", **TRACK).json()["@odata.deltaLink"]
    version = _delta_token(link).partition("!")[0]
    old = (datetime.now(UTC) - timedelta(days=8)).strftime("%m/%d/%Y %H:%M:%S")
    response = dv.get(f"accounts?$select=name&$deltatoken={quote(f'{version}!{old}', safe='')}")
    assert response.status_code == 400
    assert error_of(response) == {"code": "0x80044352", "message": "Version stamp associated with the client has "
                                                                   "expired. Please perform a full sync."}


@pytest.mark.parametrize("token", ["999999999!01/01/2025 00:00:00", "abc", "1001!13/45/2025 00:00:00",
                                   f"1001!{(datetime.now(UTC) + timedelta(days=2)).strftime('%m/%d/%Y %H:%M:%S')}"])
def test_a_malformed_or_future_token_is_400(dv, token):
    response = dv.get(f"accounts?$deltatoken={quote(token, safe='')}")
    assert response.status_code == 400
    assert error_of(response)["code"] == "0x80060888"


def test_count_of_changes(dv):
    link = dv.get("accounts?$select=name", **TRACK).json()["@odata.deltaLink"]
    dv.handle.seed(accounts=4)
    token = link.partition("$deltatoken=")[2]
    assert dv.get(f"accounts/$count?$deltatoken={token}").text == "4"
