"""The Dataverse webhook endpoint: no session, no CSRF; the project's shared secret is the only credential."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.services import webhooks
from integration.webhook_context import ContextInvalid

SIZE_EXCEEDED_HEADER = "x-ms-dynamics-msg-size-exceeded"


class WebhookAnswerSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["queued", "duplicate", "ignored"])
    note = serializers.CharField()
    run = serializers.IntegerField(allow_null=True)


class DataverseWebhook(APIView):
    """Receives Dataverse's RemoteExecutionContext for Create, Update and Delete and queues a one-record sync.

    202 once queued, 200 for a redelivery or a change no entity map reads, 401 (empty body) for a wrong or
    missing secret or an unknown project (alike, so the endpoint reveals no project names), 400 for a body that
    is not a RemoteExecutionContext.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        request={"application/json": {"type": "object", "description": "Dataverse RemoteExecutionContext"}},
        parameters=[OpenApiParameter("code", str, description="The shared secret (WebhookKey authentication)")],
        responses={202: WebhookAnswerSerializer, 200: WebhookAnswerSerializer, 401: None},
    )
    def post(self, request, project: str):
        presented = request.query_params.get("code") or request.headers.get(settings.P2C_WEBHOOK_HEADER)
        try:
            target = webhooks.webhook_authenticate(project_name=project, presented=presented)
        except webhooks.WebhookUnauthorized:
            return Response(status=status.HTTP_401_UNAUTHORIZED)
        try:
            outcome = webhooks.webhook_receive(project=target, body=request.data,
                                               size_exceeded=SIZE_EXCEEDED_HEADER in request.headers)
        except ContextInvalid as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        answer = {"status": outcome.status, "note": outcome.note, "run": outcome.run.pk if outcome.run else None}
        code = status.HTTP_202_ACCEPTED if outcome.status == "queued" else status.HTTP_200_OK
        return Response(answer, status=code)
