"""Planning in constant memory (issue 14): the planner's peak resident memory over its start, planning the Accounts
stage of a full run at a small and a large size, each in a fresh process of its own (bench/planner_process.py).

    python bench/planning_memory.py [--sizes 20000 200000] [--repeat 3]

Target: the peak at the large size within 1.2 x the peak at the small one. Planning alone is measured: no worker
consumes the queue meanwhile (the records it queues are dropped afterwards), so what grows is the planner's, not
a syncing thread's. Each size is planned `--repeat` times, the sizes alternated, on a fresh database each time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import harness  # noqa: F401 - sets up Django first
from harness import ROOT, Emulators, create_project, machine, reset_database, results_append
from report import Row, number, scenario_table

from integration.models import RecordSync, SyncRun
from integration.services import runs
from p2c_project.celery import app

TARGET = 1.2


def plan_once(emulators: Emulators, accounts: int) -> dict:
    reset_database()
    emulators.reset()
    seeded = emulators.seed(accounts=accounts)["accounts"]
    project = create_project(emulators)
    run = runs.run_start(project=project, mode=SyncRun.Mode.FULL, entity_maps=["Accounts"],
                         trigger=SyncRun.Trigger.COMMAND, check=False)
    stage = run.stages.get()
    app.control.purge()  # the run's first message: this planner, not a worker, plans the stage
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "planner_process.py"), str(stage.pk)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["planned"] = RecordSync.objects.filter(stage=stage).count()
    app.control.purge()  # the records it queued: nobody syncs them
    if figures["planned"] != seeded:
        raise RuntimeError(f"planned {figures['planned']:,} of {seeded:,} accounts; see the planner's output:\n"
                           f"{done.stderr[-2000:]}")
    print(f"  {accounts:,} accounts: start {figures['start_mib']:.1f} MiB, peak {figures['peak_mib']:.1f} MiB, "
          f"planned in {figures['seconds']:.1f} s", flush=True)
    return figures


def spread(values: list[float], unit: str) -> str:
    return (f"{number(statistics.median(values), unit)} ({number(min(values))}-{number(max(values))}, "
            f"{len(values)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[20_000, 200_000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    emulators = Emulators()
    try:
        results: dict[int, list[dict]] = {size: [] for size in args.sizes}
        for _ in range(args.repeat):
            for size in args.sizes:
                results[size].append(plan_once(emulators, size))
    finally:
        emulators.stop()
    small, large = (results[size] for size in args.sizes)
    peak_small = statistics.median(f["peak_mib"] for f in small)
    peak_large = statistics.median(f["peak_mib"] for f in large)
    rows = []
    for size, runs_ in results.items():
        rows += [Row(f"{size:,} accounts: RSS at start", spread([f["start_mib"] for f in runs_], "MiB")),
                 Row(f"{size:,} accounts: peak RSS while planning", spread([f["peak_mib"] for f in runs_], "MiB")),
                 Row(f"{size:,} accounts: growth, peak over start",
                     spread([f["peak_mib"] - f["start_mib"] for f in runs_], "MiB")),
                 Row(f"{size:,} accounts: planned per second",
                     spread([f["planned"] / f["seconds"] for f in runs_], "records/s"))]
    ratio = peak_large / peak_small
    rows.append(Row(f"**peak at {args.sizes[1]:,} ÷ peak at {args.sizes[0]:,}**", f"**{ratio:.2f} x**",
                    "medians of the peaks", ratio, f"≤ {TARGET}", ratio <= TARGET))
    text = scenario_table("Planning memory: the planner's peak RSS at two sizes", rows, [
        machine(),
        "each plan in a fresh process (bench/planner_process.py); the peak is the kernel's high-water mark (VmHWM)",
        "the Accounts stage of a full run; no worker consumes the queue while it plans"])
    results_append("planning-memory", text)


if __name__ == "__main__":
    main()
