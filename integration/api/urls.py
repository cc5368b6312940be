from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from integration.api import alerts, views, workbench
from integration.api.root import ApiIndex
from integration.api.webhooks import DataverseWebhook

app_name = "api"


def _docs(view, **options):
    """A documentation page for people: the admin's sign-in page first, when not signed in. Its scripts and styles
    are p2c's own static files; images may come from p2c only (Redoc's bundle shows its maker's logo from a CDN,
    which the browser is told not to fetch: the page works offline and tells nobody it was opened)."""
    page = view.as_view(url_name="api:schema", **options)

    def own_images_only(request, *args, **kwargs):
        response = page(request, *args, **kwargs)
        response["Content-Security-Policy"] = "img-src 'self' data:"
        return response

    return login_required(own_images_only, login_url="admin:login")


urlpatterns = [
    path("", ApiIndex.as_view(), name="index"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", _docs(SpectacularSwaggerView), name="docs"),
    path("redoc/", _docs(SpectacularRedocView, template_name="api/redoc.html"), name="redoc"),
    path("projects/", views.ProjectList.as_view(), name="project-list"),
    path("projects/<slug:name>/", views.ProjectDetail.as_view(), name="project-detail"),
    path("projects/<slug:name>/entity-maps/", views.ProjectEntityMaps.as_view(), name="project-entity-maps"),
    path("projects/<slug:name>/entity-maps/<str:entity_map>/preview/", workbench.EntityMapPreview.as_view(),
         name="entity-map-preview"),
    path("projects/<slug:name>/runs/", views.ProjectRuns.as_view(), name="project-runs"),
    path("projects/<slug:name>/failing-records/", workbench.ProjectFailingRecords.as_view(),
         name="project-failing-records"),
    path("projects/<slug:name>/check/", views.ProjectCheckRun.as_view(), name="project-check"),
    path("projects/<slug:name>/pause/", views.ProjectPause.as_view(), name="project-pause"),
    path("projects/<slug:name>/resume/", views.ProjectResume.as_view(), name="project-resume"),
    path("projects/<slug:name>/entity-maps/<str:entity_map>/pause/", alerts.EntityMapPause.as_view(),
         name="entity-map-pause"),
    path("projects/<slug:name>/entity-maps/<str:entity_map>/resume/", alerts.EntityMapResume.as_view(),
         name="entity-map-resume"),
    path("alert-rules/", alerts.AlertRuleList.as_view(), name="alert-rule-list"),
    path("alert-incidents/", alerts.AlertIncidentList.as_view(), name="alert-incident-list"),
    path("runs/", views.RunList.as_view(), name="run-list"),
    path("runs/<int:pk>/", views.RunDetail.as_view(), name="run-detail"),
    path("runs/<int:pk>/records/", views.RunRecords.as_view(), name="run-records"),
    path("runs/<int:pk>/retry/", views.RunRetry.as_view(), name="run-retry"),
    path("runs/<int:pk>/cancel/", views.RunCancel.as_view(), name="run-cancel"),
    path("dry-runs/<int:pk>/", workbench.DryRunDetail.as_view(), name="dry-run-detail"),
    path("dry-runs/<int:pk>/records/", workbench.DryRunRecords.as_view(), name="dry-run-records"),
    path("records/retry/", views.RecordRetry.as_view(), name="record-retry"),
    path("records/<int:pk>/", views.RecordDetail.as_view(), name="record-detail"),
    path("failing-records/retry/", workbench.FailingRetry.as_view(), name="failing-retry"),
    path("failing-records/ignore/", workbench.FailingIgnore.as_view(), name="failing-ignore"),
    path("failing-records/unignore/", workbench.FailingUnignore.as_view(), name="failing-unignore"),
    path("webhooks/dataverse/<slug:project>/", DataverseWebhook.as_view(), name="webhook-dataverse"),
]
