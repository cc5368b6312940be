"""The mapping editor's forms: a field map as plain form fields (no JSON), its value map as a two-column table.

Fields are offered from the environments' metadata; values are typed as text and read as the destination
property's type (integration.typed_values); each transform's options are fields of their own.
"""

from __future__ import annotations

import re

from django import forms

from integration.conversions import CONVERSIONS
from integration.mapping import LOOKUP_MATCHES, PER_UNIT_PARTS, TRANSFORMS, WHEN_MISSING
from integration.models import EntityMap, FieldMap
from integration.services.environment_metadata import MapSides
from integration.services.field_maps import FieldMapEdit
from integration.typed_values import kind_of, value_from_text, value_to_text

LABELS = {
    "copy": "Copy the source field", "constant": "Constant", "value_map": "Value map",
    "lookup": "Lookup through another entity map's links", "reference": "Reference data lookup",
    "legal_entity": "Legal entity from the organization mappings", "format": "Format / concatenate",
    "convert": "Type conversion", "per_unit": "Per unit (a line amount spread over the quantity)",
    "derived_id": "Derived id (the same GUID from the same fields, for records with none)",
}
STEPS = ("step_1", "step_2", "step_3")
# "name = value", or "name = entity_set(match_field='value').return_field" (the field of another reference record)
_NESTED = re.compile(r"^(?P<entity_set>\w+)\((?P<match_field>\w+)\s*=\s*'(?P<value>(?:[^']|'')*)'\)"
                     r"\.(?P<return_field>\w+)$")


class DatalistInput(forms.TextInput):
    """A text box that offers choices (fields from the environment's metadata) and still takes any text."""

    template_name = "admin/integration/widgets/datalist.html"

    def __init__(self, options=(), attrs=None):
        super().__init__({"size": 40, **(attrs or {})})
        self.options = list(options)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        list_id = f"{context['widget']['attrs'].get('id') or name}-options"
        context["widget"]["attrs"]["list"] = list_id
        context["widget"].update(options=self.options, list_id=list_id)
        return context


def _options(entity_type) -> list[tuple[str, str]]:
    if entity_type is None:
        return []
    return [(name, prop.type.rsplit(".", 1)[-1] + ("" if prop.nullable else ", not null"))
            for name, prop in sorted(entity_type.properties.items())]


def _binds(entity_type) -> list[tuple[str, str]]:
    if entity_type is None:
        return []
    return [(f"{name}@odata.bind", f"lookup to {nav.type.rsplit('.', 1)[-1]}")
            for name, nav in sorted(entity_type.navigation.items()) if not nav.collection]


