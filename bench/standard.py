"""The standard set (`make bench`): every scenario at sizes that finish in about 15 minutes on 2 cores, its tables
printed and written to bench/results/<date>-<database>.md with a summary of the headline figures on top.

    python bench/standard.py [--repeat 1] [--scale 1.0] [--only full_sync latency_bound ...]

Each scenario runs as its own process (its own fresh database and workers). With `--repeat N` every scenario runs
N times; the summary shows each run's headline figures and their median, which is what the targets are judged on.
`--scale` multiplies the sizes (1.0: the standard set; the issue's full sizes are the scripts' defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import psutil
from report import HEADLINES_ENV, markdown_table, number, provenance

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"

# script, its arguments as (flag, standard size or None for a plain flag)
STANDARD = {
    "full_sync": [("--accounts", 5000), ("--contacts", 5000), ("--products", 1250), ("--quotes", 500)],
    "latency_bound": [("--accounts", 5000)],
    "throttled": [("--accounts", 3000)],
    "scale": [("--accounts", 50000)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the standard sizes")
    parser.add_argument("--only", nargs="+", choices=list(STANDARD), help="run only these scripts")
    parser.add_argument("--output", type=Path, help="the results file (default: bench/results/<date>-<db>.md)")
    args = parser.parse_args()

    database = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    broker = "redis" if os.environ.get("REDIS_URL") else "embedded-redis"
    started = datetime.now(UTC)
    output = args.output or RESULTS / f"{started:%Y-%m-%d}-{database}.md"
    sections: list[str] = []
    headlines: list[list[dict]] = []  # per repetition
    for repetition in range(args.repeat):
        figures: list[dict] = []
        for script in args.only or STANDARD:
            command = [sys.executable, f"bench/{script}.py"]
            for flag, size in STANDARD[script]:
                command += [flag, str(max(1, round(size * args.scale)))]
            busy = psutil.cpu_percent(interval=2)  # between scripts: what others run on the machine
            with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as notes:
                print(f"$ {' '.join(command[1:])}  # run {repetition + 1} of {args.repeat}; CPU {busy:.0f}% busy "
                      "before it", flush=True)
                result = subprocess.run(command, env={**os.environ, HEADLINES_ENV: notes.name}, stdout=subprocess.PIPE,
                                        text=True, check=False, cwd=BENCH.parent)
                print(result.stdout, flush=True)
                if result.returncode:
                    sys.exit(f"{script} failed with exit code {result.returncode}")
                figures += [json.loads(line) for line in notes.read().splitlines()]
            sections.append(f"<!-- {' '.join(command[1:])} (run {repetition + 1} of {args.repeat}; the machine's CPU "
                            f"was {busy:.0f}% busy in the 2 s before it) -->\n\n" + result.stdout.strip())
        headlines.append(figures)

    summary = summary_table(headlines)
    text = "\n\n".join([
        f"# Benchmarks: {database}, {broker}, {started:%Y-%m-%d %H:%M} UTC",
        f"{provenance()}; "
        "each scenario's tables follow the summary, in the order they ran.",
        "## Summary (targets judged on the median)", summary, "## Scenarios", *sections,
    ]) + "\n"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(summary)
    print(f"\nwritten to {output}")


def summary_table(headlines: list[list[dict]]) -> str:
    """One row per headline figure: its value in each run, the median, the target and whether the median meets it."""
    order: list[tuple[str, str]] = []
    values: dict[tuple[str, str], list[float]] = {}
    targets: dict[tuple[str, str], dict] = {}
    for run in headlines:
        for item in run:
            key = (item["scenario"], item["figure"])
            if key not in values:
                order.append(key)
                values[key] = []
            values[key].append(item["value"])
            targets[key] = item
    rows = []
    for key in order:
        median = statistics.median(values[key])
        target = targets[key]
        bounds = [f"≥ {target['at_least']:g}" if target["at_least"] is not None else "",
                  f"≤ {target['at_most']:g}" if target["at_most"] is not None else ""]
        text = " and ".join(b for b in bounds if b)
        if target["at_least"] is not None and target["at_least"] == target["at_most"]:
            text = f"= {target['at_least']:g}"
        met = ((target["at_least"] is None or median >= target["at_least"])
               and (target["at_most"] is None or median <= target["at_most"]))
        rows.append([*key, " / ".join(_figure(v) for v in values[key]), f"**{_figure(median)}**",
                     f"{text}: **{'met' if met else 'missed'}**" if text else ""])
    return markdown_table(["scenario", "figure", "runs", "median", "target"], rows)


def _figure(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else number(value)


if __name__ == "__main__":
    main()
