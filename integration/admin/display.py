"""Small renderers the admin pages share: JSON, durations, status badges, progress bars. Presentation only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html

from integration.models import RecordStatus, RunStatus

STATUS_COLOURS = {
    RunStatus.QUEUED: "#6b7280", RunStatus.RUNNING: "#2563eb", RunStatus.SUCCEEDED: "#15803d",
    RunStatus.WARNING: "#b45309", RunStatus.FAILED: "#b91c1c", RunStatus.CANCELLED: "#6b7280",
    RecordStatus.PENDING: "#6b7280", RecordStatus.WAITING: "#b45309", RecordStatus.UNCHANGED: "#15803d",
    RecordStatus.SKIPPED: "#6b7280",
}


def pretty_json(value: object) -> str:
    if value in (None, "", {}, []):
        return "—"
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="p2c-json" style="white-space:pre-wrap;max-height:32em;overflow:auto;'
                       'margin:0">{}</pre>', text)


def status_badge(status: str, label: str | None = None) -> str:
    colour = STATUS_COLOURS.get(status, "#374151")
    return format_html('<span class="p2c-status p2c-status-{}" style="color:#fff;background:{};padding:1px 6px;'
                       'border-radius:8px;white-space:nowrap">{}</span>', status, colour, label or status)


def duration_text(started: datetime | None, finished: datetime | None) -> str:
    """'1 min 05 s' style; a run still going counts up to now."""
    if started is None:
        return "—"
    seconds = int(((finished or timezone.now()) - started) / timedelta(seconds=1))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_bar(done: int, total: int, failed: int = 0) -> str:
    """A bar of done records (failed ones in red) out of the total, with the numbers beside it."""
    if not total:
        return format_html('<span class="p2c-progress-empty">{}</span>', "no records yet")
    ok_width = round(100 * (done - failed) / total, 1)
    failed_width = round(100 * failed / total, 1)
    return format_html(
        '<span class="p2c-progress" title="{done} of {total} done, {failed} failed" style="display:inline-block;'
        'width:120px;height:10px;background:#e5e7eb;border-radius:5px;overflow:hidden;vertical-align:middle">'
        '<span style="display:inline-block;height:10px;width:{ok}%;background:#15803d"></span>'
        '<span style="display:inline-block;height:10px;width:{bad}%;background:#b91c1c"></span></span> '
        '<span style="white-space:nowrap">{done} / {total}</span>',
        done=done, total=total, failed=failed, ok=ok_width, bad=failed_width)


def counts_text(counts: dict) -> str:
    """The non-zero outcomes of a run, in a fixed order: 'created 10 · updated 2 · failed 1'."""
    order = ("created", "updated", "unchanged", "deleted", "skipped", "failed", "open")
    parts = [f"{name} {counts[name]}" for name in order if counts.get(name)]
    return " · ".join(parts) or "—"
