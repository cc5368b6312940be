"""Entity maps: settings as plain text (names separated by commas, one condition a line), their field maps as a
compact list that opens the mapping editor, and the preview of one record (what p2c would send, and how it
differs from what the destination holds now)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from integration.admin.buttons import Button, ButtonsMixin
from integration.admin.display import pretty_json
from integration.mapping import CONDITION_OPS, error_text
from integration.models import EntityMap, FieldMap
from integration.services import entity_maps
from integration.services.preview import Preview, record_preview
from integration.typed_values import value_to_text

_LIST_FIELDS = ("source_key_fields", "source_select", "destination_key_fields", "destination_lookup_fields",
                "destination_api_key_fields", "link_attributes")
_NO_VALUE = ("blank", "not_blank", "true", "false")


class _TextForJSON(forms.CharField):
    """A JSON model field edited as plain text (the model's form field options for JSON do not apply)."""

    def __init__(self, *, encoder=None, decoder=None, **kwargs):
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str):  # the stored JSON, or what the user typed (shown back as typed)
            try:
                decoded = json.loads(value)
            except ValueError:
                return value
            if not isinstance(decoded, list):
                return value
            value = decoded
        return self.as_text(value or [])

    def as_text(self, value: list) -> str:
        raise NotImplementedError


class NamesField(_TextForJSON):
    """A list of field names, typed as `a, b, c`."""

    def as_text(self, value):
        return ", ".join(value)

    def to_python(self, value):
        return [name.strip() for name in (super().to_python(value) or "").split(",") if name.strip()]


class ConditionsField(_TextForJSON):
    """Eligibility rules, one a line: `field op value`, e.g. `statecode eq 1`, `accountnumber not_blank`,
    `msdynce_isactivecustomer true`, `customertypecode in 3, 4`."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def as_text(self, value):
        lines = []
        for condition in value:
            item = condition.get("value")
            shown = ", ".join(value_to_text(v) for v in item) if isinstance(item, list) else value_to_text(item)
            lines.append(" ".join(part for part in (condition["field"], condition["op"], shown) if part))
        return "\n".join(lines)

    def to_python(self, value):
        conditions = []
        for line in filter(None, (line.strip() for line in (value or "").splitlines())):
            parts = line.split(None, 2)
            if len(parts) < 2 or parts[1] not in CONDITION_OPS:
                raise forms.ValidationError(f"{line!r}: expected field, then one of {', '.join(CONDITION_OPS)}, "
                                            "then a value")
            name, op = parts[0], parts[1]
            condition = {"field": name, "op": op}
            if op not in _NO_VALUE:
                text = parts[2] if len(parts) > 2 else ""
                condition["value"] = ([_scalar(v.strip()) for v in text.split(",") if v.strip()]
                                      if op in ("in", "not_in") else _scalar(text))
            conditions.append(condition)
        return conditions


def _scalar(text: str) -> object:
    if text.lstrip("-").isdigit():
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    return text.strip("'")


class EntityMapForm(forms.ModelForm):
    class Meta:
        model = EntityMap
        fields = ("project", "name", "order", "enabled", "direction", "source_entity_set", *_LIST_FIELDS,
                  "source_id_field", "source_filter", "conditions", "change_detection", "watermark_field",
                  "destination_entity_set", "destination_id_field", "propagate_deletes", "on_key_change")
        field_classes = {**dict.fromkeys(_LIST_FIELDS, NamesField), "conditions": ConditionsField}
        widgets = {name: forms.TextInput(attrs={"size": 60}) for name in _LIST_FIELDS}


class FieldMapInline(admin.TabularInline):
    """The map's fields in order, one short line each; each opens in the mapping editor."""

    model = FieldMap
    fields = ("order", "destination_field", "source_field", "steps", "value_map_size", "edit")
    readonly_fields = ("destination_field", "source_field", "steps", "value_map_size", "edit")
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False  # new fields are added in the editor (the link under the list)

    @admin.display(description="transforms")
    def steps(self, obj: FieldMap) -> str:
        return " → ".join(obj.transforms or []) or "copy"

    @admin.display(description="value map")
    def value_map_size(self, obj: FieldMap) -> str:
        count = obj.value_map.count() if obj.pk else 0
        return f"{count} entries" if count else "—"

    @admin.display(description="")
    def edit(self, obj: FieldMap) -> str:
        return format_html('<a href="{}">edit</a>', reverse("admin:integration_fieldmap_change", args=[obj.pk]))