class FieldMapForm(forms.Form):
    destination_field = forms.CharField(max_length=200, help_text="The destination property this field map fills")
    source_field = forms.CharField(max_length=200, required=False,
                                   help_text="Where the value comes from; blank for a constant")
    step_1 = forms.ChoiceField(required=False, label="First")
    step_2 = forms.ChoiceField(required=False, label="Then")
    step_3 = forms.ChoiceField(required=False, label="Then")
    constant_value = forms.CharField(required=False, label="Value")
    lookup_entity_maps = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                                   label="Entity maps", help_text="Earlier maps, tried in order")
    lookup_match = forms.ChoiceField(choices=[(m, m) for m in LOOKUP_MATCHES], required=False,
                                     label="Match the value on")
    lookup_return = forms.CharField(required=False, label="Return", initial="destination_id",
                                    help_text="destination_id, source_key, destination_key.<field> or "
                                              "attributes.<field>")
    lookup_when_missing = forms.ChoiceField(choices=[(w, w) for w in WHEN_MISSING], required=False,
                                            label="When not linked yet",
                                            help_text="wait: retry, then fail; skip: leave the record out")
    reference_system = forms.ChoiceField(choices=[("source", "source"), ("destination", "destination")],
                                         required=False, label="In the")
    reference_entity_set = forms.CharField(required=False, label="Entity set")
    reference_match_field = forms.CharField(required=False, label="Match field")
    reference_return_field = forms.CharField(required=False, label="Return field")
    reference_where = forms.CharField(required=False, label="Within", widget=forms.Textarea(attrs={"rows": 2}),
                                      help_text="One per line: field = value, or field = entity_set(match_field="
                                                "'value').return_field")
    format_template = forms.CharField(required=False, label="Template", widget=forms.TextInput(attrs={"size": 60}),
                                      help_text="e.g. {value} or {firstname} {lastname}")
    convert_to = forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in CONVERSIONS], required=False, label="To")
    convert_places = forms.IntegerField(required=False, min_value=0, max_value=10, label="Decimal places")
    per_unit_quantity_field = forms.CharField(required=False, label="Quantity field")
    per_unit_part = forms.ChoiceField(choices=[(p, p) for p in PER_UNIT_PARTS], required=False, label="Part")
    per_unit_places = forms.IntegerField(required=False, min_value=0, max_value=10, label="Decimal places")
    derived_id_template = forms.CharField(required=False, label="Template", widget=forms.TextInput(attrs={"size": 60}),
                                          help_text="The fields that name the record, e.g. {SalesOrderNumber}/"
                                                    "{LineCreationSequenceNumber}")
    default_value = forms.CharField(required=False, help_text="Sent when the value is blank")
    max_length = forms.IntegerField(required=False, min_value=1, help_text="Longer text is cut to this length")
    required = forms.BooleanField(required=False, help_text="A blank value fails the record")
    omit_blank = forms.BooleanField(required=False, help_text="A blank value is left out instead of sent as null")
    value_map_default = forms.CharField(required=False, label="Value map default",
                                        help_text="For source values not listed; blank: an unlisted value fails "
                                                  "the record")
    save_anyway = forms.BooleanField(required=False, label="Save despite the problems found")

    def __init__(self, *args, entity_map: EntityMap, sides: MapSides, field_map: FieldMap | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.entity_map, self.sides, self.field_map = entity_map, sides, field_map
        destination = _options(sides.destination_type) + _binds(sides.destination_type)
        self.fields["destination_field"].widget = DatalistInput(destination)
        self.fields["source_field"].widget = DatalistInput(_options(sides.source_type))
        self.fields["per_unit_quantity_field"].widget = DatalistInput(_options(sides.source_type))
        sets = sorted({*(sides.source.model().entity_sets if sides.source.model() else ()),
                       *(sides.destination.model().entity_sets if sides.destination.model() else ())})
        self.fields["reference_entity_set"].widget = DatalistInput([(name, "") for name in sets])
        for step in STEPS:
            self.fields[step].choices = [("", "—")] + [(name, LABELS[name]) for name in TRANSFORMS]
        earlier = entity_map.project.entity_maps.exclude(pk=entity_map.pk).order_by("order", "id")
        self.fields["lookup_entity_maps"].choices = [(m.name, m.name) for m in earlier]

    # --- what the submitted values mean ----------------------------------------------------------------------
    def transforms(self) -> list[str]:
        return [self.cleaned_data[step] for step in STEPS if self.cleaned_data.get(step)]

    def destination_kind(self) -> str:
        prop = self.sides.destination_property(self.cleaned_data.get("destination_field", ""))
        example = self.field_map.default_value if self.field_map else None
        return kind_of(prop.type if prop else None, example)

    def kind_after(self, transform: str) -> str:
        """Values a transform outputs are typed as the destination only when it is the last step."""
        transforms = self.transforms()
        return self.destination_kind() if transforms and transforms[-1] == transform else "text"

    def _typed(self, name: str, kind: str) -> object:
        text = self.cleaned_data.get(name) or ""
        if text == "":
            return None
        try:
            return value_from_text(text, kind)
        except ValueError as exc:
            self.add_error(name, f"{exc} ({self.cleaned_data.get('destination_field')} takes {kind} values)")
            return None

    def clean(self):
        cleaned = super().clean()
        transforms = self.transforms()
        if len(set(transforms)) != len(transforms):
            self.add_error("step_1", "each transform can be used once")
        self.options = {}
        data = cleaned
        if "constant" in transforms:
            self.options["constant"] = {"value": self._typed("constant_value", self.kind_after("constant"))}
        if "lookup" in transforms:
            self.options["lookup"] = {"entity_maps": data.get("lookup_entity_maps") or [],
                                      "match": data.get("lookup_match") or "source_id",
                                      "return": data.get("lookup_return") or "destination_id",
                                      "when_missing": data.get("lookup_when_missing") or "wait"}
        if "reference" in transforms:
            reference = {"system": data.get("reference_system") or "source",
                         "entity_set": data.get("reference_entity_set", ""),
                         "match_field": data.get("reference_match_field", ""),
                         "return_field": data.get("reference_return_field", "")}
            where = self._where(data.get("reference_where") or "")
            if where:
                reference["where"] = where
            self.options["reference"] = reference
        if "format" in transforms:
            self.options["format"] = {"template": data.get("format_template") or "{value}"}
        if "derived_id" in transforms:
            self.options["derived_id"] = {"template": data.get("derived_id_template") or ""}
        if "convert" in transforms:
            self.options["convert"] = {"to": data.get("convert_to") or "string"}
            if data.get("convert_places") is not None:
                self.options["convert"]["places"] = data["convert_places"]
        if "per_unit" in transforms:
            self.options["per_unit"] = {"quantity_field": data.get("per_unit_quantity_field", ""),
                                        "part": data.get("per_unit_part") or "unit"}
            if data.get("per_unit_places") is not None:
                self.options["per_unit"]["places"] = data["per_unit_places"]
        self.default = self._typed("default_value", self.destination_kind())
        self.map_default = self._typed("value_map_default", self.kind_after("value_map"))
        return cleaned

    def _where(self, text: str) -> dict:
        where = {}
        for line in filter(None, (line.strip() for line in text.splitlines())):
            name, sep, value = (part.strip() for part in line.partition("="))
            if not sep or not name:
                self.add_error("reference_where", f"{line!r}: expected field = value")
                continue
            nested = _NESTED.match(value)
            if nested:
                where[name] = {**nested.groupdict(), "value": nested["value"].replace("''", "'")}
            elif value.lstrip("-").isdigit():
                where[name] = int(value)
            else:
                where[name] = value.strip("'")
        return where

    def edit(self, value_map: dict) -> FieldMapEdit:
        data = self.cleaned_data
        return FieldMapEdit(destination_field=data["destination_field"].strip(),
                            source_field=(data.get("source_field") or "").strip(), transforms=self.transforms(),
                            options=self.options, default_value=self.default, max_length=data.get("max_length"),
                            required=bool(data.get("required")), omit_blank=bool(data.get("omit_blank")),
                            value_map=value_map, value_map_default=self.map_default)

    @staticmethod
    def initial_of(edit: FieldMapEdit) -> dict:
        initial = {"destination_field": edit.destination_field, "source_field": edit.source_field,
                   "default_value": value_to_text(edit.default_value), "max_length": edit.max_length,
                   "required": edit.required, "omit_blank": edit.omit_blank,
                   "value_map_default": value_to_text(edit.value_map_default)}
        for step, name in zip(STEPS, edit.transforms, strict=False):
            initial[step] = name
        options = edit.options
        if "constant" in options:
            initial["constant_value"] = value_to_text(options["constant"].get("value"))
        if "lookup" in options:
            lookup = options["lookup"]
            initial.update(lookup_entity_maps=list(lookup.get("entity_maps", [])),
                           lookup_match=lookup.get("match", "source_id"),
                           lookup_return=lookup.get("return", "destination_id"),
                           lookup_when_missing=lookup.get("when_missing", "wait"))
        if "reference" in options:
            reference = options["reference"]
            initial.update(reference_system=reference.get("system"), reference_entity_set=reference.get("entity_set"),
                           reference_match_field=reference.get("match_field"),
                           reference_return_field=reference.get("return_field"),
                           reference_where="\n".join(_where_line(name, value)
                                                     for name, value in reference.get("where", {}).items()))
        if "format" in options:
            initial["format_template"] = options["format"].get("template")
        if "derived_id" in options:
            initial["derived_id_template"] = options["derived_id"].get("template")
        if "convert" in options:
            initial.update(convert_to=options["convert"].get("to"), convert_places=options["convert"].get("places"))
        if "per_unit" in options:
            per_unit = options["per_unit"]
            initial.update(per_unit_quantity_field=per_unit.get("quantity_field"), per_unit_part=per_unit.get("part"),
                           per_unit_places=per_unit.get("places"))
        return initial


def _where_line(name: str, value: object) -> str:
    if isinstance(value, dict):
        quoted = str(value.get("value", "")).replace("'", "''")
        return f"{name} = {value.get('entity_set')}({value.get('match_field')}='{quoted}').{value.get('return_field')}"
    return f"{name} = {value_to_text(value)}"


class ValueMapRowForm(forms.Form):
    source_value = forms.CharField(required=False, max_length=200, strip=False,
                                   widget=forms.TextInput(attrs={"size": 30}))
    destination_value = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 30}))


