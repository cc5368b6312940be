"""Near-real-time latency: from a change in the Sales emulator to its write in the F&O emulator, through a Dataverse
webhook, the Django server (a separate `runserver` process), the broker and a worker, with no scheduled run.

    python bench/webhook_latency.py [--changes 200] [--rate 5] [--concurrency 8]

Accounts are synced once in full (so they are linked), then each of `--changes` accounts gets one new phone
number in Sales, at `--rate` changes per second. Two times are taken per change, both from the moment the PATCH
returned (the change is committed in Sales): when the engine finished the F&O write (the record's finished_at,
set right after the F&O emulator answered), and when the new value was seen in F&O by polling (what a person
would see; adds up to one polling interval).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

import harness  # noqa: F401 - sets up Django first
import requests
from django.conf import settings
from harness import (
    BENCH_VAR,
    ROOT,
    Emulators,
    Workers,
    create_project,
    machine,
    markdown_table,
    reset_database,
    run_and_time,
)

from integration.models import RecordSync, RunStatus, SyncRun, WebhookDelivery

SECRET = "bench-webhook-secret-" + uuid.uuid4().hex  # a local benchmark's throwaway secret


class DjangoServer:
    """`manage.py runserver` on a free loopback port, on the benchmark's database and broker."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        log = open(BENCH_VAR / "django.log", "wb")  # noqa: SIM115 - the server writes to it until stopped
        self.process = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload",
                                         f"127.0.0.1:{self.port}"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{self.url}/api/schema/", timeout=5)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the Django server did not start; see var/bench/django.log") from None
                time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


class FinOpsWatcher:
    """Polls F&O for the accounts whose new phone number has not been seen yet, and notes when it appears."""

    def __init__(self, emulators: Emulators, session: requests.Session, interval: float):
        self.url = f"{emulators.finops.origin}/data/CustomersV3"
        self.session = session
        self.interval = interval
        self.expected: dict[str, str] = {}
        self.seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def expect(self, account: str, phone: str) -> None:
        with self._lock:
            self.expected[account] = phone

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                waiting = [a for a in self.expected if a not in self.seen]
            for start in range(0, len(waiting), 25):
                chunk = waiting[start:start + 25]
                match = " or ".join(f"CustomerAccount eq '{account}'" for account in chunk)
                rows = self.session.get(self.url, params={"cross-company": "true", "$filter": match,
                                                          "$select": "CustomerAccount,PrimaryContactPhone"},
                                        timeout=30).json()["value"]
                now = time.time()
                with self._lock:
                    for row in rows:
                        if row["PrimaryContactPhone"] == self.expected[row["CustomerAccount"]]:
                            self.seen.setdefault(row["CustomerAccount"], now)
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def token_session(emulators: Emulators, emulator) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emulators.cert)
    token = session.post(f"{emulator.origin}/contoso/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": "p2c-emulator", "client_secret": "emulator-secret",
        "scope": f"{emulator.origin}/.default"}, timeout=30).json()["access_token"]
    session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json",
                            "OData-Version": "4.0", "OData-MaxVersion": "4.0"})
    return session


def percentiles(values: list[float]) -> list[str]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return [f"{statistics.median(values) * 1000:.0f}", f"{cuts[94] * 1000:.0f}", f"{max(values) * 1000:.0f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="changes per second")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between F&O polls")
    args = parser.parse_args()

    reset_database()
    emulators = Emulators()
    workers = server = watcher = None
    try:
        emulators.control(emulators.dataverse, "POST", "seed", {"accounts": args.changes + 20, "seed": 3})
        project = create_project(emulators)
        project.webhook_secret = SECRET
        project.save()
        workers = Workers(concurrency=args.concurrency)
        full, _ = run_and_time(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])
        assert full.status == RunStatus.SUCCEEDED, f"the initial full run ended {full.status}"
        server = DjangoServer()
        emulators.control(emulators.dataverse, "POST", "webhooks", {
            "url": f"{server.url}/api/webhooks/dataverse/{project.name}/", "entities": ["account"],
            "messages": ["Update"],
            "auth": {"type": "HttpHeader", "name": settings.P2C_WEBHOOK_HEADER, "value": SECRET}})
        sales = token_session(emulators, emulators.dataverse)
        accounts = sales.get(f"{emulators.dataverse.origin}/api/data/v9.2/accounts", timeout=60, params={
            "$select": "accountid,accountnumber", "$filter": "accountnumber ne null"}).json()["value"]
        accounts = accounts[:args.changes]
        watcher = FinOpsWatcher(emulators, token_session(emulators, emulators.finops), args.poll)

        changed_at: dict[str, float] = {}
        started = time.monotonic()
        for n, account in enumerate(accounts):
            time.sleep(max(0.0, started + n / args.rate - time.monotonic()))
            phone = f"+1 555 {n:07d}"
            watcher.expect(account["accountnumber"], phone)
            sales.patch(f"{emulators.dataverse.origin}/api/data/v9.2/accounts({account['accountid']})",
                        json={"telephone1": phone}, headers={"If-Match": "*"}, timeout=30).raise_for_status()
            changed_at[account["accountnumber"]] = time.time()
        deadline = time.monotonic() + 120
        while len(watcher.seen) < len(accounts) and time.monotonic() < deadline:
            time.sleep(0.2)
        watcher.stop()

        finished = dict(RecordSync.objects.filter(run__trigger=SyncRun.Trigger.WEBHOOK, status="succeeded")
                        .values_list("source_key", "finished_at"))
        written = [finished[key].timestamp() - at for key, at in changed_at.items() if key in finished]
        visible = [watcher.seen[key] - at for key, at in changed_at.items() if key in watcher.seen]
        runs = SyncRun.objects.filter(trigger=SyncRun.Trigger.WEBHOOK)
        print(f"\n{len(accounts)} webhook-driven changes at {args.rate:g}/s; worker: 1 x threads c={args.concurrency}; "
              f"F&O polled every {args.poll * 1000:.0f} ms")
        print(f"Machine: {machine()}")
        print(f"Webhook runs: {runs.count()} ({runs.filter(status=RunStatus.SUCCEEDED).count()} succeeded); "
              f"deliveries recorded: {WebhookDelivery.objects.count()}; bulk runs after the initial one: "
              f"{SyncRun.objects.filter(is_bulk=True).count() - 1}; "
              f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
        print(markdown_table(["from the change in Sales to", "changes", "p50 ms", "p95 ms", "max ms"], [
            ["the F&O write done (record finished)", len(written), *percentiles(written)],
            ["the new value seen in F&O (polled)", len(visible), *percentiles(visible)],
        ]))
    finally:
        for part in (watcher, server, workers):
            if part is not None:
                part.stop()
        emulators.stop()


if __name__ == "__main__":
    main()