@admin.register(EntityMap)
class EntityMapAdmin(ButtonsMixin, admin.ModelAdmin):
    form = EntityMapForm
    list_display = ("name", "project", "order", "enabled", "paused", "direction", "source_entity_set",
                    "destination_entity_set", "change_detection")
    list_display_links = ("name",)
    list_editable = ("order", "enabled")
    list_filter = ("project", "direction", "enabled", "paused", "change_detection")
    actions = ["pause", "resume"]
    readonly_fields = ("paused", "paused_at", "paused_reason", "resumed_at")
    search_fields = ("name", "source_entity_set", "destination_entity_set")
    ordering = ("project", "order", "id")
    inlines = [FieldMapInline]
    fieldsets = (
        (None, {"fields": ("project", "name", "order", "enabled", "direction")}),
        ("Source", {"fields": ("source_entity_set", "source_key_fields", "source_id_field", "source_select",
                               "source_filter", "conditions", "change_detection", "watermark_field")}),
        ("Destination", {"fields": ("destination_entity_set", "destination_key_fields",
                                    "destination_lookup_fields", "destination_api_key_fields",
                                    "destination_id_field", "link_attributes", "propagate_deletes",
                                    "on_key_change", "create_only")}),
        ("Two-way flow", {"fields": ("reverse_map", "system_of_record")}),
        ("Paused", {"fields": ("paused", "paused_at", "paused_reason", "resumed_at"),
                    "description": "A paused map's stages are skipped until it is resumed (the list's actions)."}),
    )

    @admin.action(description="Pause (its stages are skipped until resumed)", permissions=["change"])
    def pause(self, request, queryset):
        for entity_map in queryset:
            entity_maps.entity_map_pause(entity_map=entity_map, reason=f"paused by {request.user.get_username()}")
        self.message_user(request, f"Paused: {', '.join(m.name for m in queryset)}", messages.SUCCESS)

    @admin.action(description="Resume", permissions=["change"])
    def resume(self, request, queryset):
        for entity_map in queryset:
            entity_maps.entity_map_resume(entity_map=entity_map)
        self.message_user(request, f"Resumed: {', '.join(m.name for m in queryset)}", messages.SUCCESS)

    def object_buttons(self, request, obj: EntityMap) -> list[Button]:
        return [
            Button("preview", "Preview a record", "integration.view_entitymap",
                   url=reverse("admin:integration_entitymap_preview", args=[obj.pk])),
            Button("add-field", "Add a field map", "integration.add_fieldmap",
                   url=reverse("admin:integration_fieldmap_add") + f"?entity_map={obj.pk}"),
            Button("failing", "Failing records", "integration.view_recordsync",
                   url=reverse("admin:integration_failingrecord_changelist") + f"?entity_map={obj.pk}"),
        ]

    def get_urls(self):
        return [path("<path:object_id>/preview/", self.admin_site.admin_view(self.preview_view),
                     name="integration_entitymap_preview"), *super().get_urls()]

    def preview_view(self, request, object_id):
        """Pick a source record by key: the payload p2c would send, and how it differs from the destination."""
        entity_map = get_object_or_404(EntityMap.objects.select_related(
            "project__sales_connection", "project__finops_connection"), pk=object_id)
        if not self.has_view_or_change_permission(request, entity_map):
            raise PermissionDenied
        key = request.GET.get("key", "").strip()
        preview = record_preview(entity_map=entity_map, source_key=key) if key else None
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "entity_map": entity_map,
            "title": f"Preview: {entity_map.name}", "key": key, "field": request.GET.get("field", ""),
            **preview_context(preview, focus=request.GET.get("field", "")),
        }
        return TemplateResponse(request, "admin/integration/preview.html", context)


def preview_context(preview: Preview | None, *, focus: str = "") -> dict:
    """What the preview result shows (`preview_result.html`): the outcome, the payload field by field beside what
    the destination holds, the differing ones marked, and the source record."""
    rows = []
    evaluation = preview.evaluation if preview else None
    if evaluation and evaluation.payload is not None:
        changed = {d.field: d for d in evaluation.differences}
        destination = evaluation.destination or {}
        for name, value in evaluation.payload.items():
            difference = changed.get(name)
            holds = difference.holds if difference else destination.get(name, "(the same)")
            rows.append({"field": name, "sends": value, "holds": holds if destination else "—",
                         "differs": difference is not None, "focus": name == focus})
    return {
        "preview": preview, "rows": rows, "changed": sum(row["differs"] for row in rows),
        "source_json": pretty_json(preview.source) if preview and preview.source else "",
        "error": error_text(evaluation.error_field, evaluation.error) if evaluation and evaluation.error else "",
    }
