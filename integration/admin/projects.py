"""Projects (schedule, pause, run now, organization mappings), their entity maps, field maps and value maps."""

from __future__ import annotations

from celery.schedules import crontab
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from integration.admin.checks import check_link
from integration.admin.secrets import SecretsForm
from integration.models import EntityMap, FieldMap, KeyLink, OrganizationMapping, Project, SyncRun, ValueMapEntry
from integration.services import runs, schedules
from integration.services.preflight import project_check
from integration.webhook_secret import webhook_secret_generate

COMPACT_JSON = {models.JSONField: {"widget": forms.Textarea(attrs={"rows": 1, "cols": 28})}}


class ProjectForm(SecretsForm):
    secret_fields = ("webhook_secret",)
    clear_webhook_secret = forms.BooleanField(required=False, label="Remove the stored webhook secret")

    class Meta:
        model = Project
        fields = "__all__"
        widgets = {"webhook_secret": forms.PasswordInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A strong secret on offer, made for this page only: stored once someone types it in and saves.
        self.fields["webhook_secret"].help_text = format_html(
            "{} A strong one, generated for you: <code>{}</code>", self.fields["webhook_secret"].help_text,
            webhook_secret_generate())

    def clean(self):
        """Refuse a schedule beat could not run, here rather than when beat first reads it."""
        cleaned = super().clean()
        minutes, expression = cleaned.get("schedule_minutes"), (cleaned.get("schedule_crontab") or "").strip()
        if minutes and expression:
            raise forms.ValidationError("Give either an interval in minutes or a crontab, not both.")
        if expression:
            try:
                crontab(**schedules.parse_crontab(expression))
            except (schedules.ScheduleInvalid, ValueError) as exc:
                self.add_error("schedule_crontab", str(exc))
        return cleaned


class OrganizationMappingInline(admin.TabularInline):
    model = OrganizationMapping
    extra = 0


class EntityMapInline(admin.TabularInline):
    """The project's maps in run order; each opens on its own page with its field maps."""

    model = EntityMap
    fields = ("order", "name", "enabled", "direction", "source_entity_set", "destination_entity_set")
    readonly_fields = ("name", "direction", "source_entity_set", "destination_entity_set")
    show_change_link = True
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    form = ProjectForm
    list_display = ("name", "template", "paused", "schedule", "sales_connection", "finops_connection",
                    "last_run", "last_check")
    list_filter = ("paused", "template")
    search_fields = ("name", "description")
    inlines = [OrganizationMappingInline, EntityMapInline]
    actions = ["run_incremental", "run_full", "check_environments", "pause", "resume"]
    fieldsets = (
        (None, {"fields": ("name", "description", "template", "sales_connection", "finops_connection",
                           "last_check")}),
        ("Schedule", {"fields": ("paused", "schedule_minutes", "schedule_crontab"),
                      "description": "Incremental runs every N minutes, or on a crontab (UTC). Leave both blank "
                                     "to run only on demand and from webhooks."}),
        ("Dataverse webhooks", {"fields": ("webhook_url", "webhook_secret", "clear_webhook_secret",
                                           "webhook_secret_in_query")}),
        ("History", {"fields": ("retention_days",)}),
    )
    readonly_fields = ("webhook_url", "last_check")

    @admin.display(description="schedule")
    def schedule(self, obj: Project) -> str:
        if obj.schedule_minutes:
            return f"every {obj.schedule_minutes} min"
        return obj.schedule_crontab or "on demand"

    @admin.display(description="last run")
    def last_run(self, obj: Project) -> str:
        run = obj.runs.first()
        if run is None:
            return "—"
        url = reverse("admin:integration_syncrun_change", args=[run.pk])
        return format_html('<a href="{}">#{} {} ({})</a>', url, run.pk, run.get_status_display(), run.mode)

    @admin.display(description="pre-flight check")
    def last_check(self, obj: Project) -> str:
        return check_link(obj.checks.first()) if obj.pk else "—"

    @admin.display(description="webhook URL")
    def webhook_url(self, obj: Project) -> str:
        if not obj.pk:
            return "available once the project is saved"
        return format_html("<code>{}</code><br>Register it in Dataverse with HttpHeader authentication: the "
                           "secret in the <code>{}</code> header.", reverse("api:webhook-dataverse", args=[obj.name]),
                           settings.P2C_WEBHOOK_HEADER)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        schedules.project_schedule_sync(project=obj)

    def has_run_permission(self, request) -> bool:
        return request.user.has_perm("integration.add_syncrun")

    @admin.action(description="Run now (incremental)", permissions=["run"])
    def run_incremental(self, request, queryset):
        self._start(request, queryset, SyncRun.Mode.INCREMENTAL)

    @admin.action(description="Run now (full)", permissions=["run"])
    def run_full(self, request, queryset):
        self._start(request, queryset, SyncRun.Mode.FULL)

    def _start(self, request, queryset, mode: str) -> None:
        for project in queryset:
            try:
                run = runs.run_start(project=project, mode=mode, trigger=SyncRun.Trigger.ADMIN,
                                     requested_by=request.user.get_username())
            except runs.RunInProgress as exc:
                url = reverse("admin:integration_syncrun_change", args=[exc.run.pk])
                self.message_user(request, format_html('{}: <a href="{}">run #{}</a> is still {}', project.name,
                                                       url, exc.run.pk, exc.run.status), messages.WARNING)
            except runs.RunRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                url = reverse("admin:integration_syncrun_change", args=[run.pk])
                self.message_user(request, format_html('{}: <a href="{}">run #{}</a> ({}) started', project.name,
                                                       url, run.pk, mode), messages.SUCCESS)

    @admin.action(description="Check against the environments (reads both, writes nothing)", permissions=["run"])
    def check_environments(self, request, queryset):
        for project in queryset:
            result = project_check(project=project, trigger="admin", requested_by=request.user.get_username())
            level = {"clean": messages.SUCCESS, "warnings": messages.WARNING}.get(result.status, messages.ERROR)
            self.message_user(request, format_html("{}: {}", project.name, check_link(result)), level)

    @admin.action(description="Pause (no scheduled or manual runs)", permissions=["change"])
    def pause(self, request, queryset):
        self._set_paused(request, queryset, paused=True)

    @admin.action(description="Resume", permissions=["change"])
    def resume(self, request, queryset):
        self._set_paused(request, queryset, paused=False)

    def _set_paused(self, request, queryset, *, paused: bool) -> None:
        for project in queryset:
            schedules.project_set_paused(project=project, paused=paused)
        names = ", ".join(project.name for project in queryset)
        self.message_user(request, f"{'Paused' if paused else 'Resumed'}: {names}", messages.SUCCESS)


class FieldMapInline(admin.TabularInline):
    model = FieldMap
    fields = ("order", "destination_field", "source_field", "transforms", "options", "default_value",
              "max_length", "required", "omit_blank", "value_map_default", "value_map_size")
    readonly_fields = ("value_map_size",)
    formfield_overrides = COMPACT_JSON
    show_change_link = True
    extra = 0

    @admin.display(description="value map")
    def value_map_size(self, obj: FieldMap) -> str:
        count = obj.value_map.count() if obj.pk else 0
        return f"{count} entries" if count else "—"


@admin.register(EntityMap)
class EntityMapAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "order", "enabled", "direction", "source_entity_set",
                    "destination_entity_set", "change_detection")
    list_display_links = ("name",)
    list_editable = ("order", "enabled")
    list_filter = ("project", "direction", "enabled", "change_detection")
    search_fields = ("name", "source_entity_set", "destination_entity_set")
    ordering = ("project", "order", "id")
    inlines = [FieldMapInline]
    formfield_overrides = {models.JSONField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 60})}}
    fieldsets = (
        (None, {"fields": ("project", "name", "order", "enabled", "direction")}),
        ("Source", {"fields": ("source_entity_set", "source_key_fields", "source_id_field", "source_select",
                               "source_filter", "conditions", "change_detection", "watermark_field")}),
        ("Destination", {"fields": ("destination_entity_set", "destination_key_fields",
                                    "destination_lookup_fields", "destination_id_field", "link_attributes",
                                    "propagate_deletes", "on_key_change", "create_only")}),
        ("Two-way flow", {"fields": ("reverse_map", "system_of_record")}),
    )


class ValueMapEntryInline(admin.TabularInline):
    model = ValueMapEntry
    formfield_overrides = COMPACT_JSON
    extra = 1


@admin.register(FieldMap)
class FieldMapAdmin(admin.ModelAdmin):
    """Where a field map's value map is edited (nested inlines are not Django's)."""

    list_display = ("destination_field", "source_field", "entity_map", "order")
    list_filter = ("entity_map__project", "entity_map")
    search_fields = ("destination_field", "source_field")
    inlines = [ValueMapEntryInline]
    formfield_overrides = {models.JSONField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 60})}}


@admin.register(KeyLink)
class KeyLinkAdmin(admin.ModelAdmin):
    """Links are the engine's memory of what it wrote; read them here, delete one to have it written again."""

    list_display = ("source_key", "destination_key", "entity_map", "source_id", "destination_id", "synced_at",
                    "source_deleted_at")
    list_filter = ("entity_map__project", "entity_map")
    search_fields = ("source_key", "destination_key", "source_id", "destination_id")
    list_select_related = ("entity_map__project",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in KeyLink._meta.fields]

    def has_add_permission(self, request):
        return False
