"""Run history and the records of each run: read-only, with retry and cancel as actions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from integration.admin.display import counts_text, duration_text, pretty_json, progress_bar, status_badge
from integration.models import (
    ACTIVE_RUN_STATUSES,
    EntityMap,
    RecordStatus,
    RecordSync,
    SyncRun,
    WebhookDelivery,
    WorkerHeartbeat,
)
from integration.services import retries, runs


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


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "project", "mode", "trigger", "status_badge", "counts_summary", "duration", "progress",
                    "created_at")
    list_display_links = ("id",)
    list_filter = ("project", "status", "mode", "trigger", "is_bulk")
    search_fields = ("requested_by", "message")
    list_select_related = ("project",)
    date_hierarchy = "created_at"
    actions = ["retry_failed", "cancel"]
    readonly_fields = ("stages_table", "records_links", "failures")
    fields = ("project", "mode", "trigger", "is_bulk", "status", "requested_by", "created_at", "started_at",
              "finished_at", "message", "counts", "stages_table", "records_links", "failures")

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
        return render_to_string("admin/integration/failures_table.html", {"records": failed})

    @admin.action(description="Retry the failed records of the selected runs", permissions=["change"])
    def retry_failed(self, request, queryset):
        for run in queryset:
            try:
                retry = retries.run_retry_failed(run=run, requested_by=request.user.get_username())
            except retries.NothingToRetry as exc:
                self.message_user(request, f"run #{run.pk}: {exc}", messages.WARNING)
            else:
                url = reverse("admin:integration_syncrun_change", args=[retry.pk])
                self.message_user(request, format_html('run #{}: retrying its failed records in <a href="{}">run '
                                                       '#{}</a>', run.pk, url, retry.pk), messages.SUCCESS)

    @admin.action(description="Cancel the selected runs in progress", permissions=["change"])
    def cancel(self, request, queryset):
        for run in queryset:
            if runs.run_cancel(run=run, reason=f"cancelled by {request.user.get_username()} in the admin"):
                self.message_user(request, f"run #{run.pk} cancelled", messages.SUCCESS)
            else:
                self.message_user(request, f"run #{run.pk} was not in progress", messages.WARNING)


class RunFilter(admin.SimpleListFilter):
    """The latest runs as choices; any run id works in the URL (links from a run's page use it)."""

    title = "run"
    parameter_name = "run"

    def lookups(self, request, model_admin):
        return [(str(run.pk), str(run)) for run in SyncRun.objects.select_related("project")[:15]]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(run_id=int(value))
        return queryset


class EntityMapFilter(admin.SimpleListFilter):
    title = "entity map"
    parameter_name = "entity_map"

    def lookups(self, request, model_admin):
        return [(str(m.pk), str(m)) for m in EntityMap.objects.select_related("project")]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(entity_map_id=int(value))
        return queryset


@admin.register(RecordSync)
class RecordSyncAdmin(ReadOnlyAdmin):
    list_display = ("id", "run_link", "entity_map", "source_key", "operation", "status_badge", "outcome",
                    "attempts", "error_summary", "finished_at")
    list_display_links = ("id",)
    list_filter = ("status", EntityMapFilter, RunFilter, "operation", "outcome", "conflict")
    search_fields = ("source_key", "source_id", "destination_key", "previous_destination_key", "error_message")
    list_select_related = ("entity_map__project", "run")
    actions = ["retry"]
    readonly_fields = ("snapshot_json", "payload_json")
    fieldsets = (
        (None, {"fields": ("run", "stage", "entity_map", "source_key", "source_id", "operation", "status",
                           "outcome", "attempts", "destination_key", "previous_destination_key", "notes",
                           "conflict", "retry_of")}),
        ("Error", {"fields": ("error_type", "error_field", "error_message")}),
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
        if not obj.error_message:
            return ""
        text = f"{obj.error_field}: {obj.error_message}" if obj.error_field else obj.error_message
        return text if len(text) <= 120 else text[:117] + "…"

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
        url = reverse("admin:integration_syncrun_change", args=[run.pk])
        self.message_user(request, format_html('Retrying {} failed records in <a href="{}">run #{}</a>',
                                               run.records.count(), url, run.pk), messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "project", "message", "entity", "record_id", "run")
    list_filter = ("project", "message", "entity")
    search_fields = ("record_id",)



@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "seen_at", "tasks_seen", "planning", "gone_at")
