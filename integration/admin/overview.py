"""The project overview page: what a person wants to know at a glance, without reading tables."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.template.response import TemplateResponse

from integration.admin.charts import bars
from integration.admin.display import counts_text, duration_text, progress_bar, status_badge
from integration.models import ACTIVE_RUN_STATUSES
from integration.services import runs
from integration.services.overview import projects_overview, workers_overview

DAYS = 14


@permission_required("integration.view_syncrun", raise_exception=True)
def overview_view(request):
    projects = []
    for overview in projects_overview(days=DAYS):
        projects.append({
            "project": overview.project,
            "runs": [{"run": run, "badge": status_badge(run.status, run.get_status_display()),
                      "counts": counts_text(run.counts if run.status not in ACTIVE_RUN_STATUSES
                                            else runs.run_counts(run=run)),
                      "duration": duration_text(run.started_at, run.finished_at)}
                     for run in overview.last_runs],
            "active": [{"run": active.run, "bar": progress_bar(active.done, active.total, active.failed),
                        "duration": duration_text(active.run.started_at, None),
                        "stages": [{**stage, "badge": status_badge(stage["status"]),
                                    "bar": progress_bar(stage["done"], stage["records"], stage["failed"])}
                                   for stage in active.stages]}
                       for active in overview.active],
            "failures": [{"map": failures, "bars": bars(failures.per_day, overview.days)}
                         for failures in overview.failures],
            "first_day": overview.days[0], "last_day": overview.days[-1],
            "record_runs": " · ".join(f"{n} {status}" for status, n in sorted(overview.record_runs.items())),
            "record_runs_total": sum(overview.record_runs.values()),
        })
    running = any(project["active"] for project in projects)
    context = {**admin.site.each_context(request), "title": "Project overview", "projects": projects,
               "workers": workers_overview(), "days": DAYS, "refresh_seconds": 5 if running else 30}
    return TemplateResponse(request, "admin/integration/overview.html", context)
