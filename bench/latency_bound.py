"""Scenario 4, latency-bound: every emulator request takes 100 ms and a client may have 20 in flight, so no
client can write more than 20 / 0.1 s = 200 records per second. How close does a full sync of accounts get?

    python bench/latency_bound.py [--accounts 5000] [--latency-ms 100] [--concurrency-limit 20]
                                  [--workers 2 --pool threads --concurrency 16]

The connections' max_concurrency is the emulator's limit, so the shared limiter (not 429s) keeps the workers
under it. Target: ≥ 0.8 of the bound, which needs a worker pool made for I/O (threads, with a few more in all than
the limit, since a thread also spends time on the database between requests).
"""

from __future__ import annotations

import argparse

import harness  # noqa: F401 - sets up Django first
from harness import Environment, add_worker_arguments
from report import Row, cost_headlines, cost_rows, headline, number, scenario_table

from integration.models import SyncRun

TARGET = 0.8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--concurrency-limit", type=int, default=20)
    add_worker_arguments(parser)
    args = parser.parse_args()
    bound = args.concurrency_limit / (args.latency_ms / 1000)

    with Environment.from_args(args) as env:
        env.emulators.seed(accounts=args.accounts)
        env.emulators.configure(latency_ms=args.latency_ms, concurrency_limit=args.concurrency_limit)
        project = env.project(max_concurrency=args.concurrency_limit)
        figures = env.run(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])
        ratio = figures.rate / bound
        rows = [
            Row("**records/s**", f"**{number(figures.rate)}**", f"{number(bound)} writes/s "
                f"({args.concurrency_limit} in flight ÷ {args.latency_ms} ms)", ratio, f"≥ {TARGET}", ratio >= TARGET),
            Row("writes/s", number(figures.api.writes / figures.seconds), f"{number(bound)} writes/s",
                figures.api.writes / figures.seconds / bound),
            Row("429s received", f"{figures.api.throttled:,}", "0 (the limiter keeps the workers under the limit)",
                None, "0", figures.api.throttled == 0),
            Row("records failed", f"{figures.failed:,}", f"of {figures.records:,} in {figures.seconds:.1f} s",
                None, "0", figures.failed == 0),
            *cost_rows(figures),
        ]
        print(scenario_table("Scenario 4: latency-bound full sync of accounts", rows, [
            *env.notes(), f"emulators: latency {args.latency_ms} ms per request, at most {args.concurrency_limit} "
            f"concurrent requests per client; connections: max_concurrency {args.concurrency_limit}",
            f"run #{figures.run.pk}: {figures.run.status}"]))
        headline("4. latency-bound", "records/s ÷ bound", ratio, at_least=TARGET)
        headline("4. latency-bound", "429s received", figures.api.throttled, at_most=0)
        headline("4. latency-bound", "records failed", figures.failed, at_most=0)
        cost_headlines("4. latency-bound", figures)


if __name__ == "__main__":
    main()
