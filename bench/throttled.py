"""Scenario 5, throttled: the emulators accept 100 requests per second per client and answer the rest with 429
and a Retry-After. How close does a full sync of accounts get to the limit, and does any record fail?

    python bench/throttled.py [--accounts 3000] [--requests 100 --window-s 1] [--client-budget 95]
                              [--workers 2 --pool threads --concurrency 16]

Two runs on fresh data: first with p2c's default, no client-side budget (Microsoft's limits are per web server,
so the engine honours 429s and their Retry-After), then with the connections' own limiter set to
`--client-budget` requests per window (0: skip that run): 5% under the limit, since the client counts a request
when it sends it and the server when it arrives (the limiter sends at an even pace, so the two counts differ by
a few requests, not by a burst), and a 429 costs a whole second. Target: ≥ 0.9 of the limit, zero
failed records.
"""

from __future__ import annotations

import argparse

import harness  # noqa: F401 - sets up Django first
from harness import Environment, RunFigures, add_worker_arguments
from report import Row, cost_headlines, cost_rows, headline, number, scenario_table

from integration.models import SyncRun

TARGET = 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=100, help="the emulators' limit per window and client")
    parser.add_argument("--window-s", type=int, default=1)
    parser.add_argument("--client-budget", type=int, default=95,
                        help="requests per window for the connections' own limiter in the second run (0: no run)")
    add_worker_arguments(parser)
    args = parser.parse_args()
    limit = args.requests / args.window_s

    with Environment.from_args(args) as env:
        budgets = [None, args.client_budget] if args.client_budget else [None]
        for n, budget in enumerate(budgets):
            env.emulators.reset()
            env.emulators.seed(accounts=args.accounts)
            env.emulators.configure(throttle={"requests": args.requests, "window_s": args.window_s})
            options = {"requests_per_window": budget, "window_seconds": args.window_s} if budget else {}
            figures = env.run(env.project(f"throttled-{n}", **options), mode=SyncRun.Mode.FULL,
                              entity_maps=["Accounts"])
            label = (f"client budget {budget} per {args.window_s} s" if budget
                     else "no client budget (the default)")
            rows = _rows(figures, limit)
            client = (f"connections: a client-side budget of {budget} requests per {args.window_s} s"
                      if budget else "connections: no client-side budget (the default): 429s are honoured")
            print(scenario_table(f"Scenario 5: throttled full sync of accounts, {label}", rows, [
                *env.notes(), f"emulators: {args.requests} requests per {args.window_s} s per client, then 429 "
                f"with Retry-After; {client}", f"run #{figures.run.pk}: {figures.run.status}"]))
            scenario = f"5. throttled, {label}"
            headline(scenario, "accepted requests/s ÷ limit", figures.api.accepted / figures.seconds / limit,
                     at_least=TARGET)
            headline(scenario, "records failed", figures.failed, at_most=0)
            headline(scenario, "429s received", figures.api.throttled)
            cost_headlines(scenario, figures)


def _rows(figures: RunFigures, limit: float) -> list[Row]:
    accepted = figures.api.accepted / figures.seconds
    ratio = accepted / limit
    return [
        Row("**accepted requests/s**", f"**{number(accepted)}**", f"{number(limit)} requests/s per client",
            ratio, f"≥ {TARGET}", ratio >= TARGET),
        Row("records/s", number(figures.rate), f"{number(limit)} requests/s per client", figures.rate / limit),
        Row("429s received", f"{figures.api.throttled:,}",
            f"{figures.api.retry_after_violations:,} requests sent before their Retry-After had passed"),
        Row("records failed", f"{figures.failed:,}", f"of {figures.records:,} in {figures.seconds:.1f} s",
            None, "0", figures.failed == 0),
        *cost_rows(figures),
    ]


if __name__ == "__main__":
    main()
