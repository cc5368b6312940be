"""`python manage.py demo`: the whole Prospect-to-cash flow on one machine, from empty to explorable.

Starts both emulators (seeded, with a few bad records), a worker, beat and the admin; runs the project in full
with a live progress table; changes a few records, dry-runs them (what would change, writing nothing) and runs
incrementally; checks the outcome against the emulators' data; writes var/demo-summary.json. Everything it
started is stopped on exit or Ctrl-C. It can be run again at any time: it replaces its own project and points its
own connections at the new emulators, whatever else was loaded onto them since.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import time
from dataclasses import asdict
from typing import TextIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from connectors.emulators import RunningEmulator, start
from integration.demo import display, orders, scenario
from integration.demo.commands import command_line, environment_note
from integration.demo.processes import Processes, free_port
from integration.mapping import error_text
from integration.models import Connection, Project, RecordStatus, SyncRun
from integration.services import dry_runs, runs
from integration.services.templates import template_load
from p2c_project import embedded_redis

PROJECT = "prospect-to-cash"


class Demo:
    def __init__(self, *, out: TextIO, sizes: dict[str, int], port: int):
        self.out = out
        self.sizes = sizes
        self.port = port
        self.var = settings.VAR_DIR / "demo"
        self.processes = Processes(self.var)
        self.emulators: list[RunningEmulator] = []
        self.story = scenario.Story()
        self.orders = orders.OrderStory()
        self.summary: dict = {}

    def say(self, text: str) -> None:
        self.out.write(f"\n== {text}\n")
        self.out.flush()

    def run(self, *, once: bool) -> int:
        redis_was_running = not settings.EMBEDDED_REDIS or embedded_redis.is_running(
            embedded_redis.socket_path(settings.VAR_DIR))
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        logging.getLogger().setLevel(logging.WARNING)  # the story is told by the tables; workers log to files
        try:
            ok = self.tell_the_story()
            if once:
                return 0 if ok else 1
            self.say("Explore: the admin stays up until you press Ctrl-C")
            self.out.write(self.explore_text())
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.out.write("\nStopping...\n")
            return 130
        finally:
            self.processes.stop_all()
            for emulator in self.emulators:
                emulator.stop()
            if not redis_was_running:
                embedded_redis.stop(settings.VAR_DIR)

    def tell_the_story(self) -> bool:
        started = time.monotonic()
        self.say("1/6 Database: migrating, creating the admin user")
        call_command("migrate", verbosity=0)
        self.password = self.admin_user()

        self.say("2/6 Emulators of Dynamics 365 Sales and Finance and Operations, seeded")
        cert = self.var / "emulator-cert.pem"
        self.emulators = [start("dataverse", cert_path=cert), start("finops", cert_path=cert)]
        sales, fno = (scenario.EmulatorClient(emulator) for emulator in self.emulators)
        seeded = scenario.seed(sales, fno, **{name: self.sizes[name]
                                              for name in ("accounts", "contacts", "products", "quotes")})
        self.story.bad = scenario.plant_bad_records(sales, fno)
        for system, counts in seeded.items():
            self.out.write(f"   {system}: " + ", ".join(f"{n} {name}" for name, n in counts.items()) + "\n")
        self.out.write(f"   bad records planted: {len(self.story.bad)} ("
                       + "; ".join(f"{b.entity_map} {b.source_key}: {b.why}" for b in self.story.bad) + ")\n")
        project = self.project(*self.emulators)

        self.say("3/6 A Celery worker, beat and the admin web server")
        self.processes.worker(concurrency=max(2, os.cpu_count() or 2))
        self.processes.beat()
        self.port = free_port(self.port)
        self.processes.web(self.port)
        self.out.write(f"   logs in {self.var}/\n")

        self.say("4/6 Full run of the Prospect-to-cash project, which starts with the pre-flight check")
        full = display.watch(runs.run_start(project=project, mode=SyncRun.Mode.FULL,
                                            trigger=SyncRun.Trigger.COMMAND), out=self.out)
        self.out.write(display.check_text(full.preflight))
        checks = scenario.check_destinations(project, sales, fno, self.story)
        full_rows = display.summary_rows(full, {name: check.eligible for name, check in checks.items()})
        self.out.write(f"\nRun #{full.pk}: {full.status}\n{display.summary_table(full_rows)}\n")
        failures = [(name, key, error_text(field, message)) for name, key, field, message in
                    full.records.filter(status=RecordStatus.FAILED).values_list(
                        "entity_map__name", "source_key", "error_field", "error_message")]
        self.show_failures(full, failures)

        self.say("5/6 A few changes in Sales and one in F&O, a dry run, then an incremental run")
        self.story.changed = scenario.make_changes(sales, fno, self.story)
        for name, keys in self.story.changed.items():
            self.out.write(f"   changed {name}: {', '.join(sorted(keys))}\n")
        predicted = self.dry_run(project)
        incremental = display.watch(runs.run_start(project=project, mode=SyncRun.Mode.INCREMENTAL,
                                                   trigger=SyncRun.Trigger.COMMAND), out=self.out)
        incremental_rows = display.summary_rows(incremental, {})
        written = {}
        for name, key in incremental.records.filter(outcome__in=["created", "updated"]).values_list(
                "entity_map__name", "source_key"):
            written.setdefault(name, set()).add(key)
        self.out.write(f"\nRun #{incremental.pk}: {incremental.status}"
                       + (f" ({incremental.message})" if incremental.message else "") + "; written: "
                       + ", ".join(f"{name} {', '.join(sorted(keys))}" for name, keys in written.items()) + "\n")

        order_runs, order_problems = self.order_story(project, sales, fno)
        final = scenario.check_destinations(project, sales, fno, self.story)
        verdict = self.verdict(checks, failures, written, incremental, predicted, order_runs, order_problems,
                               final)
        self.write_summary(full_rows, incremental_rows, order_runs, checks, verdict, time.monotonic() - started)
        self.out.write(f"\n{verdict['message']}\nSummary written to {self.summary_path}\n")
        return verdict["ok"]

    def dry_run(self, project: Project) -> dict[str, set[str]]:
        """What the incremental run would write, found without writing anything; returns its updates by map."""
        dry = dry_runs.dry_run_start(project=project, trigger="command", queue=False)
        dry = dry_runs.dry_run_execute(dry_run_id=dry.pk)
        self.out.write(f"\n   Dry run #{dry.pk} ({command_line('sync', PROJECT, '--dry-run')}): reads both "
                       "systems, writes nothing, moves no cursor:\n")
        predicted: dict[str, set[str]] = {}
        for name, records in dry_runs.dry_run_report(dry_run=dry).items():
            for record in records:
                changes = ", ".join(f"{d['field']} {d['holds']!r} -> {d['sends']!r}" for d in record.differences)
                self.out.write(f"     {name} {record.source_key}: {record.get_outcome_display().lower()}"
                               f"{': ' + changes if changes else ''}\n")
                if record.outcome in ("create", "update"):
                    predicted.setdefault(name, set()).add(record.source_key)
        return predicted

    def order_story(self, project: Project, sales: scenario.EmulatorClient,
                    fno: scenario.EmulatorClient) -> tuple[list[SyncRun], list[str]]:
        """Orders both ways and invoices back: three incremental runs, the last of which must write nothing."""
        self.say("6/6 Orders both ways: activated in Sales and entered in F&O; confirmed, charged and invoiced in "
                 "F&O; back in Sales")
        self.orders = orders.place_orders(project, sales, fno, count=self.sizes["orders"])
        self.out.write(f"   Sales: {len(self.orders.from_sales)} orders activated "
                       f"({', '.join(o.number for o in self.orders.from_sales[:3])}...); "
                       f"F&O: {len(self.orders.from_finops)} orders entered and confirmed "
                       f"({', '.join(o.number for o in self.orders.from_finops)})\n")
        to_finops = self.watch_incremental(project)
        orders.confirm_and_invoice(fno, self.orders)
        counts = self.orders.counts()
        self.out.write(f"   F&O: the {counts['sales_orders_to_finops']} orders from Sales confirmed with freight (and "
                       f"its tax), totals calculated, invoiced ({counts['partially_invoiced']} in part)\n")
        back = self.watch_incremental(project)
        self.out.write("   Once more: p2c's own writes of the last two runs must not come back as changes\n")
        quiet = self.watch_incremental(project)
        runs_ = [to_finops, back, quiet]
        for label, run in zip(("to F&O", "back to Sales", "nothing left"), runs_, strict=True):
            rows = [row for row in display.summary_rows(run, {}) if row["created"] + row["updated"] + row["failed"]]
            self.out.write(f"\nRun #{run.pk} ({label}): {run.status}\n"
                           + (display.summary_table(rows) if rows else "   nothing written") + "\n")
        problems = orders.check_orders(sales, fno, self.orders)
        counts = self.orders.counts()
        self.out.write(f"\n   {counts['sales_orders_to_finops']} orders from Sales went to F&O under their numbers and "
                       f"came back to their Sales originals with F&O's status, a Freight Tax line and "
                       f"{counts['invoices_to_sales']} invoices ({counts['partially_invoiced']} partially invoiced); "
                       f"{counts['finops_orders_to_sales']} orders entered in F&O are in Sales"
                       + ("" if not problems else f"; but {len(problems)} problems (below)") + "\n")
        return runs_, problems

    def watch_incremental(self, project: Project) -> SyncRun:
        return display.watch(runs.run_start(project=project, mode=SyncRun.Mode.INCREMENTAL,
                                            trigger=SyncRun.Trigger.COMMAND), out=self.out)

    def admin_user(self) -> str:
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.out.write(f"   admin user: admin / {password}\n")
        return password

    @transaction.atomic
    def project(self, dataverse: RunningEmulator, finops: RunningEmulator) -> Project:
        """A fresh project on the fresh emulators (the links of an earlier demo point at emulators long gone).

        The demo's connections are updated in place, not deleted: projects someone loaded onto them since (the
        README's load_template example) keep them, now pointing at this demo's emulators."""
        Project.objects.filter(name=PROJECT).delete()

        def connection(emulator: RunningEmulator, name: str, system: str) -> Connection:
            values = {"system": system, "base_url": emulator.origin, "authority": f"{emulator.origin}/contoso",
                      "client_id": emulator.app.identity.client_id, "client_secret_env": "",
                      "client_secret": emulator.app.identity.client_secret, "ca_bundle": str(emulator.cert_path),
                      "certificate_pem": "", "certificate_thumbprint": "", "scope": "",
                      "default_company": "usmf" if system == "finops" else ""}
            return Connection.objects.update_or_create(name=name, defaults=values)[0]

        return template_load(name="prospect_to_cash", project=PROJECT,
                             sales_connection=connection(dataverse, "Sales (emulator)", "dataverse"),
                             finops_connection=connection(finops, "Finance and Operations (emulator)", "finops"))

    def show_failures(self, run: SyncRun, failures: list[tuple[str, str, str]]) -> None:
        if not failures:
            return
        self.out.write(f"\n{len(failures)} records failed, each alone, the run went on:\n")
        for name, key, message in failures:
            self.out.write(f"   {name} {key}: {message}\n")
        base = f"http://127.0.0.1:{self.port}"
        self.out.write(
            "They stay in the failing-records queue, and incremental runs leave them alone until their source\n"
            "changes. Fix them (at the source, or add the country to the value map in the admin's mapping editor),\n"
            "then retry only those records:\n"
            f"   {command_line('retry', str(run.pk), '--wait')}\n"
            f"   or in the admin: the failing-records queue ({base}/admin/integration/failingrecord/), or the run's\n"
            f"      page ({base}/admin/integration/syncrun/{run.pk}/change/) and its 'Retry failed' button\n"
            f"   or: POST {base}/api/runs/{run.pk}/retry/\n" + environment_note())

    def verdict(self, checks, failures, written, incremental: SyncRun, predicted: dict[str, set[str]],
                order_runs: list[SyncRun], order_problems: list[str], final) -> dict:
        bad = {(b.entity_map, b.source_key) for b in self.story.bad}
        failed = {(name, key) for name, key, _ in failures}
        missing = {name: check.missing for name, check in checks.items() if check.missing}
        incremental_failed = set(incremental.records.filter(status=RecordStatus.FAILED).values_list(
            "entity_map__name", "source_key"))
        problems = list(order_problems)
        for run in order_runs:
            run_failed = set(run.records.filter(status=RecordStatus.FAILED).values_list("entity_map__name",
                                                                                       "source_key"))
            if not run_failed <= bad:
                problems.append(f"run #{run.pk} failed {sorted(run_failed - bad)}")
        quiet = order_runs[-1]
        if quiet.counts.get("created") or quiet.counts.get("updated"):
            problems.append(f"run #{quiet.pk} wrote {quiet.counts['created'] + quiet.counts['updated']} records: "
                            "p2c's own writes came back as changes")
        if final_missing := {name: check.missing for name, check in final.items() if check.missing}:
            problems.append(f"after the order story, eligible records missing at the destination: {final_missing}")
        if missing:
            problems.append(f"eligible records missing at the destination: {missing}")
        if failed != bad:
            problems.append(f"failed {sorted(failed)} but the bad records are {sorted(bad)}")
        if written != self.story.changed:
            problems.append(f"the incremental run wrote {written}, the changes were {self.story.changed}")
        if predicted != self.story.changed:
            problems.append(f"the dry run predicted {predicted}, the changes were {self.story.changed}")
        if preflight := self.preflight_problem():
            problems.append(preflight)
        if not incremental_failed <= bad:
            problems.append(f"the incremental run failed {sorted(incremental_failed - bad)}")
        ok = not problems
        message = ("OK: every eligible record was synced, exactly the bad ones failed, the dry run foresaw exactly "
                   "the changes, only the changes flowed, and every order went both ways with its status and "
                   "invoices back in Sales." if ok else "NOT OK: " + "; ".join(problems))
        return {"ok": ok, "message": message, "problems": problems}

    def preflight_problem(self) -> str:
        """The shipped template against the emulators: the pre-flight check must find nothing."""
        project = Project.objects.get(name=PROJECT)
        check = project.checks.first()
        if check is None or check.status != "clean":
            return f"the pre-flight check was not clean: {check.problems if check else 'not run'}"
        return ""

    @property
    def summary_path(self):
        return settings.VAR_DIR / "demo-summary.json"

    def write_summary(self, full_rows, incremental_rows, order_runs, checks, verdict, seconds: float) -> None:
        self.summary = {
            "ok": verdict["ok"], "problems": verdict["problems"], "seconds": round(seconds, 1),
            "full_run": {row.pop("entity_map"): row for row in full_rows},
            "incremental_run": {row.pop("entity_map"): row for row in incremental_rows},
            "orders": {**self.orders.counts(), "runs": [
                {row.pop("entity_map"): row for row in display.summary_rows(run, {})} for run in order_runs]},
            "changed": {name: sorted(keys) for name, keys in self.story.changed.items()},
            "bad_records": [asdict(b) for b in self.story.bad],
            "missing": {name: check.missing for name, check in checks.items()},
        }
        self.summary_path.write_text(json.dumps(self.summary, indent=2))

    def explore_text(self) -> str:
        base = f"http://127.0.0.1:{self.port}"
        return (f"   admin:     {base}/admin/   (user admin, password {self.password})\n"
                f"   overview:  {base}/admin/overview/   failing records: {base}/admin/integration/failingrecord/\n"
                f"   REST API:  {base}/api/ lists the endpoints; docs at {base}/api/docs/ and {base}/api/redoc/\n"
                f"              (signed in to the admin); scripts send 'Authorization: Token <token>', made with\n"
                f"              {command_line('create_api_token', 'admin', '--days', '1')}\n"
                f"   emulators: {self.emulators[0].api_url} and {self.emulators[1].api_url}\n"
                f"   try:       {command_line('sync', PROJECT, '--wait')}\n"
                f"              {command_line('sync', PROJECT, '--dry-run')}\n"
                f"              {command_line('export_project', PROJECT)} > maps.json\n" + environment_note())
