"""The API's side of the admin's workbench: the failing-records queue and its actions, dry runs, and the preview
of one record. Views parse, call a service and shape the answer."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.api import serializers as s
from integration.api.permissions import ActionPermission, ModelPermissions
from integration.api.views import _accepted, _conflict, entity_map_or_404
from integration.models import DryRun, DryRunRecord, Project, RecordSync
from integration.services import failing, retries
from integration.services.preview import record_preview


@extend_schema(parameters=[s.FailingFilterSerializer])
class ProjectFailingRecords(generics.ListAPIView):
    """The records of the project failing now: one per record (its latest failure), across runs, with when it first
    and last failed since it last succeeded and how many times; filter with ?entity_map, ?error_field, ?ignored."""

    serializer_class = s.FailingRecordSerializer
    permission_classes = [ModelPermissions]
    queryset = RecordSync.objects.none()

    def get_queryset(self):
        project = get_object_or_404(Project, name=self.kwargs["name"])
        filters = s.FailingFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        ignored = {"false": False, "true": True, "all": None}[filters.validated_data["ignored"]]
        rows = failing.failing_queue(project=project, ignored=ignored).order_by("entity_map__order", "source_key")
        if "entity_map" in filters.validated_data:
            rows = rows.filter(entity_map__name=filters.validated_data["entity_map"])
        if "error_field" in filters.validated_data:
            rows = rows.filter(error_field=filters.validated_data["error_field"])
        return rows


class FailingRetry(APIView):
    """Retry failing records (by id, or every one failing like a given one) in a new run: 202 with that run."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.change_syncrun"]

    @extend_schema(request=s.FailingRetrySerializer, responses={202: s.RunSerializer, 409: s.ConflictSerializer})
    def post(self, request):
        body = s.FailingRetrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if "like" in body.validated_data:
            records = failing.failures_like(record=get_object_or_404(RecordSync, pk=body.validated_data["like"]))
        else:
            records = RecordSync.objects.filter(pk__in=body.validated_data["ids"])
        try:
            run = retries.failures_retry(records=records, requested_by=request.user.get_username())
        except retries.NothingToRetry as exc:
            return _conflict(str(exc), None, request)
        return _accepted(run, request)


class FailingIgnore(APIView):
    """Leave failing records alone, saying why: they leave the queue until they fail again after their source
    changes. 200 with how many were ignored."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.change_syncrun"]

    @extend_schema(request=s.FailingIgnoreSerializer, responses=s.CountSerializer)
    def post(self, request):
        body = s.FailingIgnoreSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        count = failing.failures_ignore(records=RecordSync.objects.filter(pk__in=body.validated_data["ids"]),
                                        reason=body.validated_data["reason"],
                                        ignored_by=request.user.get_username())
        return Response({"count": count})


class FailingUnignore(APIView):
    """Undo ignoring: the records are back in the queue. 200 with how many."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.change_syncrun"]

    @extend_schema(request=s.FailingIdsSerializer, responses=s.CountSerializer)
    def post(self, request):
        body = s.FailingIdsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        count = failing.failures_unignore(records=RecordSync.objects.filter(pk__in=body.validated_data["ids"]))
        return Response({"count": count})


class DryRunDetail(generics.RetrieveAPIView):
    """One dry run: its status and, once done, per entity map what a run would do."""

    serializer_class = s.DryRunSerializer
    permission_classes = [ModelPermissions]
    queryset = DryRun.objects.select_related("project")


@extend_schema(parameters=[s.DryRunRecordFilterSerializer])
class DryRunRecords(generics.ListAPIView):
    """The records a dry run found a run would create, update, fail on, skip or delete (unchanged ones are only
    counted), with the fields that would change; filter with ?outcome and ?entity_map."""

    serializer_class = s.DryRunRecordSerializer
    permission_classes = [ModelPermissions]
    queryset = DryRun.objects.none()  # reading them needs the dry runs' view permission

    def get_queryset(self):
        dry_run = get_object_or_404(DryRun, pk=self.kwargs["pk"])
        filters = s.DryRunRecordFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        rows = DryRunRecord.objects.filter(dry_run=dry_run).select_related("entity_map").order_by("id")
        if "outcome" in filters.validated_data:
            rows = rows.filter(outcome=filters.validated_data["outcome"])
        if "entity_map" in filters.validated_data:
            rows = rows.filter(entity_map__name=filters.validated_data["entity_map"])
        return rows


class EntityMapPreview(APIView):
    """Read one source record by its key (?key=), map it as a run would, and compare the payload with what the
    destination holds now, field by field. Reads both environments, writes nothing."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.view_entitymap", "integration.view_recordsync"]

    @extend_schema(parameters=[OpenApiParameter("key", str, required=True,
                                                description="The source key (or id) of the record")],
                   responses=s.PreviewSerializer)
    def get(self, request, name: str, entity_map: str):
        mapped = entity_map_or_404(name, entity_map)
        key = request.query_params.get("key", "").strip()
        if not key:
            return Response({"key": ["give the source record's key as ?key="]}, status=status.HTTP_400_BAD_REQUEST)
        preview = record_preview(entity_map=mapped, source_key=key)
        evaluation = preview.evaluation
        return Response({
            "source_key": preview.source_key, "outcome": preview.outcome, "message": preview.message,
            "source": preview.source,
            "payload": evaluation.payload if evaluation else None,
            "destination_key": evaluation.destination_key if evaluation else None,
            "destination": evaluation.destination if evaluation else None,
            "differences": [{"field": d.field, "sends": d.sends, "holds": d.holds}
                            for d in (evaluation.differences if evaluation else [])],
            "error_field": evaluation.error_field if evaluation else "",
            "error": evaluation.error if evaluation else "",
        })
