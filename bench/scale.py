"""Scenario 6, scale: a full sync of 200,000 accounts through scenario 1's path (the same workers), with the
memory of each worker process before the run and at 10%, 50% and 100% of it. Target: RSS does not grow with the
record count (from 10% of the records on, once every process has synced records and one has planned them).

    python bench/scale.py [--accounts 200000] [--workers 2 --pool threads --concurrency 16]
"""

from __future__ import annotations

import argparse
import time

import harness  # noqa: F401 - sets up Django first
from harness import Environment, add_worker_arguments
from report import Row, cost_headlines, cost_rows, headline, number, scenario_table

from integration.models import OPEN_RECORD_STATUSES, RecordSync, SyncRun

CHECKPOINTS = (0.0, 0.1, 0.5, 1.0)  # 0: before the run
FLAT = 0.10  # RSS at the end within 10% of RSS at the first checkpoint


class Checkpoints:
    """Notes each worker process's RSS before the run and when its finished records pass 10% and 50% (polled every
    2 s)."""

    def __init__(self, env: Environment, total: int):
        self.env = env
        self.total = total
        self.samples: dict[float, dict[str, float]] = {}
        self._next_poll = 0.0

    def start(self) -> None:
        self.samples[CHECKPOINTS[0]] = self.env.rss.latest()

    def __call__(self, run: SyncRun) -> None:
        if time.monotonic() < self._next_poll:
            return
        self._next_poll = time.monotonic() + 2
        done = RecordSync.objects.filter(run=run).exclude(status__in=OPEN_RECORD_STATUSES).count()
        for checkpoint in CHECKPOINTS[1:-1]:
            if checkpoint not in self.samples and done >= checkpoint * self.total:
                self.samples[checkpoint] = self.env.rss.latest()

    def finish(self) -> None:
        self.samples[CHECKPOINTS[-1]] = self.env.rss.latest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    add_worker_arguments(parser)
    args = parser.parse_args()

    with Environment.from_args(args) as env:
        seeded = env.emulators.seed(accounts=args.accounts)
        project = env.project()
        checkpoints = Checkpoints(env, seeded["accounts"])
        checkpoints.start()
        figures = env.run(project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"], on_poll=checkpoints)
        checkpoints.finish()
        rows = [Row("**records/s**", f"**{number(figures.rate)}**",
                    f"{figures.records:,} records ({figures.failed} failed) in {figures.seconds:.0f} s")]
        first = checkpoints.samples.get(CHECKPOINTS[1], {})
        for label, end in sorted(checkpoints.samples[CHECKPOINTS[-1]].items()):
            seen = " → ".join(f"{checkpoints.samples[c][label]:.0f}" if label in checkpoints.samples.get(c, {})
                              else "-" for c in CHECKPOINTS)
            start = first.get(label)
            growth = end / start - 1 if start else None
            rows.append(Row(f"RSS of {label} before → 10% → 50% → 100% (MiB)", seen,
                            f"{start:.0f} MiB at 10%" if start else "", None if start is None else end / start,
                            f"≤ {1 + FLAT:.1f}", None if growth is None else growth <= FLAT))
            if start:
                headline("6. scale", f"RSS of {label}, 100% ÷ 10%", end / start, at_most=1 + FLAT)
        rows += cost_rows(figures)
        cost_headlines("6. scale", figures)
        print(scenario_table(f"Scenario 6: full sync of {args.accounts:,} accounts, memory", rows, [
            *env.notes(), f"seeded: {seeded['accounts']:,} accounts", f"run #{figures.run.pk}: {figures.run.status}"]))


if __name__ == "__main__":
    main()
