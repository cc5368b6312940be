"""List filters by a related row's id, shared by the admin's lists (run records, the failing queue): any id works
in the URL, so links from other pages can use it, and the choices offered are the rows `options` names."""

from __future__ import annotations

from django.contrib import admin

from integration.models import EntityMap


class IdFilter(admin.SimpleListFilter):
    """Filters on `field` (an id) when the URL's value is a number; a subclass says which rows to offer."""

    field = ""

    def options(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return self.options()

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.field: int(value)}) if value and value.isdigit() else queryset


class EntityMapFilter(IdFilter):
    title = "entity map"
    parameter_name = "entity_map"
    field = "entity_map_id"

    def options(self):
        return [(str(m.pk), str(m)) for m in EntityMap.objects.select_related("project")]
