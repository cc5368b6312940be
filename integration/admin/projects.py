"""Projects (schedule, pause, run now, dry run, check, organization mappings) and their entity maps; field maps
are edited in the mapping editor (integration/admin/editor.py)."""

from __future__ import annotations

from celery.schedules import crontab
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from integration.admin.buttons import Button, ButtonsMixin
from integration.admin.checks import check_link
from integration.admin.secrets import SecretsForm
from integration.models import EntityMap, KeyLink, OrganizationMapping, Project, SyncRun
from integration.services import dry_runs, failing, runs, schedules
from integration.services.preflight import project_check
from integration.webhook_secret import webhook_secret_generate


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


RUN = "integration.add_syncrun"
CHANGE = "integration.change_project"


@admin.register(Project)
class ProjectAdmin(ButtonsMixin, admin.ModelAdmin):
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

    def object_buttons(self, request, obj: Project) -> list[Button]:
        buttons = [
            Button("run", "Run now", RUN, lambda request, p: self._start(request, [p], SyncRun.Mode.INCREMENTAL),
                   title="An incremental run: what changed since the last one"),
            Button("full-run", "Full run", RUN, lambda request, p: self._start(request, [p], SyncRun.Mode.FULL),
                   title="Every record, after the pre-flight check"),
            Button("dry-run", "Dry run", RUN, self._dry_run,
                   title="What an incremental run would create, update or fail on; writes nothing anywhere"),
            Button("check", "Check", RUN, lambda request, p: self.check_environments(request, [p]),
                   title="Hold the maps against both environments' metadata and reference data; writes nothing"),
        ]
        if obj.paused:
            buttons.append(Button("resume", "Resume", CHANGE, lambda request, p: self.resume(request, [p])))
        else:
            buttons.append(Button("pause", "Pause", CHANGE, lambda request, p: self.pause(request, [p]),
                                  title="No scheduled or manual runs until it is resumed"))
        count = failing.failing_now(project=obj).count()
        queue = reverse("admin:integration_failingrecord_changelist") + f"?project={obj.pk}"
        buttons.append(Button("failing", f"Failing records ({count})", "integration.view_recordsync", url=queue))
        buttons.append(Button("dry-runs", "Dry runs", "integration.view_dryrun",
                              url=reverse("admin:integration_dryrun_changelist") + f"?project__id__exact={obj.pk}"))
        return buttons

    def _dry_run(self, request, project: Project):
        try:
            dry_run = dry_runs.dry_run_start(project=project, trigger="admin",
                                             requested_by=request.user.get_username())
        except runs.RunRefused as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return None
        self.message_user(request, f"Dry run #{dry_run.pk} queued: it reads and compares, and writes nothing.",
                          messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:integration_dryrun_change", args=[dry_run.pk]))

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
