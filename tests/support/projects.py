"""Factories for the engine's tests: connections to the emulators, a Prospect-to-cash project, waiting for runs."""

from __future__ import annotations

from integration.models import ACTIVE_RUN_STATUSES, Connection, Project, SyncRun
from integration.services import runs
from integration.services.templates import template_load
from tests.support.emulators import EmulatorHandle
from tests.support.waiting import wait_until


def connection_to(handle: EmulatorHandle, *, system: str, name: str, **fields) -> Connection:
    values = {
        "system": system, "base_url": handle.origin, "authority": f"{handle.origin}/contoso",
        "client_id": "p2c-emulator", "client_secret": "emulator-secret", "ca_bundle": handle.cert_path,
        "default_company": "usmf" if system == "finops" else "", "timeout_seconds": 30,
    }
    values.update(fields)
    return Connection.objects.create(name=name, **values)


def prospect_to_cash_project(dataverse: EmulatorHandle, finops: EmulatorHandle, *, name: str = "p2c-test",
                             **connection_fields) -> Project:
    sales = connection_to(dataverse, system="dataverse", name=f"{name}-sales", **connection_fields)
    fno = connection_to(finops, system="finops", name=f"{name}-finops", **connection_fields)
    return template_load(name="prospect_to_cash", project=name, sales_connection=sales, finops_connection=fno)


def small_project(dataverse: EmulatorHandle, finops: EmulatorHandle) -> Project:
    """The template on a few seeded records of each side (5 products, 3 accounts, 3 contacts): enough for checks
    and previews, which read both environments."""
    finops.seed(SellableReleasedProducts=5, seed=2)
    dataverse.seed(accounts=3, contacts=3, seed=2)
    return prospect_to_cash_project(dataverse, finops)


def run_and_wait(project: Project, *, mode: str = SyncRun.Mode.INCREMENTAL, timeout: float = 120,
                 **options) -> SyncRun:
    """Start a bulk run through the queue and wait until a worker has finished it."""
    run = runs.run_start(project=project, mode=mode, trigger=SyncRun.Trigger.API, **options)
    return wait_for_run(run, timeout=timeout)


def wait_for_run(run: SyncRun, *, timeout: float = 120) -> SyncRun:
    def finished():
        run.refresh_from_db()
        return run.status not in ACTIVE_RUN_STATUSES

    wait_until(finished, timeout=timeout, interval=0.2, what=f"run #{run.pk} to finish")
    return run
