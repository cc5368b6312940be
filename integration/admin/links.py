"""Links from what went wrong to where it is fixed: a record's error to its field map, value map or connection."""

from __future__ import annotations

import threading

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from integration.mapping import error_text
from integration.models import RecordSync
from integration.services.fixes import Fixes, FixFinder

_page = threading.local()


def page_fix_finder(*, fresh: bool = False) -> FixFinder:
    """The finder of the list page this thread renders (`fresh` at the start of each page), so the page reads each
    entity map's field maps once however many rows it shows."""
    if fresh or not hasattr(_page, "finder"):
        _page.finder = FixFinder()
    return _page.finder


def fix_links(fixes: Fixes) -> str:
    """'field map X · its value map · connection Y' as links, or ''."""
    links = []
    for field_map in fixes.field_maps:
        url = reverse("admin:integration_fieldmap_change", args=[field_map.pk])
        links.append((url, f"field map {field_map.destination_field}"))
        if fixes.value_map(field_map):
            links.append((url + "#value-map", "its value map"))
    if fixes.connection is not None:
        links.append((reverse("admin:integration_connection_change", args=[fixes.connection.pk]),
                      f"connection {fixes.connection.name}"))
    return format_html_join(" · ", '<a class="p2c-fix" href="{}">{}</a>', links)


def error_html(record: RecordSync, *, finder: FixFinder | None = None, limit: int | None = None) -> str:
    """The record's error said once ('field: why'), the field linking to its field map, then where to fix it."""
    if not (record.error_message or record.error_field):
        return ""
    fixes = (finder or FixFinder()).fixes(record)
    message = record.error_message
    if limit and len(message) > limit:
        message = message[:limit - 1] + "…"
    named = next((fm for fm in fixes.field_maps if fm.destination_field == record.error_field), None)
    if named is not None:
        url = reverse("admin:integration_fieldmap_change", args=[named.pk])
        text = format_html('<a href="{}">{}</a>: {}', url, record.error_field, message)
    else:
        text = error_text(record.error_field, message)
    links = fix_links(fixes)
    if not links:
        return format_html('<span class="p2c-error">{}</span>', text)
    return format_html('<span class="p2c-error">{}</span> <span class="p2c-fixes">(fix: {})</span>', text, links)
