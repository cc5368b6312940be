"""Server-driven paging: `Prefer: odata.maxpagesize`, opaque `$skiptoken` nextLinks replayed unchanged, `$top`."""

from __future__ import annotations

from urllib.parse import unquote

from tests.emulators.dataverse.client import error_of


def test_maxpagesize_is_echoed_and_next_link_carries_a_paging_cookie(dv):
    dv.handle.seed(accounts=5)
    response = dv.get("accounts?$select=name", Prefer="odata.maxpagesize=2")
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=2"
    body = response.json()
    assert len(body["value"]) == 2
    link = body["@odata.nextLink"]
    assert link.startswith(f"{dv.api}accounts?$select=name&$skiptoken=%3Ccookie%20pagenumber%3D%222%22")
    cookie = unquote(link.partition("$skiptoken=")[2])
    assert 'istracking="False"' in cookie
    assert f"{body['value'][1]['accountid'].upper()}" in unquote(cookie)


def test_following_next_links_returns_every_row_once_and_ends_without_link(dv):
    dv.handle.seed(accounts=23)
    pages = dv.all_pages("accounts?$select=accountnumber", Prefer="odata.maxpagesize=5")
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    ids = [row["accountid"] for page in pages for row in page]
    assert len(ids) == len(set(ids)) == 23


def test_paging_with_orderby_and_filter_keeps_the_order_across_pages(dv):
    dv.handle.seed(accounts=40)
    expected = [row["name"] for row in dv.get("accounts?$select=name&$filter=creditlimit gt 20000"
                                              "&$orderby=name,creditlimit desc").json()["value"]]
    pages = dv.all_pages("accounts?$select=name&$filter=creditlimit gt 20000&$orderby=name,creditlimit desc",
                         Prefer="odata.maxpagesize=4")
    assert [row["name"] for page in pages for row in page] == expected
    assert len(pages) > 2


def test_top_without_maxpagesize_limits_and_gives_no_next_link(dv):
    dv.handle.seed(accounts=10)
    body = dv.get("accounts?$select=name&$top=3").json()
    assert len(body["value"]) == 3
    assert "@odata.nextLink" not in body


def test_top_is_ignored_when_maxpagesize_is_sent(dv):
    dv.handle.seed(accounts=10)
    pages = dv.all_pages("accounts?$select=name&$top=3", Prefer="odata.maxpagesize=4")
    assert [len(page) for page in pages] == [4, 4, 2]


def test_default_page_size_is_5000(dv):
    dv.handle.seed(accounts=5001)
    body = dv.get("accounts?$select=name").json()
    assert len(body["value"]) == 5000
    assert "@odata.nextLink" in body
    assert len(dv.get(body["@odata.nextLink"]).json()["value"]) == 1


def test_a_maxpagesize_above_5000_is_capped(dv):
    dv.handle.seed(accounts=3)
    response = dv.get("accounts?$select=name", Prefer="odata.maxpagesize=20000")
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=5000"


def test_tampered_or_re_encoded_skiptoken_is_400(dv):
    dv.handle.seed(accounts=5)
    link = dv.get("accounts?$select=name", Prefer="odata.maxpagesize=2").json()["@odata.nextLink"]
    base, _, token = link.partition("$skiptoken=")
    for bad in (token.replace("pagenumber%3D%222%22", "pagenumber%3D%22x%22"), token[:-12],
                token.replace("%", "%25")):
        response = dv.get(f"{base}$skiptoken={bad}", Prefer="odata.maxpagesize=2")
        assert response.status_code == 400, bad
        assert error_of(response)["code"] == "0x80060888"


def test_rows_inserted_while_paging_never_repeat_a_row(dv):
    dv.handle.seed(accounts=30)
    seen: list[str] = []
    url = "accounts?$select=name"
    while url:
        body = dv.get(url, Prefer="odata.maxpagesize=7").json()
        seen += [row["accountid"] for row in body["value"]]
        for n in range(3):
            dv.post("accounts", {"name": f"inserted {len(seen)}-{n}"})
        url = body.get("@odata.nextLink")
    assert len(seen) == len(set(seen))
    assert len(seen) >= 30
