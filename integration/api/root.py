"""`/api/`: every endpoint of the API, with its methods and what it does, read from the URL patterns themselves
(so the list cannot fall behind), and where the documentation and schema are."""

from __future__ import annotations

import re

from django.urls import URLPattern, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

_HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class EndpointSerializer(serializers.Serializer):
    path = serializers.CharField()
    methods = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()


class IndexSerializer(serializers.Serializer):
    documentation = serializers.DictField(child=serializers.CharField())
    authentication = serializers.CharField()
    endpoints = EndpointSerializer(many=True)


def _path(pattern: URLPattern) -> str:
    """`projects/<slug:name>/runs/` -> `/api/projects/{name}/runs/`."""
    return "/api/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))


def endpoints() -> list[dict]:
    from integration.api.urls import urlpatterns

    found = []
    for pattern in urlpatterns:
        view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
        if view is None or pattern.name in ("index", "docs", "redoc"):
            continue
        methods = [m.upper() for m in _HTTP_METHODS if hasattr(view, m)]
        doc = (view.__doc__ or "").strip().split("\n\n")[0]
        found.append({"path": _path(pattern), "methods": methods, "description": " ".join(doc.split())})
    return found


class ApiIndex(APIView):
    """The API's endpoints, and where its documentation is."""

    @extend_schema(responses=IndexSerializer)
    def get(self, request):
        return Response({
            "documentation": {"swagger_ui": request.build_absolute_uri(reverse("api:docs")),
                              "redoc": request.build_absolute_uri(reverse("api:redoc")),
                              "openapi_schema": request.build_absolute_uri(reverse("api:schema"))},
            "authentication": "Send 'Authorization: Token <token>'; make a token with "
                              "`python manage.py create_api_token <user> --days 90` (it is shown once). The "
                              "documentation pages take the admin's sign-in.",
            "endpoints": endpoints(),
        })

    def permission_denied(self, request, message=None, code=None):
        if not request.successful_authenticator:
            raise NotAuthenticated("Authentication credentials were not provided: send 'Authorization: Token "
                                   "<token>' (python manage.py create_api_token <user>), or sign in to the admin.")
        super().permission_denied(request, message, code)
