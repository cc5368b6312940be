"""Pre-flight checks of projects: what each found, problem by problem, with the fix. Read-only: a check is
started from the project (its "Check against the environments" action), the API or `check_project`."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from integration.models import ProjectCheck


def check_link(check: ProjectCheck | None) -> str:
    if check is None:
        return "never checked"
    url = reverse("admin:integration_projectcheck_change", args=[check.pk])
    errors = sum(problem["severity"] == "error" for problem in check.problems)
    return format_html('<a href="{}">#{} {}</a> ({} errors, {} warnings, {})', url, check.pk,
                       check.get_status_display(), errors, len(check.problems) - errors,
                       f"{check.created_at:%Y-%m-%d %H:%M}")


@admin.register(ProjectCheck)
class ProjectCheckAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "status", "created_at", "trigger", "requested_by", "problem_count")
    list_filter = ("status", "project")
    fields = ("project", "status", "created_at", "trigger", "requested_by", "seconds", "problem_table")
    readonly_fields = fields

    @admin.display(description="problems")
    def problem_count(self, obj: ProjectCheck) -> int:
        return len(obj.problems)

    @admin.display(description="problems")
    def problem_table(self, obj: ProjectCheck) -> str:
        if not obj.problems:
            return "None: every entity map agrees with both environments."
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                                ((p["severity"], p["entity_map"] or "(project)", p["field"], p["message"], p["fix"])
                                 for p in obj.problems))
        return format_html('<table><thead><tr><th>severity</th><th>entity map</th><th>field</th><th>problem</th>'
                           "<th>fix</th></tr></thead><tbody>{}</tbody></table>", rows)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
