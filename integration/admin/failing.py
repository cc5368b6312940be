"""The failing-records queue: what is failing now, one line per record across runs, with retry, retry all like
it, and ignore with a reason (kept, shown, undoable). Which records are in it is services.failing's decision."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from integration.admin.filters import EntityMapFilter, IdFilter
from integration.admin.links import error_html, page_fix_finder
from integration.models import FailingRecord, Project, RecordSync
from integration.services import failing, retries

VIEW = "integration.view_recordsync"
ACT = "integration.change_syncrun"  # the permission retrying takes everywhere (admin, API)


class StateFilter(admin.SimpleListFilter):
    """Failing (the queue), ignored (with their reasons), or both."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("ignored", "Ignored"), ("all", "Failing and ignored")]

    def choices(self, changelist):
        yield {"selected": self.value() is None, "query_string": changelist.get_query_string(remove=["state"]),
               "display": "Failing (not ignored)"}
        for value, label in self.lookup_choices:
            yield {"selected": self.value() == value, "display": label,
                   "query_string": changelist.get_query_string({"state": value})}

    def queryset(self, request, queryset):
        if self.value() == "ignored":
            return queryset.filter(ignored_reason__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(ignored_reason__isnull=True)


class ProjectFilter(IdFilter):
    title = "project"
    parameter_name = "project"
    field = "entity_map__project_id"

    def options(self):
        return [(str(p.pk), p.name) for p in Project.objects.all()]


class ErrorFieldFilter(admin.SimpleListFilter):
    title = "field"
    parameter_name = "error_field"

    def lookups(self, request, model_admin):
        fields = failing.failing_now(ignored=None).exclude(error_field="").order_by("error_field").values_list(
            "error_field", flat=True).distinct()
        return [(name, name) for name in fields]

    def queryset(self, request, queryset):
        return queryset.filter(error_field=self.value()) if self.value() else queryset


class IgnoreForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), max_length=2000,
                             help_text="Shown in the queue with your name; undo with 'Stop ignoring'.")


@admin.register(FailingRecord)
class FailingRecordAdmin(admin.ModelAdmin):
    list_display = ("source_key_link", "entity_map", "project", "error", "first_seen", "last_seen", "failures",
                    "last_run", "ignored")
    list_display_links = None
    list_filter = (StateFilter, ProjectFilter, EntityMapFilter, ErrorFieldFilter, "error_type")
    search_fields = ("source_key", "error_message")
    actions = ["retry", "retry_like", "ignore", "unignore"]
    ordering = ("-finished_at", "-id")

    def get_queryset(self, request):
        return failing.failing_queue(ignored=None)

    # The queue is a view of the records: reading it needs the records' view permission, acting on it the
    # permission retries need.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW)

    def has_module_permission(self, request):
        return request.user.has_perm(VIEW)

    def has_act_permission(self, request):
        return request.user.has_perm(ACT)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [path("ignore/", self.admin_site.admin_view(self.ignore_view), name="integration_failingrecord_ignore"),
                *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A line's page is the record's own page."""
        return HttpResponseRedirect(reverse("admin:integration_recordsync_change", args=[object_id]))

    @admin.display(description="record", ordering="source_key")
    def source_key_link(self, obj: RecordSync) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:integration_recordsync_change", args=[obj.pk]),
                           obj.source_key)

    @admin.display(description="project", ordering="entity_map__project__name")
    def project(self, obj: RecordSync) -> str:
        return obj.entity_map.project.name

    @admin.display(description="error")
    def error(self, obj: RecordSync) -> str:
        return error_html(obj, finder=page_fix_finder(), limit=200)

    @admin.display(description="first seen", ordering="first_seen")
    def first_seen(self, obj: RecordSync):
        return obj.first_seen

    @admin.display(description="last seen", ordering="last_seen")
    def last_seen(self, obj: RecordSync):
        return obj.last_seen

    @admin.display(description="failed", ordering="failures")
    def failures(self, obj: RecordSync) -> str:
        return f"{obj.failures} time{'' if obj.failures == 1 else 's'}"

    @admin.display(description="last run", ordering="run")
    def last_run(self, obj: RecordSync) -> str:
        return format_html('<a href="{}">#{}</a>', reverse("admin:integration_syncrun_change", args=[obj.run_id]),
                           obj.run_id)

    @admin.display(description="ignored")
    def ignored(self, obj: RecordSync) -> str:
        if obj.ignored_reason is None:
            return "—"
        return format_html('<span class="p2c-ignored">{}</span><br><span class="p2c-muted">{}, {}</span>',
                           obj.ignored_reason, obj.ignored_by or "someone", f"{obj.ignored_at:%Y-%m-%d %H:%M}")

    def changelist_view(self, request, extra_context=None):
        page_fix_finder(fresh=True)
        extra_context = {**(extra_context or {}), "title": "Failing records"}
        return super().changelist_view(request, extra_context)

    # --- actions ---------------------------------------------------------------------------------------------
    def _retry(self, request, records, what: str) -> None:
        try:
            run = retries.failures_retry(records=records, requested_by=request.user.get_username())
        except retries.NothingToRetry as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return
        url = reverse("admin:integration_syncrun_change", args=[run.pk])
        self.message_user(request, format_html('Retrying {} {} in <a href="{}">run #{}</a>', run.records.count(),
                                               what, url, run.pk), messages.SUCCESS)

    @admin.action(description="Retry the selected records", permissions=["act"])
    def retry(self, request, queryset):
        self._retry(request, queryset, "failing records")

    @admin.action(description="Retry all records failing like the selected ones (same map, error type and field)",
                  permissions=["act"])
    def retry_like(self, request, queryset):
        like = RecordSync.objects.none()
        for record in queryset:
            like = like | failing.failures_like(record=record)
        self._retry(request, like, "records failing alike")

    @admin.action(description="Ignore the selected records (with a reason)…", permissions=["act"])
    def ignore(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return HttpResponseRedirect(f"{reverse('admin:integration_failingrecord_ignore')}?ids={ids}")

    @admin.action(description="Stop ignoring the selected records", permissions=["act"])
    def unignore(self, request, queryset):
        count = failing.failures_unignore(records=queryset)
        self.message_user(request, f"{count} record{'' if count == 1 else 's'} back in the queue", messages.SUCCESS)

    def ignore_view(self, request):
        """Ignore failing records (by row id, ?ids=1,2), saying why."""
        if not self.has_act_permission(request):
            raise PermissionDenied
        source = request.POST if request.method == "POST" else request.GET
        ids = [int(part) for part in source.get("ids", "").split(",") if part.strip().isdigit()]
        records = failing.failing_queue(ignored=None).filter(pk__in=ids)
        form = IgnoreForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            count = failing.failures_ignore(records=records, reason=form.cleaned_data["reason"],
                                            ignored_by=request.user.get_username())
            self.message_user(request, f"Ignored {count} record{'' if count == 1 else 's'}: they stay out of the "
                                       "queue until they fail again after their source changes.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:integration_failingrecord_changelist"))
        rows = [(record, error_html(record, limit=160)) for record in records]
        context = {**self.admin_site.each_context(request), "title": "Ignore failing records", "form": form,
                   "rows": rows, "ids": ",".join(str(pk) for pk in ids), "opts": self.model._meta}
        return TemplateResponse(request, "admin/integration/ignore_failures.html", context)
