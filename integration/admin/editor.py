"""The mapping editor: a field map's page, for an admin who should not have to read JSON.

Fields are picked from the environments' metadata, transforms and their options are form fields, the value map
is a two-column table of plain text ("add the values that failed" fills in what the failing records lacked), and
an edit is checked against the environments before it is saved (the pre-flight check's rules for its entity map;
only the problems the edit brings stop it). Saving can retry the records that failed on the field at once.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from integration.admin.editor_forms import FieldMapForm, ValueMapFormSet, value_map_initial
from integration.admin.maps import preview_context
from integration.models import EntityMap, FieldMap
from integration.services import failing, retries
from integration.services.environment_metadata import environments_forget, map_sides
from integration.services.field_maps import (
    FieldMapEdit,
    definition_with_edit,
    failed_values,
    field_map_check,
    field_map_save,
)
from integration.services.preview import record_preview


@admin.register(FieldMap)
class FieldMapAdmin(admin.ModelAdmin):
    list_display = ("destination_field", "source_field", "steps", "entity_map", "order")
    list_filter = ("entity_map__project", "entity_map")
    search_fields = ("destination_field", "source_field")
    list_select_related = ("entity_map__project",)

    @admin.display(description="transforms")
    def steps(self, obj: FieldMap) -> str:
        return " → ".join(obj.transforms or []) or "copy"

    def get_urls(self):
        return [path("<path:object_id>/refresh-metadata/", self.admin_site.admin_view(self.refresh_view),
                     name="integration_fieldmap_refresh"), *super().get_urls()]

    def add_view(self, request, form_url="", extra_context=None):
        entity_map = get_object_or_404(EntityMap.objects.select_related("project"),
                                       pk=request.GET.get("entity_map") or request.POST.get("entity_map") or 0)
        if not self.has_add_permission(request):
            raise PermissionDenied
        return self.editor_view(request, entity_map, None)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        field_map = self.get_object(request, object_id)
        if field_map is None:
            raise Http404("no such field map")
        if not self.has_view_or_change_permission(request, field_map):
            raise PermissionDenied
        return self.editor_view(request, field_map.entity_map, field_map)

    def refresh_view(self, request, object_id):
        field_map = get_object_or_404(FieldMap.objects.select_related("entity_map__project"), pk=object_id)
        environments_forget(project=field_map.entity_map.project)
        self.message_user(request, "The environments' metadata will be read afresh.", messages.INFO)
        return HttpResponseRedirect(reverse("admin:integration_fieldmap_change", args=[field_map.pk]))

    def editor_view(self, request, entity_map: EntityMap, field_map: FieldMap | None):
        can_edit = self.has_change_permission(request, field_map) if field_map else self.has_add_permission(request)
        sides = map_sides(entity_map=entity_map)
        problems, unchecked, preview, preview_key = [], "", None, request.POST.get("preview_key", "").strip()
        kwargs = {"entity_map": entity_map, "sides": sides, "field_map": field_map}
        if request.method == "POST":
            if not can_edit:
                raise PermissionDenied
            form = FieldMapForm(request.POST, **kwargs)
            formset = ValueMapFormSet(request.POST, prefix="value_map")
            if form.is_valid():
                formset.kind = form.kind_after("value_map")
                if formset.is_valid():
                    edit = form.edit(formset.entries)
                    if "_preview" in request.POST:
                        preview = self._preview(entity_map, field_map, edit, preview_key, form)
                    else:
                        problems, unchecked, saved = self._check_and_save(form, entity_map, field_map, edit)
                        if saved:
                            return self._saved(request, saved, retry="_retry" in request.POST)
        else:
            edit = FieldMapEdit.of(field_map) if field_map else FieldMapEdit(destination_field="")
            form = FieldMapForm(initial=FieldMapForm.initial_of(edit), **kwargs)
            extra = failed_values(field_map=field_map) if field_map and request.GET.get("add_failed") else []
            formset = ValueMapFormSet(initial=value_map_initial(edit.value_map, extra), prefix="value_map")
            if extra:
                messages.info(request, f"Added {len(extra)} value{'' if len(extra) == 1 else 's'} records failed on: "
                                       "fill in what each maps to, then save.")
        failing_here = (failing.failing_now(entity_maps=[entity_map]).filter(error_field=field_map.destination_field)
                        .count() if field_map else 0)
        destination_property = sides.destination_property(field_map.destination_field) if field_map else None
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": (
                f"{entity_map.name}: {field_map.destination_field}" if field_map else f"{entity_map.name}: new field"),
            "entity_map": entity_map, "field_map": field_map, "form": form, "formset": formset, "can_edit": can_edit,
            "problems": problems, "unchecked": unchecked or sides.error, "sides": sides,
            "destination_property": destination_property, "failing_here": failing_here,
            "failed_values": len(failed_values(field_map=field_map)) if field_map else 0,
            "queue_url": reverse("admin:integration_failingrecord_changelist") + f"?entity_map={entity_map.pk}",
            "preview_url": reverse("admin:integration_entitymap_preview", args=[entity_map.pk]),
            "value_map_on": "value_map" in (field_map.transforms if field_map else []),
            "preview_key": preview_key, **preview_context(preview, focus=form["destination_field"].value() or ""),
        }
        return TemplateResponse(request, "admin/integration/field_map_editor.html", context)

    @staticmethod
    def _check_and_save(form, entity_map: EntityMap, field_map: FieldMap | None, edit: FieldMapEdit):
        """(problems, why unchecked, the saved field map or None): an edit that brings problems is saved only
        when the form says "save anyway"."""
        try:
            check = field_map_check(entity_map=entity_map, field_map=field_map, edit=edit)
        except ValueError as exc:
            form.add_error(None, str(exc))
            return [], "", None
        if check.problems and not form.cleaned_data.get("save_anyway"):
            return check.problems, check.unchecked, None
        return check.problems, check.unchecked, field_map_save(entity_map=entity_map, field_map=field_map, edit=edit)

    @staticmethod
    def _preview(entity_map: EntityMap, field_map: FieldMap | None, edit: FieldMapEdit, key: str, form):
        """The record `key` as a run would sync it with this edit saved; nothing is saved or written."""
        if not key:
            form.add_error(None, "Give a source record's key to preview the edit with.")
            return None
        try:
            proposed = definition_with_edit(entity_map, field_map, edit)
        except ValueError as exc:
            form.add_error(None, str(exc))
            return None
        return record_preview(entity_map=entity_map, source_key=key, definition=proposed)

    def _saved(self, request, field_map: FieldMap, *, retry: bool):
        self.message_user(request, f"Saved {field_map.entity_map.name}: {field_map.destination_field}. Runs use it "
                                   "from their next start.", messages.SUCCESS)
        if retry:
            records = failing.failing_now(entity_maps=[field_map.entity_map]).filter(
                error_field=field_map.destination_field)
            try:
                run = retries.failures_retry(records=records, requested_by=request.user.get_username())
            except retries.NothingToRetry:
                self.message_user(request, "No record is failing on this field.", messages.INFO)
            else:
                url = reverse("admin:integration_syncrun_change", args=[run.pk])
                self.message_user(request, format_html('Retrying {} records in <a href="{}">run #{}</a>',
                                                       run.records.count(), url, run.pk), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:integration_fieldmap_change", args=[field_map.pk]))
