"""Run history and the records of each run: read-only, with retry and cancel as buttons on their pages (and as
list actions), each error linked to where it is fixed."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from integration.admin.buttons import Button, ButtonsMixin
from integration.admin.display import counts_text, duration_text, pretty_json, progress_bar, status_badge
from integration.admin.filters import EntityMapFilter, IdFilter
from integration.admin.links import error_html, fix_links, page_fix_finder
from integration.models import (
    ACTIVE_RUN_STATUSES,
    RecordStatus,
    RecordSync,
    SyncRun,
    WebhookDelivery,
    WorkerHeartbeat,
)
from integration.services import failing, retries, runs
from integration.services.fixes import failure_fixes
from integration.services.run_results import run_exit_code

ACT = "integration.change_syncrun"


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the engine only; people read it and act on it through actions."""

    def get_readonly_fields(self, request, obj=None):
        return [*(field.name for field in self.model._meta.fields), *self.readonly_fields]

    def has_add_permission(self, request):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)


def _started(admin_: admin.ModelAdmin, request, run: SyncRun, what: str) -> None:
    url = reverse("admin:integration_syncrun_change", args=[run.pk])
    admin_.message_user(request, format_html('{} in <a href="{}">run #{}</a>', what, url, run.pk), messages.SUCCESS)


@admin.register(SyncRun)
class SyncRunAdmin(ButtonsMixin, ReadOnlyAdmin):
    list_display = ("id", "project", "mode", "trigger", "status_badge", "counts_summary", "duration", "progress",
                    "created_at")
    list_display_links = ("id",)
    list_filter = ("project", "status", "mode", "trigger", "is_bulk")
    search_fields = ("requested_by", "message")
    list_select_related = ("project",)
    date_hierarchy = "created_at"
    actions = ["retry_failed", "cancel"]
    readonly_fields = ("exit_code", "stages_table", "records_links", "failures")
    fields = ("project", "mode", "trigger", "is_bulk", "status", "exit_code", "requested_by", "created_at",
              "started_at", "finished_at", "message", "counts", "stages_table", "records_links", "failures")

    def object_buttons(self, request, obj: SyncRun) -> list[Button]:
        buttons = []
        if obj.status in ACTIVE_RUN_STATUSES:
            buttons.append(Button("cancel", "Cancel", ACT, self._cancel_one, danger=True,
                                  title="Open records are skipped; change cursors stay where they were"))
        if obj.records.filter(status=RecordStatus.FAILED).exists():
            buttons.append(Button("retry-failed", "Retry failed", ACT, self._retry_one,
                                  title="Retry this run's records that are still failing, each read again first"))
        return buttons

    def _cancel_one(self, request, run: SyncRun) -> None:
        self.cancel(request, SyncRun.objects.filter(pk=run.pk))

    def _retry_one(self, request, run: SyncRun) -> None:
        self.retry_failed(request, SyncRun.objects.filter(pk=run.pk))

    @admin.display(description="exit code")
    def exit_code(self, obj: SyncRun) -> str:
        if obj.status in ACTIVE_RUN_STATUSES:
            return "— (still going)"
        return f"{run_exit_code(run=obj)} (what sync --wait and retry --wait exit with)"

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: SyncRun) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="counts")
    def counts_summary(self, obj: SyncRun) -> str:
        return counts_text(obj.counts if obj.status not in ACTIVE_RUN_STATUSES else runs.run_counts(run=obj))

    @admin.display(description="duration")
    def duration(self, obj: SyncRun) -> str:
        return duration_text(obj.started_at, obj.finished_at)

    @admin.display(description="progress")
    def progress(self, obj: SyncRun) -> str:
        if obj.status in ACTIVE_RUN_STATUSES:
            stages = runs.run_progress(run=obj)
            return progress_bar(sum(s["done"] for s in stages), sum(s["records"] for s in stages),
                                sum(s["failed"] for s in stages))
        total = obj.counts.get("total", 0)
        return progress_bar(total - obj.counts.get("open", 0), total, obj.counts.get("failed", 0))

    @admin.display(description="stages")
    def stages_table(self, obj: SyncRun) -> str:
        stages = runs.run_progress(run=obj)
        for stage in stages:
            stage["bar"] = progress_bar(stage["done"], stage["records"], stage["failed"])
            stage["badge"] = status_badge(stage["status"])
            stage["duration"] = duration_text(stage["started_at"], stage["finished_at"])
        return render_to_string("admin/integration/stages_table.html", {"stages": stages})

    @admin.display(description="records")
    def records_links(self, obj: SyncRun) -> str:
        url = reverse("admin:integration_recordsync_changelist")
        return format_html('<a href="{url}?run={run}">all records</a> · '
                           '<a href="{url}?run={run}&amp;status__exact=failed">failed records</a>',
                           url=url, run=obj.pk)

    @admin.display(description="first failures")
    def failures(self, obj: SyncRun) -> str:
        failed = obj.records.filter(status=RecordStatus.FAILED).select_related("entity_map").order_by("id")[:20]
        finder = page_fix_finder(fresh=True)
        rows = [(record, error_html(record, finder=finder, limit=200)) for record in failed]
        return render_to_string("admin/integration/failures_table.html", {"rows": rows})

    @admin.action(description="Retry the failed records of the selected runs", permissions=["change"])
    def retry_failed(self, request, queryset):
        for run in queryset:
            try:
                retry = retries.run_retry_failed(run=run, requested_by=request.user.get_username())
            except retries.NothingToRetry as exc:
                self.message_user(request, f"run #{run.pk}: {exc}", messages.WARNING)
            else:
                _started(self, request, retry, f"run #{run.pk}: retrying its failed records")

    @admin.action(description="Cancel the selected runs in progress", permissions=["change"])
    def cancel(self, request, queryset):
        for run in queryset:
            if runs.run_cancel(run=run, reason=f"cancelled by {request.user.get_username()} in the admin"):
                self.message_user(request, f"run #{run.pk} cancelled", messages.SUCCESS)
            else:
                self.message_user(request, f"run #{run.pk} was not in progress", messages.WARNING)


