from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

from integration import probes


def no_icon(request):
    """Browsers ask every page's host for /favicon.ico; p2c has none, and says so without a 404 in their console."""
    return HttpResponse(status=204)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("integration.api.urls")),
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", probes.metrics, name="metrics"),
    path("favicon.ico", no_icon),
]
