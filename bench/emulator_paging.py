"""How fast a client pages through a large entity set of an emulator, over real HTTPS.

    python bench/emulator_paging.py --kind dataverse --records 100000
    python bench/emulator_paging.py --kind finops --records 100000

Starts the emulator in this process, seeds it, then follows `@odata.nextLink` with plain `requests` (Dataverse:
maximum page size 5000; F&O: its server-driven pages of 10,000 across all companies) until the last page, and
prints records, pages, seconds and records per second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import msal
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.emulators import start

PAGE_SIZE = 5000


def _session(cert: Path) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override verify
    session.verify = str(cert)
    return session


def _token(emulator, session: requests.Session) -> str:
    identity = emulator.app.identity
    app = msal.ConfidentialClientApplication(identity.client_id, client_credential=identity.client_secret,
                                             authority=f"{emulator.origin}/contoso", http_client=session,
                                             instance_discovery=False)
    return app.acquire_token_for_client(scopes=[f"{emulator.origin}/.default"])["access_token"]


def page_dataverse(emulator, session: requests.Session, token: str) -> tuple[int, int]:
    """Every account, following nextLinks with `Prefer: odata.maxpagesize`; returns (records, pages)."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "OData-MaxVersion": "4.0",
               "OData-Version": "4.0", "If-None-Match": "null", "Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
    url: str | None = f"{emulator.api_url}accounts"
    records = pages = 0
    seen: set[str] = set()
    while url:
        response = session.get(url, headers=headers, timeout=120)
        response.raise_for_status()
        body = response.json()
        for row in body["value"]:
            seen.add(row["accountid"])
        records += len(body["value"])
        pages += 1
        url = body.get("@odata.nextLink")
    if len(seen) != records:
        raise SystemExit(f"paging returned {records - len(seen)} rows twice")
    return records, pages


def page_finops(emulator, session: requests.Session, token: str) -> tuple[int, int]:
    """Every customer of every company (`cross-company=true`), following the `$skip` nextLinks; (records, pages)."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "OData-MaxVersion": "4.0",
               "OData-Version": "4.0"}
    url: str | None = f"{emulator.api_url}CustomersV3?cross-company=true"
    records = pages = 0
    seen: set[tuple[str, str]] = set()
    while url:
        response = session.get(url, headers=headers, timeout=120)
        response.raise_for_status()
        body = response.json()
        for row in body["value"]:
            seen.add((row["dataAreaId"], row["CustomerAccount"]))
        records += len(body["value"])
        pages += 1
        url = body.get("@odata.nextLink")
    if len(seen) != records:
        raise SystemExit(f"paging returned {records - len(seen)} rows twice")
    return records, pages


KINDS = {"dataverse": ("accounts", page_dataverse), "finops": ("CustomersV3", page_finops)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=sorted(KINDS), required=True)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    entity_set, page = KINDS[args.kind]
    with tempfile.TemporaryDirectory() as folder:
        emulator = start(args.kind, cert_path=Path(folder) / "emulator.pem")
        try:
            started = time.perf_counter()
            with emulator.app.store.lock:
                emulator.app.seed({entity_set: args.records}, args.seed)
            seeded = time.perf_counter() - started
            session = _session(emulator.cert_path)
            token = _token(emulator, session)
            started = time.perf_counter()
            records, pages = page(emulator, session, token)
            elapsed = time.perf_counter() - started
        finally:
            emulator.stop()
    print(f"{args.kind}: seeded {args.records} {entity_set} in {seeded:.2f} s")
    print(f"{args.kind}: paged {records} records in {pages} pages in {elapsed:.2f} s "
          f"({records / elapsed:,.0f} records/s)")
    return 0 if records == args.records else 1


if __name__ == "__main__":
    sys.exit(main())
