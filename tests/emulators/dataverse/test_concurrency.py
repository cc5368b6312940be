"""Many clients at once: writers and pagers in parallel threads; no write is lost and no page repeats a row."""

from __future__ import annotations

import threading

WRITERS, WRITES_EACH, PAGERS = 8, 40, 4


def test_parallel_writes_and_paging_lose_nothing_and_never_repeat_a_row(dv):
    dv.handle.seed(accounts=1500)
    headers = dv.headers()
    failures: list[str] = []
    passes: list[int] = []
    writing = threading.Event()
    writing.set()

    def writer(number: int) -> None:
        session = dv.handle.new_session()
        for n in range(WRITES_EACH):
            name = f"writer-{number}-{n}"
            if n % 2:
                response = session.patch(dv.url(f"accounts(accountnumber='W{number}-{n}')"), json={"name": name},
                                         headers=headers, timeout=60)
            else:
                response = session.post(dv.url("accounts"), json={"name": name}, headers=headers, timeout=60)
            if response.status_code != 204:
                failures.append(f"{name}: {response.status_code} {response.text}")

    def pager() -> None:
        session = dv.handle.new_session()
        while writing.is_set():
            seen: set[str] = set()
            url = dv.url("accounts?$select=name")
            while url:
                response = session.get(url, headers={**headers, "Prefer": "odata.maxpagesize=250"}, timeout=60)
                body = response.json()
                for row in body["value"]:
                    if row["accountid"] in seen:
                        failures.append(f"row {row['accountid']} returned twice")
                    seen.add(row["accountid"])
                url = body.get("@odata.nextLink")
            passes.append(len(seen))

    pagers = [threading.Thread(target=pager) for _ in range(PAGERS)]
    writers = [threading.Thread(target=writer, args=(number,)) for number in range(WRITERS)]
    for thread in pagers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    writing.clear()
    for thread in pagers:
        thread.join()

    assert failures == []
    assert passes
    assert all(1500 <= seen <= 1500 + WRITERS * WRITES_EACH for seen in passes)
    names = {row["name"] for page in dv.all_pages("accounts?$select=name&$filter=startswith(name,'writer-')")
             for row in page}
    assert names == {f"writer-{number}-{n}" for number in range(WRITERS) for n in range(WRITES_EACH)}
    assert dv.get("accounts/$count").text == str(1500 + WRITERS * WRITES_EACH)
