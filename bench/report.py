"""How benchmarks print: one markdown table per scenario (figure, value, the bound or baseline it is compared to,
the ratio, the target), with the machine and the settings underneath."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HEADLINES_ENV = "P2C_BENCH_HEADLINES"


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    bound: str = ""  # the bound or baseline, with its unit and where it comes from
    ratio: float | None = None
    target: str = ""  # e.g. "≥ 0.6"
    met: bool | None = None  # None: no target, or one this row does not decide


def number(value: float, unit: str = "") -> str:
    """A figure as people read it: 1,234 / 12.3 / 0.12, with its unit."""
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def provenance() -> str:
    """What ran, on which code: "`python bench/batched.py limits --repeat 3` at commit 1a2b3c4"."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                            text=True, check=False).stdout.strip()
    command = " ".join(["python", f"bench/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    return f"`{command}` at commit {commit or 'unknown'}"


def markdown_table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def scenario_table(title: str, rows: list[Row], notes: list[str]) -> str:
    """The scenario's section: a heading, the table, then one line per note (machine, workers, sizes)."""
    cells = []
    for row in rows:
        target = row.target
        if row.met is not None:
            target = f"{target}: **{'met' if row.met else 'missed'}**"
        cells.append([row.figure, row.value, row.bound, "" if row.ratio is None else f"{row.ratio:.2f}", target])
    table = markdown_table(["figure", "value", "bound or baseline", "ratio", "target"], cells)
    return "\n".join([f"### {title}", "", table, "", *(f"- {note}" for note in notes), ""])


def cost_rows(figures) -> list[Row]:
    """What each record of a run (harness.RunFigures) cost: API requests, database statements, worker CPU, and
    the peak memory of each worker process."""
    records = max(figures.records, 1)
    kinds = ", ".join(f"{kind} {n / records:.2f}" for kind, n in figures.statements.most_common()
                      if n / records >= 0.005)
    return [
        Row("API requests per record", number(figures.api.requests / records),
            f"{figures.api.reads:,} reads, {figures.api.writes:,} writes, {figures.api.throttled:,} answered 429"),
        Row("database statements per record", number(figures.queries / records), kinds),
        Row("worker CPU per record", number(figures.worker_cpu / records * 1000, "ms"),
            "elsewhere: " + (f"PostgreSQL {figures.database_cpu / records * 1000:.2f} ms, " if figures.database_cpu
                             else "") + f"benchmark process (emulators) {figures.bench_cpu / records * 1000:.2f} ms"),
        *(Row(f"peak RSS, {label}", f"{mib:.0f} MiB") for label, mib in sorted(figures.rss_peaks.items())),
    ]


def headline(scenario: str, figure: str, value: float, *, at_least: float | None = None,
             at_most: float | None = None) -> None:
    """Note one of the scenario's headline figures (and its target) for the summary bench/standard.py writes,
    when it asked for them; the median over repeated runs is judged against the target."""
    path = os.environ.get(HEADLINES_ENV)
    if path:
        with open(path, "a") as file:
            file.write(json.dumps({"scenario": scenario, "figure": figure, "value": value, "at_least": at_least,
                                   "at_most": at_most}) + "\n")


def cost_headlines(scenario: str, figures) -> None:
    """The run's rate and per-record costs as headline figures."""
    records = max(figures.records, 1)
    headline(scenario, "records/s", figures.rate)
    headline(scenario, "API requests per record", figures.api.requests / records)
    headline(scenario, "database statements per record", figures.queries / records)
    headline(scenario, "worker CPU ms per record", figures.worker_cpu / records * 1000)
    if figures.database_cpu:
        headline(scenario, "PostgreSQL CPU ms per record", figures.database_cpu / records * 1000)
    headline(scenario, "largest peak RSS of a worker process (MiB)", max(figures.rss_peaks.values(), default=0))