class RunFilter(IdFilter):
    """The latest runs as choices; any run id works in the URL (links from a run's page use it)."""

    title = "run"
    parameter_name = "run"
    field = "run_id"

    def options(self):
        return [(str(run.pk), str(run)) for run in SyncRun.objects.select_related("project")[:15]]


@admin.register(RecordSync)
class RecordSyncAdmin(ButtonsMixin, ReadOnlyAdmin):
    list_display = ("id", "run_link", "entity_map", "source_key", "operation", "status_badge", "outcome",
                    "attempts", "error_summary", "finished_at")
    list_display_links = ("id",)
    list_filter = ("status", EntityMapFilter, RunFilter, "operation", "outcome", "conflict")
    search_fields = ("source_key", "source_id", "destination_key", "previous_destination_key", "error_message")
    list_select_related = ("entity_map__project", "run")
    actions = ["retry"]
    readonly_fields = ("snapshot_json", "payload_json", "error_said", "fix", "failing_state")
    fieldsets = (
        (None, {"fields": ("run", "stage", "entity_map", "source_key", "source_id", "operation", "status",
                           "outcome", "attempts", "destination_key", "previous_destination_key", "notes",
                           "conflict", "retry_of")}),
        ("Error", {"fields": ("error_said", "fix", "failing_state", "error_type")}),
        ("Source snapshot", {"fields": ("snapshot_json",)}),
        ("Payload written", {"fields": ("payload_json",)}),
        ("Timing", {"fields": ("queued_at", "claimed_at", "next_attempt_at", "finished_at", "refresh")}),
    )

    def get_readonly_fields(self, request, obj=None):
        hidden = {"snapshot", "payload"}  # shown pretty-printed instead
        return [name for name in super().get_readonly_fields(request, obj) if name not in hidden]

    @admin.display(description="run", ordering="run")
    def run_link(self, obj: RecordSync) -> str:
        return format_html('<a href="{}">#{}</a>', reverse("admin:integration_syncrun_change", args=[obj.run_id]),
                           obj.run_id)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: RecordSync) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="error")
    def error_summary(self, obj: RecordSync) -> str:
        return error_html(obj, finder=page_fix_finder(), limit=120)

    def changelist_view(self, request, extra_context=None):
        page_fix_finder(fresh=True)
        return super().changelist_view(request, extra_context)

    @admin.display(description="error")
    def error_said(self, obj: RecordSync) -> str:
        return error_html(obj) or "—"

    @admin.display(description="where to fix it")
    def fix(self, obj: RecordSync) -> str:
        return fix_links(failure_fixes(record=obj)) or "—"

    @admin.display(description="failing now")
    def failing_state(self, obj: RecordSync) -> str:
        row = failing.failing_queue(ignored=None).filter(pk=obj.pk).first()
        if row is None:
            return "no" if obj.status != RecordStatus.FAILED else "no: a later run synced, skipped or retried it"
        queue = reverse("admin:integration_failingrecord_changelist")
        since = format_html("yes, since {}, failed {} time{}", f"{row.first_seen:%Y-%m-%d %H:%M}", row.failures,
                            "" if row.failures == 1 else "s")
        if row.ignored_reason is not None:
            return format_html('{}; <strong>ignored</strong> by {}: {} (<a href="{}?state=ignored">ignored '
                               "records</a>)", since, row.ignored_by or "someone", row.ignored_reason, queue)
        return format_html('{} (<a href="{}?entity_map={}">failing records of {}</a>)', since, queue,
                           obj.entity_map_id, obj.entity_map.name)

    def object_buttons(self, request, obj: RecordSync) -> list[Button]:
        if obj.status != RecordStatus.FAILED:
            return []
        buttons = [Button("retry", "Retry", ACT, self._retry_one, title="Read it again from its source and sync it")]
        row = failing.failing_queue(ignored=None).filter(pk=obj.pk).first()
        if row is None:
            return buttons
        like = failing.failures_like(record=obj).count()
        if like > 1:
            buttons.append(Button("retry-like", f"Retry all {like} failing like it", ACT, self._retry_like,
                                  title="Same entity map, error type and field"))
        if row.ignored_reason is None:
            buttons.append(Button("ignore", "Ignore…", ACT, url=reverse(
                "admin:integration_failingrecord_ignore") + f"?ids={obj.pk}"))
        else:
            buttons.append(Button("unignore", "Stop ignoring", ACT, self._unignore))
        return buttons

    def _retry_one(self, request, record: RecordSync) -> None:
        self.retry(request, RecordSync.objects.filter(pk=record.pk))

    def _retry_like(self, request, record: RecordSync) -> None:
        try:
            run = retries.failures_retry(records=failing.failures_like(record=record),
                                         requested_by=request.user.get_username())
        except retries.NothingToRetry as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return
        _started(self, request, run, f"Retrying {run.records.count()} records failing alike")

    def _unignore(self, request, record: RecordSync) -> None:
        failing.failures_unignore(records=RecordSync.objects.filter(pk=record.pk))
        self.message_user(request, f"{record.source_key} is back in the failing-records queue", messages.SUCCESS)

    @admin.display(description="snapshot")
    def snapshot_json(self, obj: RecordSync) -> str:
        return pretty_json(obj.snapshot)

    @admin.display(description="payload")
    def payload_json(self, obj: RecordSync) -> str:
        return pretty_json(obj.payload)

    @admin.action(description="Retry the selected failed records", permissions=["change"])
    def retry(self, request, queryset):
        try:
            run = retries.records_retry(records=queryset, requested_by=request.user.get_username())
        except retries.NothingToRetry as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return
        _started(self, request, run, f"Retrying {run.records.count()} failed records")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "project", "message", "entity", "record_id", "run")
    list_filter = ("project", "message", "entity")
    search_fields = ("record_id",)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "seen_at", "tasks_seen", "planning", "gone_at")
