"""Scenarios 1-3: a full Prospect-to-cash sync from seeded emulators, the bare pipeline in the same workers, then
incremental runs.

    python bench/full_sync.py [--accounts 20000 --contacts 20000 --products 5000 --quotes 2000 --lines-per-quote 5]
                              [--workers 2 --pool threads --concurrency 16] [--change-percent 1 2]
                              [--no-bare] [--no-incremental]

On PostgreSQL and the Redis service when DATABASE_URL / REDIS_URL are set, else on SQLite and the embedded Redis.
Prints one markdown table per scenario.
"""

from __future__ import annotations

import argparse

import harness  # noqa: F401 - sets up Django first
from bare_pipeline import BareFigures, run_bare
from harness import Environment, RunFigures, add_worker_arguments
from incremental import headlines as incremental_headlines
from incremental import rows as incremental_rows
from incremental import run_incremental
from report import Row, cost_headlines, cost_rows, headline, number, scenario_table

from integration.models import RecordStatus, SyncRun

FULL_SYNC_TARGET = 0.6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--quotes", type=int, default=2000)
    parser.add_argument("--lines-per-quote", type=float, default=5)
    add_worker_arguments(parser)
    parser.add_argument("--change-percent", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--no-bare", action="store_true", help="skip scenario 2")
    parser.add_argument("--no-incremental", action="store_true", help="skip scenario 3")
    args = parser.parse_args()

    with Environment.from_args(args) as env:
        seeded = env.emulators.seed(products=args.products, accounts=args.accounts, contacts=args.contacts,
                                    quotes=args.quotes, lines_per_quote=args.lines_per_quote)
        project = env.project()
        full = env.run(project, mode=SyncRun.Mode.FULL)
        sizes = "seeded: " + ", ".join(f"{n:,} {name}" for name, n in seeded.items())
        print(scenario_table("Scenario 1: full sync of Prospect to cash", full_sync_rows(full),
                             [*env.notes(), sizes, f"run #{full.run.pk}: {full.run.status}"]))
        cost_headlines("1. full sync", full)
        if not args.no_bare:
            bare = run_bare(env, full_run=full.run, tasks=full.records)
            print(scenario_table("Scenario 2: the full sync against the bare pipeline", bare_rows(full, bare),
                                 [*env.notes(), f"{bare.tasks:,} bare tasks (one PATCH of a customer with plain "
                                                "requests, one ORM update), the same workers as scenario 1"]))
            headline("2. bare pipeline", "bare pipeline tasks/s", bare.rate)
            headline("2. bare pipeline", "full sync ÷ bare pipeline", full.rate / bare.rate, at_least=FULL_SYNC_TARGET)
        if not args.no_incremental:
            results = run_incremental(env, project, percents=args.change_percent)
            print(scenario_table("Scenario 3: incremental runs after the full sync",
                                 incremental_rows(results, full_rate=full.rate),
                                 [*env.notes(), "changes: accounts' telephone1 in Sales, products' SalesPrice in F&O; "
                                                "reads by entity set: " + "; ".join(
                                                    f"{r.label}: {_reads_by_set(r.figures)}" for r in results)]))
            incremental_headlines(results)


def full_sync_rows(full: RunFigures) -> list[Row]:
    table = []
    for stage in full.run.stages.select_related("entity_map").order_by("order"):
        records = stage.records.count()
        failed = stage.records.filter(status=RecordStatus.FAILED).count()
        seconds = (stage.finished_at - stage.started_at).total_seconds()
        table.append(Row(f"{stage.entity_map.name}: records/s", number(records / seconds) if seconds else "-",
                         f"{records:,} records ({stage.records_read:,} read, {failed} failed) in {seconds:.1f} s"))
    table += [
        Row("**all maps: records/s**", f"**{number(full.rate)}**",
            f"{full.records:,} records ({full.failed} failed) in {full.seconds:.1f} s (see scenario 2)"),
        *cost_rows(full),
    ]
    return table


def bare_rows(full: RunFigures, bare: BareFigures) -> list[Row]:
    ratio = full.rate / bare.rate
    return [
        Row("bare pipeline: tasks/s", number(bare.rate), f"{bare.tasks:,} tasks in {bare.seconds:.1f} s; "
                                                         f"{bare.failed} PATCHes failed"),
        Row("**full sync ÷ bare pipeline**", f"{number(full.rate)} records/s", f"{number(bare.rate)} tasks/s",
            ratio, f"≥ {FULL_SYNC_TARGET}", ratio >= FULL_SYNC_TARGET),
        _side_by_side("API requests", full.api.requests, full.records, bare.api.requests, bare.tasks),
        _side_by_side("database statements", full.queries, full.records, bare.queries, bare.tasks),
        _side_by_side("worker CPU", full.worker_cpu * 1000, full.records, bare.worker_cpu * 1000, bare.tasks, "ms"),
    ]


def _side_by_side(figure: str, full_cost: float, records: int, bare_cost: float, tasks: int, unit: str = "") -> Row:
    per_record, per_task = full_cost / records, bare_cost / tasks
    return Row(f"{figure} per record / per bare task", number(per_record, unit), number(per_task, unit),
               per_record / per_task if per_task else None)


def _reads_by_set(figures: RunFigures) -> str:
    reads = {name: methods["GET"] for name, methods in figures.api.by_entity_set.items() if methods.get("GET")}
    return ", ".join(f"{name} {n}" for name, n in sorted(reads.items())) or "none"


if __name__ == "__main__":
    main()
