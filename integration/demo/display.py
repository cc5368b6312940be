"""How the demo shows a run: a live table while it runs (redrawn in place on a terminal), a summary when done."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

from integration.models import ACTIVE_RUN_STATUSES, SyncRun
from integration.services import runs


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[object]) -> str:
        return "  ".join(str(cell).rjust(width) if n else str(cell).ljust(width)
                         for n, (cell, width) in enumerate(zip(cells, widths, strict=False)))

    return "\n".join([line(headers), "  ".join("-" * width for width in widths), *(line(row) for row in rows)])


def _progress_rows(run: SyncRun, now: float, started: dict[str, float]) -> list[list[object]]:
    rows = []
    for stage in runs.run_progress(run=run):
        name = stage["entity_map"]
        if stage["status"] not in ("pending",) and name not in started:
            started[name] = now
        elapsed = (stage["finished_at"] - stage["started_at"]).total_seconds() \
            if stage["finished_at"] and stage["started_at"] else now - started.get(name, now)
        rate = f"{stage['done'] / elapsed:,.0f}/s" if elapsed > 0.5 and stage["done"] else ""
        rows.append([name, stage["status"], f"{stage['done']}/{stage['records']}", stage["failed"] or "", rate])
    return rows


def watch(run: SyncRun, *, out: TextIO = sys.stdout, interval: float = 0.5) -> SyncRun:
    """Show the run's progress until it ends; on a terminal the table is redrawn in place."""
    interactive = out.isatty()
    started: dict[str, float] = {}
    drawn_lines = 0
    last_plain = 0.0
    headers = ["entity map", "status", "done", "failed", "rate"]
    while True:
        run.refresh_from_db()
        now = time.monotonic()
        text = table(headers, _progress_rows(run, now, started))
        finished = run.status not in ACTIVE_RUN_STATUSES
        if interactive:
            if drawn_lines:
                out.write(f"\x1b[{drawn_lines}F\x1b[J")
            out.write(text + "\n")
            drawn_lines = text.count("\n") + 1
        elif finished or now - last_plain > 5:
            out.write(text + "\n\n")
            last_plain = now
        out.flush()
        if finished:
            return run
        time.sleep(interval)


def check_text(check) -> str:
    """One line on the run's pre-flight check, and its problems when it found any."""
    if check is None:
        return "   pre-flight check: not run\n"
    lines = [f"   pre-flight check #{check.pk}: {check.status} ({len(check.problems)} problems, {check.seconds:.1f} s)"]
    lines += [f"     {p['severity']} {p['entity_map']} {p['field']}: {p['message']}" for p in check.problems]
    return "\n".join(lines) + "\n"


def summary_rows(run: SyncRun, eligible: dict[str, int]) -> list[dict]:
    """Per entity map: eligible, created, updated, unchanged, skipped, failed, seconds."""
    summary = []
    for stage in run.stages.select_related("entity_map").order_by("order"):
        counts = {key: 0 for key in ("created", "updated", "unchanged", "skipped", "deleted")}
        failed = 0
        for status, outcome in stage.records.values_list("status", "outcome"):
            if status == "failed":
                failed += 1
            elif outcome in counts:
                counts[outcome] += 1
        seconds = (stage.finished_at - stage.started_at).total_seconds() \
            if stage.finished_at and stage.started_at else 0.0
        summary.append({"entity_map": stage.entity_map.name, "eligible": eligible.get(stage.entity_map.name, 0),
                        **counts, "failed": failed, "seconds": round(seconds, 1)})
    return summary


def summary_table(rows: list[dict]) -> str:
    headers = ["entity map", "eligible", "created", "updated", "unchanged", "skipped", "failed", "seconds"]
    return table(headers, [[row["entity_map"], row["eligible"], row["created"], row["updated"], row["unchanged"],
                            row["skipped"], row["failed"], f"{row['seconds']:.1f}"] for row in rows])
