"""/healthz, /readyz and /metrics: what load balancers, orchestrators and Prometheus ask, with no user to sign in.

/healthz says the process answers, and touches nothing. /readyz checks each part p2c needs (`services.health`);
neither names a host, a user or a secret. /metrics answers a bearer token (P2C_METRICS_TOKEN) or an address in
P2C_METRICS_ALLOW, and nobody else (with DEBUG on, loopback too).
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from integration.api.throttles import client_address
from integration.services.health import CHECKS, readiness
from integration.services.metrics import P2CCollector


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every check is ok, else 503; `?only=database,broker` for a subset (a web container's own
    probe, which must not wait for workers that wait for it)."""
    only = [name.strip() for name in request.GET.get("only", "").split(",") if name.strip()]
    unknown = sorted(set(only) - set(CHECKS))
    if unknown:
        return JsonResponse({"detail": f"unknown checks: {', '.join(unknown)}; known: {', '.join(CHECKS)}"},
                            status=400)
    ready, checks = readiness(only=only or None)
    return JsonResponse({"status": "ok" if ready else "down",
                         "checks": {name: check.as_dict() for name, check in checks.items()}},
                        status=200 if ready else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse("Forbidden: send the P2C_METRICS_TOKEN as a bearer token, or scrape from an address "
                            "in P2C_METRICS_ALLOW\n", status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(P2CCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.P2C_METRICS_TOKEN
    presented = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    if settings.DEBUG and address.is_loopback:
        return True
    return any(address in ipaddress.ip_network(network, strict=False) for network in settings.P2C_METRICS_ALLOW)
