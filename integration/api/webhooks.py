"""The Dataverse webhook endpoint: no session, no CSRF; the project's shared secret is the only credential.

Every answer is JSON, errors included, so whoever reads Dataverse's record of a failed delivery sees why.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.services import webhooks
from integration.webhook_context import ContextInvalid


class WebhookAnswerSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["queued", "duplicate", "ignored"])
    note = serializers.CharField()
    run = serializers.IntegerField(allow_null=True)


class WebhookErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class DataverseWebhook(APIView):
    """Receives Dataverse's RemoteExecutionContext for Create, Update and Delete and queues a one-record sync.

    202 once queued, 200 for a redelivery or a change no entity map reads, 401 for a wrong or missing secret or
    an unknown project (alike, so the endpoint reveals no project names), 400 for a body that is not a
    RemoteExecutionContext, 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Dataverse sends at most 256 KB).
    Not throttled: Dataverse retries only 502, 503 and 504, so a 429 would drop the change until the next
    scheduled run, and a secret of 32 characters or more cannot be guessed at any rate.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        request={"application/json": {"type": "object", "description": "Dataverse RemoteExecutionContext"}},
        parameters=[
            OpenApiParameter(settings.P2C_WEBHOOK_HEADER, str, OpenApiParameter.HEADER,
                             description="The project's shared secret (HttpHeader authentication)"),
            OpenApiParameter("code", str, description="The shared secret as WebhookKey, only where the project "
                                                      "allows it"),
        ],
        responses={202: WebhookAnswerSerializer, 200: WebhookAnswerSerializer, 400: WebhookErrorSerializer,
                   401: WebhookErrorSerializer, 413: WebhookErrorSerializer},
    )
    def post(self, request, project: str):
        try:
            target = webhooks.webhook_authenticate(project_name=project,
                                                   header=request.headers.get(settings.P2C_WEBHOOK_HEADER),
                                                   query=request.query_params.get("code"))
        except webhooks.WebhookUnauthorized:
            return Response({"detail": "unauthorized"}, status=status.HTTP_401_UNAUTHORIZED)
        try:
            body = request.data
        except RequestDataTooBig:
            return Response({"detail": f"the body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes"},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            outcome = webhooks.webhook_receive(project=target, body=body)
        except ContextInvalid as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        answer = {"status": outcome.status, "note": outcome.note, "run": outcome.run.pk if outcome.run else None}
        code = status.HTTP_202_ACCEPTED if outcome.status == "queued" else status.HTTP_200_OK
        return Response(answer, status=code)
