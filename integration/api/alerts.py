"""Alert rules and incidents (read), and pausing or resuming an entity map, for scripts.

Rules are set in the admin; the API lists them, never with a webhook URL (a credential): only whether one is set.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.api.permissions import ActionPermission, ModelPermissions
from integration.api.serializers import EntityMapSerializer
from integration.api.views import entity_map_or_404
from integration.models import AlertIncident, AlertRule
from integration.services import entity_maps


class IncidentSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="rule.project.name", read_only=True)
    kind = serializers.CharField(source="rule.kind", read_only=True)

    class Meta:
        model = AlertIncident
        fields = ("id", "rule", "project", "kind", "subject", "summary", "opened_at", "notified_at", "resolved_at",
                  "resolved_notified_at", "attempts", "last_error")


class AlertRuleSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    entity_map = serializers.SlugRelatedField(slug_field="name", read_only=True)
    webhook_url_set = serializers.SerializerMethodField()
    open_incidents = serializers.SerializerMethodField()

    class Meta:
        model = AlertRule
        fields = ("id", "project", "kind", "enabled", "threshold", "window_minutes", "grace_minutes", "entity_map",
                  "pause_entity_map", "channel", "email_to", "webhook_url_set", "open_incidents", "created_at",
                  "updated_at")

    def get_webhook_url_set(self, obj: AlertRule) -> bool:
        return bool(obj.webhook_url)

    @extend_schema_field(IncidentSerializer(many=True))
    def get_open_incidents(self, obj: AlertRule) -> list[dict]:
        return IncidentSerializer(obj.open_incidents, many=True).data  # prefetched by the list


class AlertRuleFilterSerializer(serializers.Serializer):
    project = serializers.SlugField(required=False)


class IncidentFilterSerializer(AlertRuleFilterSerializer):
    open = serializers.BooleanField(required=False, allow_null=True, default=None)


@extend_schema(parameters=[AlertRuleFilterSerializer])
class AlertRuleList(generics.ListAPIView):
    """Alert rules with their open incidents; ?project=<name>."""

    serializer_class = AlertRuleSerializer
    permission_classes = [ModelPermissions]
    queryset = AlertRule.objects.select_related("project", "entity_map").prefetch_related(Prefetch(
        "incidents", queryset=AlertIncident.objects.filter(resolved_at__isnull=True), to_attr="open_incidents")
    ).order_by("project__name", "kind", "id")

    def get_queryset(self):
        filters = AlertRuleFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = super().get_queryset()
        if "project" in filters.validated_data:
            queryset = queryset.filter(project__name=filters.validated_data["project"])
        return queryset


@extend_schema(parameters=[IncidentFilterSerializer])
class AlertIncidentList(generics.ListAPIView):
    """Incidents, newest first; ?project=<name>, ?open=true for those not yet resolved."""

    serializer_class = IncidentSerializer
    permission_classes = [ModelPermissions]
    queryset = AlertIncident.objects.select_related("rule__project").defer("rule__webhook_url")

    def get_queryset(self):
        filters = IncidentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = super().get_queryset()
        if "project" in filters.validated_data:
            queryset = queryset.filter(rule__project__name=filters.validated_data["project"])
        if filters.validated_data.get("open") is not None:
            queryset = queryset.filter(resolved_at__isnull=filters.validated_data["open"])
        return queryset


class PauseSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=400)


class EntityMapPause(APIView):
    """Pause an entity map: its stages are skipped (records already queued finish) until it is resumed."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.change_entitymap"]

    @extend_schema(request=PauseSerializer, responses=EntityMapSerializer)
    def post(self, request, name: str, entity_map: str):
        found = entity_map_or_404(name, entity_map)
        body = PauseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data.get("reason") or f"paused by {request.user.get_username()} through the API"
        entity_maps.entity_map_pause(entity_map=found, reason=reason)
        return Response(EntityMapSerializer(found).data)


class EntityMapResume(APIView):
    """Resume a paused entity map: its next stage runs, and reads what changed meanwhile."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.change_entitymap"]

    @extend_schema(request=None, responses=EntityMapSerializer)
    def post(self, request, name: str, entity_map: str):
        found = entity_map_or_404(name, entity_map)
        entity_maps.entity_map_resume(entity_map=found)
        return Response(EntityMapSerializer(found).data)
