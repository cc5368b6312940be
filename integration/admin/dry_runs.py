"""Dry runs in the admin: what a run would create, update, leave unchanged or fail on, per entity map, with the
fields that would change. Read-only; a dry run is started from its project's page ("Dry run")."""

from __future__ import annotations

from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from integration.admin.display import duration_text, status_badge
from integration.admin.links import error_html
from integration.models import DryRun, DryRunRecord
from integration.services.dry_runs import dry_run_report


@admin.register(DryRun)
class DryRunAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "scope", "status_badge", "totals", "duration", "created_at", "requested_by")
    list_display_links = ("id",)
    list_filter = ("project", "status")
    fields = ("project", "scope", "status_badge", "requested_by", "trigger", "created_at", "duration", "message",
              "report")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="reads")
    def scope(self, obj: DryRun) -> str:
        maps = ", ".join(obj.entity_maps) or "every enabled entity map"
        return f"{'everything' if obj.full else 'what changed since the last run'} ({maps})"

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: DryRun) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="would")
    def totals(self, obj: DryRun) -> str:
        sums = {name: sum(row.get(name, 0) for row in obj.summary)
                for name in ("create", "update", "unchanged", "would_fail", "delete")}
        return (f"create {sums['create']} · update {sums['update']} · unchanged {sums['unchanged']} · "
                f"fail {sums['would_fail']}" + (f" · deleted at source {sums['delete']}" if sums["delete"] else ""))

    @admin.display(description="duration")
    def duration(self, obj: DryRun) -> str:
        return duration_text(obj.started_at, obj.finished_at)

    @admin.display(description="report")
    def report(self, obj: DryRun) -> str:
        if obj.status in (DryRun.Status.QUEUED, DryRun.Status.RUNNING):
            return format_html('<meta http-equiv="refresh" content="3">{} (this page refreshes until it is done)',
                               "Queued: a worker takes it soon" if obj.status == DryRun.Status.QUEUED else
                               "Reading and comparing")
        records = dry_run_report(dry_run=obj)
        maps = []
        for row in obj.summary:
            shown = [{"record": record, "error": error_html(record) if record.error_message else "",
                      "link": _record_link(record)} for record in records.get(row["entity_map"], [])]
            maps.append({"summary": row, "records": shown})
        return render_to_string("admin/integration/dry_run_report.html", {"maps": maps})


def _record_link(record: DryRunRecord) -> str:
    return reverse("admin:integration_entitymap_preview", args=[record.entity_map_id]) + f"?key={record.source_key}"
