"""What a finished run's result is, decided once: its status, the note that goes with it, and the exit code the
commands (`sync --wait`, `retry --wait`) give for it. The API and the admin show the same status and note.

A bulk run is amber (warning) or red (failed) for what went wrong in it, not for what was already known to be
wrong: records still failing with unchanged content are left out of incremental runs (services.failing), and a
failure that repeats the record's previous one, content and error alike, is known. A run whose only failures
are known ones succeeds, and its note says that nothing new failed and how many records are still failing.
Retries and one-record runs report every failure: someone asked for exactly those records.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from integration.models import RecordStatus, RunStatus, StageStatus, SyncRun
from integration.services import failing

EXIT_CODES = {RunStatus.SUCCEEDED: 0, RunStatus.WARNING: 1}  # anything else (failed, cancelled): 2


@dataclass(frozen=True)
class RunResult:
    status: str
    note: str
    known_failures: int  # failures of the run that only repeat a known one


def run_result(*, run: SyncRun, counts: Mapping[str, int], stage_statuses: Collection[str]) -> RunResult:
    """The status and note a run ends with, from its counts and its stages."""
    failed = counts.get("failed", 0)
    known = failing.repeated_failures(run=run) if run.is_bulk and failed else 0
    new = failed - known
    succeeded = sum(counts.get(name, 0) for name in ("created", "updated", "unchanged", "deleted"))
    if StageStatus.FAILED in stage_statuses or (new and not succeeded):
        status = RunStatus.FAILED
    elif new or _stage_warned_without_failures(run, stage_statuses):
        status = RunStatus.WARNING
    else:
        status = RunStatus.SUCCEEDED
    still = 0
    if run.is_bulk:
        maps = [stage.entity_map for stage in run.stages.select_related("entity_map")]
        still = failing.failing_now(entity_maps=maps).exclude(run=run).count()
    known_parts = []
    if known:
        known_parts.append(f"{known} failed again as before (same content, same error)")
    if still:
        known_parts.append(f"{still} still failing from earlier runs, unchanged since, not tried again")
    if not known_parts:
        return RunResult(status, "", known)
    lead = "nothing new failed" if not new else f"{new} records failed"
    return RunResult(status, f"{lead}; {'; '.join(known_parts)}: see the failing-records queue", known)


def _stage_warned_without_failures(run: SyncRun, stage_statuses: Collection[str]) -> bool:
    """A stage can end in warning for something other than its records (a paused entity map skipped it): the run
    says so too. A stage in warning for failed records is judged by those records above."""
    if StageStatus.WARNING not in stage_statuses:
        return False
    return run.stages.filter(status=StageStatus.WARNING).exclude(records__status=RecordStatus.FAILED).exists()


def run_exit_code(*, run: SyncRun) -> int:
    """0 succeeded, 1 warning (some records failed), 2 failed or cancelled."""
    return EXIT_CODES.get(run.status, 2)
