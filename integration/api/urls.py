from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from integration.api import alerts, views
from integration.api.webhooks import DataverseWebhook

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("projects/", views.ProjectList.as_view(), name="project-list"),
    path("projects/<slug:name>/", views.ProjectDetail.as_view(), name="project-detail"),
    path("projects/<slug:name>/entity-maps/", views.ProjectEntityMaps.as_view(), name="project-entity-maps"),
    path("projects/<slug:name>/runs/", views.ProjectRuns.as_view(), name="project-runs"),
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
    path("records/retry/", views.RecordRetry.as_view(), name="record-retry"),
    path("records/<int:pk>/", views.RecordDetail.as_view(), name="record-detail"),
    path("webhooks/dataverse/<slug:project>/", DataverseWebhook.as_view(), name="webhook-dataverse"),
]
