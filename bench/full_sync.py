"""A full Prospect-to-cash run from seeded emulators: records per second per entity map and overall.

    python bench/full_sync.py --accounts 10000 --contacts 5000 --products 1000 --quotes 500

On PostgreSQL and the Redis service when DATABASE_URL / REDIS_URL are set, else on SQLite and the embedded Redis.
"""

from __future__ import annotations

import argparse

import harness  # noqa: F401 - sets up Django first

from harness import Emulators, Workers, create_project, machine, markdown_table, reset_database, run_and_time
from integration.models import RecordStatus, SyncRun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10000)
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--quotes", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pool", default="threads")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    reset_database()
    emulators = Emulators()
    workers = None
    try:
        emulators.control(emulators.finops, "POST", "seed",
                          {"SellableReleasedProducts": args.products, "seed": 1})
        emulators.control(emulators.dataverse, "POST", "seed",
                          {"accounts": args.accounts, "contacts": args.contacts, "quotes": args.quotes, "seed": 1})
        project = create_project(emulators)
        workers = Workers(count=args.workers, pool=args.pool, concurrency=args.concurrency)
        run, seconds = run_and_time(project, mode=SyncRun.Mode.FULL)
        rows = []
        for stage in run.stages.select_related("entity_map").order_by("order"):
            records = stage.records.count()
            stage_time = (stage.finished_at - stage.started_at).total_seconds()
            failed = stage.records.filter(status=RecordStatus.FAILED).count()
            rows.append([stage.entity_map.name, stage.records_read, records, failed, f"{stage_time:.1f}",
                         f"{records / stage_time:,.0f}" if stage_time else "-"])
        total = run.records.count()
        rows.append(["**all**", sum(r[1] for r in rows), total, run.counts.get("failed", 0), f"{seconds:.1f}",
                     f"**{total / seconds:,.0f}**"])
        print(f"\nFull run #{run.pk}: {run.status}; workers: {args.workers} x {args.pool} c={args.concurrency}")
        print(f"Machine: {machine()}\n")
        print(markdown_table(["entity map", "read", "records", "failed", "seconds", "records/s"], rows))
    finally:
        if workers:
            workers.stop()
        emulators.stop()


if __name__ == "__main__":
    main()
