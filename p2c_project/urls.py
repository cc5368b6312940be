from django.contrib import admin
from django.urls import include, path

from integration import probes

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("integration.api.urls")),
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", probes.metrics, name="metrics"),
]
