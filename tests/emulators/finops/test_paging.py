"""Server-driven paging: at most 10,000 rows a page, `$skip` nextLinks that keep every other option."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit


def _query(link: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(link).query)


def test_large_set_pages_by_10000_with_skip_links_that_keep_cross_company(fo):
    fo.handle.seed(CustomersV3=25_001)
    first = fo.get("CustomersV3?cross-company=true&$select=dataAreaId,CustomerAccount").json()
    assert len(first["value"]) == 10_000
    assert first["@odata.nextLink"].startswith(f"{fo.api}CustomersV3?cross-company=true"
                                               "&$select=dataAreaId,CustomerAccount&$skip=10000&emulator-cursor=")
    rows = fo.all_pages("CustomersV3?cross-company=true&$select=dataAreaId,CustomerAccount")
    keys = [(row["dataAreaId"], row["CustomerAccount"]) for row in rows]
    assert len(keys) == 25_001
    assert len(set(keys)) == 25_001
    assert keys == sorted(keys, key=lambda key: (key[0], key[1].casefold()))  # key order


def test_without_cross_company_only_the_default_company_pages(fo):
    fo.handle.seed(CustomersV3=30)
    rows = fo.all_pages("CustomersV3?$select=dataAreaId", Prefer="odata.maxpagesize=4")
    assert len(rows) == 15
    assert {row["dataAreaId"] for row in rows} == {"usmf"}


def test_maxpagesize_below_10000_is_honoured_and_echoed(fo):
    fo.handle.seed(CustomersV3=10)
    response = fo.get("CustomersV3?cross-company=true&$filter=CustomerGroupId ne '99'", Prefer="odata.maxpagesize=3")
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=3"
    body = response.json()
    assert len(body["value"]) == 3
    assert _query(body["@odata.nextLink"])[:3] == [("cross-company", "true"),
                                                   ("$filter", "CustomerGroupId ne '99'"), ("$skip", "3")]
    big = fo.get("CustomersV3", Prefer="odata.maxpagesize=50000")
    assert "Preference-Applied" not in big.headers


def test_top_larger_than_a_page_carries_the_remainder_in_the_link(fo):
    fo.handle.seed(CustomersV3=40)
    pages, url = [], "CustomersV3?$top=12&cross-company=true&$count=true"
    while url:
        body = fo.get(url, Prefer="odata.maxpagesize=5").json()
        assert body["@odata.count"] == 40
        pages.append(len(body["value"]))
        url = body.get("@odata.nextLink")
        if url:
            assert dict(_query(url))["cross-company"] == "true"
    assert pages == [5, 5, 2]
    second = fo.get("CustomersV3?$top=12&cross-company=true&$count=true", Prefer="odata.maxpagesize=5").json()
    assert _query(second["@odata.nextLink"])[2:4] == [("$skip", "5"), ("$top", "7")]


def test_orderby_pages_in_its_own_order(fo):
    fo.handle.seed(CustomersV3=12)
    rows = fo.all_pages("CustomersV3?cross-company=true&$orderby=OrganizationName desc,CustomerAccount"
                        "&$select=OrganizationName,CustomerAccount", Prefer="odata.maxpagesize=5")
    names = [(row["OrganizationName"].casefold(), row["CustomerAccount"]) for row in rows]
    assert len(names) == 12
    assert [name for name, _ in names] == sorted((name for name, _ in names), reverse=True)


def test_a_skip_url_built_by_the_client_is_positional(fo):
    for n in range(10, 20):
        fo.customer(f"C-{n}")
    link = fo.get("CustomersV3?$select=CustomerAccount", Prefer="odata.maxpagesize=5").json()["@odata.nextLink"]
    assert urlsplit(link).query.split("&")[:2] == ["$select=CustomerAccount", "$skip=5"]
    fo.customer("C-00")  # sorts first, so every later position moves by one
    by_skip = fo.get("CustomersV3?$select=CustomerAccount&$skip=5", Prefer="odata.maxpagesize=5").json()
    assert [row["CustomerAccount"] for row in by_skip["value"]] == ["C-14", "C-15", "C-16", "C-17", "C-18"]


def test_a_row_created_behind_the_reader_is_not_returned_twice(fo):
    for n in range(10, 20):
        fo.customer(f"C-{n}")
    first = fo.get("CustomersV3?$select=CustomerAccount", Prefer="odata.maxpagesize=5").json()
    fo.customer("C-00")  # sorts before every row already read
    second = fo.get(first["@odata.nextLink"], Prefer="odata.maxpagesize=5").json()
    seen = [row["CustomerAccount"] for row in first["value"] + second["value"]]
    assert seen == [f"C-{n}" for n in range(10, 20)]


def test_orderby_links_also_continue_after_the_last_row_served(fo):
    for n, name in enumerate("acegikmoqs"):
        fo.customer(f"C-{n}", OrganizationName=name)
    first = fo.get("CustomersV3?$orderby=OrganizationName&$select=OrganizationName",
                   Prefer="odata.maxpagesize=4").json()
    fo.customer("C-X", OrganizationName="b")  # sorts into the page already read
    rest = fo.all_pages(first["@odata.nextLink"], Prefer="odata.maxpagesize=4")
    names = [row["OrganizationName"] for row in first["value"] + rest]
    assert names == list("acegikmoqs")
