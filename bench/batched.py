"""Batched writes (issue 14): bulk runs against Microsoft's documented limits, against a slow F&O, and on this
machine alone, each figure the median of `--repeat` runs with its spread, the compared phases alternated.

    python bench/batched.py limits   [--products 100000] [--per-record 2000] [--repeat 3]
    python bench/batched.py finops   [--accounts 100000] [--batch-sizes 100] [--per-record 2000] [--repeat 3]
    python bench/batched.py machine  [--scale 1] [--repeat 3]

- limits: products F&O -> Sales with the Dataverse emulator at the documented service protection (6,000 requests
  and 1,200 s of execution time per 5 minutes per user, 20 ms per operation, 52 concurrent, 100 ms latency per
  request): batched with one application user, batched with two, and the per-record path. The bound is the
  execution time, 1,200 s / 300 s / 20 ms = 200 operations/s per user; the per-record path is bound by the
  request count, 20/s. The per-record phase keeps the documented rates in a 30 s window (600 requests, 120 s of
  execution time): at 20 records/s a 300 s window takes 6,000 requests to fill, so a run of a few thousand
  records would only ever see the burst before the limit, not the limit.
- finops: accounts Sales -> F&O with the F&O emulator taking 150 ms per request and 30 ms per operation, with at
  most 8 concurrent requests: batched (at each of `--batch-sizes`) vs the per-record path.
- machine: the whole Prospect-to-cash sync with no added latency, batched vs per record, alternated; CPU per
  record summed over every process (workers, PostgreSQL, and this process, which hosts both emulators), the
  load-insensitive figure.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import harness  # noqa: F401 - sets up Django first
from harness import Environment, RunFigures, add_worker_arguments, results_append
from report import Row, number, scenario_table

from integration.models import ApplicationUser, SyncRun

DOCUMENTED = {"throttle": {"requests": 6000, "window_s": 300},
              "execution_time": {"limit_ms": 1_200_000, "window_s": 300},
              "operation_ms": 20, "concurrency_limit": 52, "latency_ms": 100}
SAME_RATES_SHORT_WINDOW = {**DOCUMENTED, "throttle": {"requests": 600, "window_s": 30},
                           "execution_time": {"limit_ms": 120_000, "window_s": 30}}
EXTRA_USER = ("p2c-emulator-2", "emulator-secret-2")


def spread(values: list[float], unit: str = "") -> str:
    """`median (min-max, n runs)`"""
    if len(values) == 1:
        return number(values[0], unit)
    low, high = number(min(values)), number(max(values))
    return f"{number(statistics.median(values), unit)} ({low}-{high}, {len(values)} runs)"


def cpu_ms_per_record(figures: RunFigures) -> float:
    return (figures.worker_cpu + figures.database_cpu + figures.bench_cpu) / max(figures.records, 1) * 1000


def repeat(n: int, phases: dict[str, Callable[[], RunFigures]]) -> dict[str, list[RunFigures]]:
    """Run every phase `n` times, alternating them (A B A B ...), so a drift of the machine falls on all alike."""
    results: dict[str, list[RunFigures]] = {name: [] for name in phases}
    for _ in range(n):
        for name, phase in phases.items():
            figures = phase()
            print(f"  {name}: {figures.records:,} records in {figures.seconds:.1f} s ({figures.rate:.1f}/s), "
                  f"{figures.failed} failed, {figures.api.requests:,} requests, {figures.api.throttled} answered 429",
                  flush=True)
            results[name].append(figures)
    return results


def phase_rows(label: str, runs: list[RunFigures], bound: float | None = None,
               target: float | None = None) -> list[Row]:
    rates = [figures.rate for figures in runs]
    ratio = statistics.median(rates) / bound if bound else None
    return [
        Row(f"**{label}: records/s**", f"**{spread(rates)}**",
            f"{number(bound)} records/s" if bound else "", ratio,
            f"≥ {target}" if target else "", ratio >= target if target and ratio is not None else None),
        Row(f"{label}: requests/s", spread([figures.api.requests / figures.seconds for figures in runs]),
            "the service counts each `$batch` once"),
        Row(f"{label}: records per write request", spread([figures.records / max(figures.api.writes, 1)
                                                            for figures in runs])),
        Row(f"{label}: records failed", spread([figures.failed for figures in runs]), "", None, "0",
            all(figures.failed == 0 for figures in runs)),
        Row(f"{label}: 429s", spread([figures.api.throttled for figures in runs])),
        Row(f"{label}: CPU per record, all processes", spread([cpu_ms_per_record(f) for f in runs], "ms")),
        Row(f"{label}: seconds", spread([figures.seconds for figures in runs]),
            f"{runs[0].records:,} records"),
    ]


# --- scenarios -------------------------------------------------------------------------------------------------
def limits(env: Environment, args) -> None:
    dataverse, finops = env.emulators.dataverse, env.emulators.finops
    counter = iter(range(10_000))

    def phase(*, products: int, batch_size: int, users: int, config: dict) -> Callable[[], RunFigures]:
        def run() -> RunFigures:
            env.emulators.reset()
            env.emulators.control(finops, "POST", "seed", {"SellableReleasedProducts": products, "seed": 7})
            env.emulators.control(dataverse, "PUT", "config", config)
            project = env.project(name=f"limits{next(counter)}", max_concurrency=52)
            sales = project.sales_connection
            type(sales).objects.filter(pk=sales.pk).update(batch_size=batch_size)
            if users > 1:
                env.emulators.control(dataverse, "POST", "clients", {"client_id": EXTRA_USER[0],
                                                                      "client_secret": EXTRA_USER[1]})
                ApplicationUser.objects.create(connection=sales, client_id=EXTRA_USER[0],
                                               client_secret=EXTRA_USER[1])
                sales.save()  # a new version of the connection: the workers' clients pick up the user
            return env.run(project, mode=SyncRun.Mode.FULL, entity_maps=["Products"])
        return run

    results = repeat(args.repeat, {
        "batched, 1 user": phase(products=args.products, batch_size=100, users=1, config=DOCUMENTED),
        "batched, 2 users": phase(products=args.products, batch_size=100, users=2, config=DOCUMENTED),
        "per record, 1 user": phase(products=args.per_record, batch_size=1, users=1, config=SAME_RATES_SHORT_WINDOW),
    })
    rows = [*phase_rows("batched, 1 user", results["batched, 1 user"], 200, 0.8),
            *phase_rows("batched, 2 users", results["batched, 2 users"], 400),
            *phase_rows("per record, 1 user", results["per record, 1 user"], 20)]
    results_append("batched", scenario_table(
        "Batched writes 1: products F&O -> Sales under Dataverse's documented limits", rows, [
            *env.notes(), f"Dataverse emulator: {DOCUMENTED}; the per-record phase: {SAME_RATES_SHORT_WINDOW}",
            f"{args.products:,} products batched (target: within 10 minutes), {args.per_record:,} per record"]))


def finops_bound(env: Environment, args) -> None:
    counter = iter(range(10_000))
    config = {"latency_ms": 150, "operation_delay_ms": 30, "concurrency_limit": 8}

    def phase(*, accounts: int, batch_size: int) -> Callable[[], RunFigures]:
        def run() -> RunFigures:
            env.emulators.reset()
            env.emulators.control(env.emulators.dataverse, "POST", "seed", {"accounts": accounts, "seed": 8})
            env.emulators.control(env.emulators.finops, "PUT", "config", config)
            project = env.project(name=f"finops{next(counter)}", max_concurrency=8)
            finops = project.finops_connection
            type(finops).objects.filter(pk=finops.pk).update(batch_size=batch_size)
            return env.run(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])
        return run

    def bound(size: int) -> float:  # 8 requests at a time, each 150 ms plus 30 ms per operation
        return 8 * size / (0.150 + size * 0.030)

    phases = {f"batched ({size} per request)": phase(accounts=args.accounts, batch_size=size)
              for size in args.batch_sizes}
    if args.per_record:
        phases["per record"] = phase(accounts=args.per_record, batch_size=1)
    results = repeat(args.repeat, phases)
    rows = [row for size in args.batch_sizes
            for row in phase_rows(f"batched ({size} per request)", results[f"batched ({size} per request)"],
                                  bound(size))]
    if args.per_record:
        rows += phase_rows("per record", results["per record"], bound(1))
    results_append("batched", scenario_table("Batched writes 2: accounts Sales -> F&O against a slow F&O", rows, [
        *env.notes(), f"F&O emulator: {config}; {args.accounts:,} accounts batched (target: within 10 minutes), "
        f"batch sizes {', '.join(map(str, args.batch_sizes))}; {args.per_record:,} per record"]))


def machine(env: Environment, args) -> None:
    counter = iter(range(10_000))
    sizes = {name: round(n * args.scale) for name, n in (("products", 1250), ("accounts", 5000),
                                                          ("contacts", 5000), ("quotes", 500))}

    def phase(*, batch_size: int) -> Callable[[], RunFigures]:
        def run() -> RunFigures:
            env.emulators.reset()
            env.emulators.seed(**sizes, lines_per_quote=5)
            project = env.project(name=f"machine{next(counter)}")
            project.sales_connection.__class__.objects.filter(
                pk__in=[project.sales_connection_id, project.finops_connection_id]).update(batch_size=batch_size)
            return env.run(project, mode=SyncRun.Mode.FULL)
        return run

    results = repeat(args.repeat, {"batched": phase(batch_size=100), "per record": phase(batch_size=1)})
    batched, single = results["batched"], results["per record"]
    speedup = statistics.median(f.rate for f in batched) / statistics.median(f.rate for f in single)
    cpu = statistics.median(cpu_ms_per_record(f) for f in batched)
    rows = [*phase_rows("batched", batched), *phase_rows("per record", single),
            Row("**batched ÷ per record**", f"**{speedup:.2f} x**", "records/s, medians", speedup, "≥ 3",
                speedup >= 3),
            Row("**batched: CPU per record, all processes**", f"**{cpu:.2f} ms**", "about 13 ms before batching",
                None, "≤ 4 ms", cpu <= 4)]
    results_append("batched", scenario_table("Batched writes 3: the full Prospect-to-cash sync on this machine", rows, [
        *env.notes(), f"sizes: {sizes}, 5 lines per quote; no added latency"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["limits", "finops", "machine"])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--per-record", type=int, default=2000, help="records of the per-record phases (0: none)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[100],
                        help="finops: the F&O connection's batch sizes to compare")
    parser.add_argument("--scale", type=float, default=1.0, help="machine: multiplies its sizes")
    parser.add_argument("--repeat", type=int, default=3)
    add_worker_arguments(parser)
    args = parser.parse_args()
    with Environment.from_args(args) as env:
        {"limits": limits, "finops": finops_bound, "machine": machine}[args.scenario](env, args)


if __name__ == "__main__":
    main()
