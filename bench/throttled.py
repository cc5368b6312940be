"""Scenario 5, throttled: the emulators accept 100 requests per second per client and answer the rest with 429
and a Retry-After. How close does a full sync of accounts get to the limit, and does any record fail?

    python bench/throttled.py [--accounts 3000] [--requests 100 --window-s 1] [--client-budget]
                              [--workers 1 --pool threads --concurrency 24]

By default the connections have no client-side budget (p2c's default: Microsoft's limits are per web server, so
the engine honours 429s and their Retry-After); `--client-budget` sets the connections' requests per window to
the emulators' limit instead. Target: ≥ 0.9 of the limit, zero failed records.
"""

from __future__ import annotations

import argparse

import harness  # noqa: F401 - sets up Django first
from harness import Environment, add_worker_arguments
from report import Row, cost_headlines, cost_rows, headline, number, scenario_table

from integration.models import SyncRun

TARGET = 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=100, help="the emulators' limit per window and client")
    parser.add_argument("--window-s", type=int, default=1)
    parser.add_argument("--client-budget", action="store_true", help="give the connections the same budget")
    add_worker_arguments(parser, pool="threads", concurrency=24)
    args = parser.parse_args()
    limit = args.requests / args.window_s

    with Environment.from_args(args) as env:
        env.emulators.seed(accounts=args.accounts)
        env.emulators.configure(throttle={"requests": args.requests, "window_s": args.window_s})
        budget = {"requests_per_window": args.requests, "window_seconds": args.window_s} if args.client_budget else {}
        project = env.project(**budget)
        figures = env.run(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"])
        accepted = figures.api.accepted / figures.seconds
        ratio = accepted / limit
        rows = [
            Row("**accepted requests/s**", f"**{number(accepted)}**", f"{number(limit)} requests/s per client",
                ratio, f"≥ {TARGET}", ratio >= TARGET),
            Row("records/s", number(figures.rate), f"{number(limit)} requests/s per client", figures.rate / limit),
            Row("429s received", f"{figures.api.throttled:,}",
                f"{figures.api.retry_after_violations:,} requests sent before their Retry-After had passed"),
            Row("records failed", f"{figures.failed:,}", f"of {figures.records:,} in {figures.seconds:.1f} s",
                None, "0", figures.failed == 0),
            *cost_rows(figures),
        ]
        client = (f"connections: a client-side budget of {args.requests} requests per {args.window_s} s"
                  if args.client_budget else "connections: no client-side budget (the default): 429s are honoured")
        print(scenario_table("Scenario 5: throttled full sync of accounts", rows, [
            *env.notes(), f"emulators: {args.requests} requests per {args.window_s} s per client, then 429 with "
            f"Retry-After; {client}", f"run #{figures.run.pk}: {figures.run.status}"]))
        headline("5. throttled", "accepted requests/s ÷ limit", ratio, at_least=TARGET)
        headline("5. throttled", "records failed", figures.failed, at_most=0)
        headline("5. throttled", "429s received", figures.api.throttled)
        cost_headlines("5. throttled", figures)


if __name__ == "__main__":
    main()
