"""Records per second through the connectors against in-process emulators with zero latency, next to plain
`requests` doing the same HTTP on the same emulator in the same run: the ratio is the connectors' own cost.

    .venv/bin/python bench/connector_throughput.py [--records 20000] [--upserts 2000] [--page-size 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msal
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors import ConnectionConfig, DataverseClient, FinOpsClient, ODataClient
from connectors.emulators import RunningEmulator, start
from connectors.odata import key_path

CLIENT_ID, SECRET, TENANT = "p2c-emulator", "emulator-secret", "bench"
SYSTEMS = {
    "dataverse": {"entity_set": "accounts", "client": DataverseClient},
    "finops": {"entity_set": "CustomersV3", "client": FinOpsClient},
}


def timed(work: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = work()
    return count, time.perf_counter() - started


def raw_session(emulator: RunningEmulator) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emulator.cert_path)
    app = msal.ConfidentialClientApplication(CLIENT_ID, client_credential=SECRET, http_client=session,
                                             authority=f"{emulator.origin}/{TENANT}", instance_discovery=False)
    token = app.acquire_token_for_client(scopes=[f"{emulator.origin}/.default"])["access_token"]
    session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json",
                            "OData-MaxVersion": "4.0", "OData-Version": "4.0"})
    return session


def raw_read(session: requests.Session, url: str, page_size: int) -> tuple[int, int]:
    rows = pages = 0
    link: str | None = url
    while link:
        payload = session.get(link, headers={"Prefer": f"odata.maxpagesize={page_size}"}).json()
        rows += len(payload["value"])
        pages += 1
        link = payload.get("@odata.nextLink")
    return rows, pages


def raw_upserts(system: str, session: requests.Session, api_url: str, count: int) -> int:
    for n in range(count):
        if system == "dataverse":
            url = api_url + key_path("accounts", {"accountnumber": f"RAW-{n}"}) + "?$select=accountid"
            response = session.patch(url, json={"name": f"Raw {n}"}, headers={"Prefer": "return=representation"})
        else:
            response = session.post(api_url + "CustomersV3", json={
                "dataAreaId": "usmf", "CustomerAccount": f"RAW-{n}", "OrganizationName": f"Raw {n}",
                "CustomerGroupId": "10"})
        response.raise_for_status()
    return count


def connector_upserts(system: str, client: ODataClient, count: int) -> int:
    for n in range(count):
        if system == "dataverse":
            client.upsert("accounts", {"accountnumber": f"CONN-{n}"}, {"name": f"Connector {n}"})
        else:
            client.upsert("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": f"CONN-{n}"},
                          {"OrganizationName": f"Connector {n}", "CustomerGroupId": "10"}, exists=False)
    return count


def bench(system: str, cert: Path, records: int, upserts: int, page_size: int) -> list[tuple]:
    entity_set = SYSTEMS[system]["entity_set"]
    emulator = start(system, cert_path=cert)
    try:
        emulator.app.seed({entity_set: records}, 7)
        config = ConnectionConfig(system=system, base_url=emulator.origin, client_id=CLIENT_ID, client_secret=SECRET,
                                  authority=f"{emulator.origin}/{TENANT}", ca_bundle=str(emulator.cert_path),
                                  default_company="usmf" if system == "finops" else "", page_size=page_size)
        client = SYSTEMS[system]["client"](config)
        session = raw_session(emulator)
        next(client.pages(entity_set, options={"$top": 1}))  # token and TLS connection, before the clock
        url = emulator.api_url + entity_set + ("?cross-company=true" if system == "finops" else "")
        (raw_rows, raw_pages), raw_read_s = timed(lambda: raw_read(session, url, page_size))
        conn_rows, conn_read_s = timed(lambda: sum(1 for _ in client.rows(entity_set)))
        raw_writes, raw_write_s = timed(lambda: raw_upserts(system, session, emulator.api_url, upserts))
        conn_writes, conn_write_s = timed(lambda: connector_upserts(system, client, upserts))
        assert conn_rows == raw_rows, (conn_rows, raw_rows)
        return [
            (system, f"read {conn_rows} records ({raw_pages} pages)", conn_rows / conn_read_s, raw_rows / raw_read_s,
             raw_pages / raw_read_s),
            (system, f"upsert {conn_writes} records", conn_writes / conn_write_s, raw_writes / raw_write_s,
             raw_writes / raw_write_s),
        ]
    finally:
        emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--upserts", type=int, default=2_000)
    parser.add_argument("--page-size", type=int, default=5_000)
    args = parser.parse_args()
    cert = Path(tempfile.mkdtemp(prefix="p2c-bench-")) / "emulator.pem"
    rows = [row for system in SYSTEMS for row in bench(system, cert, args.records, args.upserts, args.page_size)]
    print("| API | operation | connector records/s | plain requests records/s | plain requests/s | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for system, operation, connector, raw, raw_requests in rows:
        print(f"| {system} | {operation} | {connector:,.0f} | {raw:,.0f} | {raw_requests:,.0f} | "
              f"{connector / raw:.2f} |")


if __name__ == "__main__":
    main()
