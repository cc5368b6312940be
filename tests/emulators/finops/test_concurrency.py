"""Many clients at once: writers creating and updating while readers page, through real HTTPS connections."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

WRITERS, READERS, CREATES = 8, 4, 40


def test_concurrent_writes_and_paging_lose_no_write_and_repeat_no_row(fo):
    fo.handle.seed(CustomersV3=3000)
    headers = fo.headers()
    seeded = {(row["dataAreaId"], row["CustomerAccount"])
              for row in fo.all_pages("CustomersV3?cross-company=true&$select=dataAreaId,CustomerAccount")}

    def write(writer: int) -> list[tuple[str, str]]:
        session = fo.handle.new_session()
        written = []
        for n in range(CREATES):
            company = ("usmf", "demf")[n % 2]
            account = f"W{writer}-{n:03d}"
            created = session.post(f"{fo.api}CustomersV3", headers=headers, timeout=60, json={
                "dataAreaId": company, "CustomerAccount": account, "OrganizationName": account,
                "CustomerGroupId": "20"})
            assert created.status_code == 201, created.text
            url = f"{fo.api}CustomersV3(dataAreaId='{company}',CustomerAccount='{account}')?cross-company=true"
            updated = session.patch(url, headers={**headers, "If-Match": created.json()["@odata.etag"]},
                                    json={"CreditLimit": writer * 1000 + n}, timeout=60)
            assert updated.status_code == 204, updated.text
            written.append((company, account))
        return written

    def read(reader: int) -> list[list[tuple[str, str]]]:
        session = fo.handle.new_session()
        passes = []
        for _ in range(2):
            keys, url = [], f"{fo.api}CustomersV3?cross-company=true&$select=dataAreaId,CustomerAccount"
            while url:
                page = session.get(url, headers={**headers, "Prefer": "odata.maxpagesize=250"}, timeout=60)
                assert page.status_code == 200, page.text
                body = page.json()
                keys += [(row["dataAreaId"], row["CustomerAccount"]) for row in body["value"]]
                url = body.get("@odata.nextLink")
            passes.append(keys)
        return passes

    with ThreadPoolExecutor(WRITERS + READERS) as pool:
        writers = [pool.submit(write, n) for n in range(WRITERS)]
        readers = [pool.submit(read, n) for n in range(READERS)]
        written = [key for future in writers for key in future.result()]
        passes = [keys for future in readers for keys in future.result()]

    for keys in passes:
        assert len(keys) == len(set(keys)), "a row came back twice in one pass"
        assert seeded <= set(keys), "a row that existed all along was skipped"
    final = fo.all_pages("CustomersV3?cross-company=true&$select=dataAreaId,CustomerAccount,CreditLimit")
    assert len(final) == len(seeded) + WRITERS * CREATES
    limits = {(row["dataAreaId"], row["CustomerAccount"]): row["CreditLimit"] for row in final}
    for company, account in written:
        writer, n = account[1:].split("-")
        assert limits[company, account] == int(writer) * 1000 + int(n)