class BaseValueMapFormSet(forms.BaseFormSet):
    """Rows of source value -> destination value; a row left empty on both sides is no row. `kind` types the
    destination values; `entries` holds the value map once valid."""

    kind = "text"

    def clean(self):
        if any(self.errors):
            return
        self.entries: dict[str, object] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", {})
            if not data or data.get("DELETE"):
                continue
            source, target = data.get("source_value") or "", data.get("destination_value") or ""
            if source == "" and target == "":
                continue
            source = source.strip()
            if target == "":
                form.add_error("destination_value", f"say what {source or '(blank)'!r} maps to, or delete the row")
                continue
            if source in self.entries:
                form.add_error("source_value", f"{source!r} is listed twice")
                continue
            try:
                self.entries[source] = value_from_text(target, self.kind)
            except ValueError as exc:
                form.add_error("destination_value", str(exc))
        if any(self.errors):
            raise forms.ValidationError("Correct the value map rows marked below.")


ValueMapFormSet = forms.formset_factory(ValueMapRowForm, formset=BaseValueMapFormSet, extra=3, can_delete=True)


def value_map_initial(entries: dict, extra_sources: list[str] = ()) -> list[dict]:
    rows = [{"source_value": source, "destination_value": value_to_text(value)}
            for source, value in sorted(entries.items(), key=lambda item: item[0].casefold())]
    return rows + [{"source_value": source, "destination_value": ""} for source in extra_sources]
