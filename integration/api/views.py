"""API views: parse, call a service, shape the answer. Errors map to statuses, never to stack traces."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.api import serializers as s
from integration.api.permissions import ActionPermission, ModelPermissions
from integration.models import EntityMap, Project, RecordSync, SyncRun
from integration.services import dry_runs, preflight, retries, runs, schedules


def _conflict(detail: str, run: SyncRun | None, request) -> Response:
    body = {"detail": detail}
    if run is not None:
        body["run"] = s.RunSerializer(run, context={"request": request}).data
    return Response(body, status=status.HTTP_409_CONFLICT)


def entity_map_or_404(name: str, entity_map: str) -> EntityMap:
    """The project's entity map named in the URL, with the project and its connections."""
    return get_object_or_404(EntityMap.objects.select_related(
        "project__sales_connection", "project__finops_connection"), project__name=name, name=entity_map)


def _accepted(run: SyncRun, request) -> Response:
    data = s.RunSerializer(run, context={"request": request}).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class ProjectList(generics.ListAPIView):
    """Projects and their entity maps, in run order."""

    queryset = Project.objects.prefetch_related("entity_maps").order_by("name")
    serializer_class = s.ProjectSerializer
    permission_classes = [ModelPermissions]


class ProjectDetail(generics.RetrieveAPIView):
    queryset = Project.objects.prefetch_related("entity_maps")
    serializer_class = s.ProjectSerializer
    permission_classes = [ModelPermissions]
    lookup_field = "name"


class ProjectEntityMaps(generics.ListAPIView):
    serializer_class = s.EntityMapSerializer
    permission_classes = [ModelPermissions]
    queryset = EntityMap.objects.none()  # the model whose view permission the list needs

    def get_queryset(self):
        project = get_object_or_404(Project, name=self.kwargs["name"])
        return project.entity_maps.order_by("order", "id")


class ProjectRuns(generics.ListCreateAPIView):
    """GET: the project's runs, newest first. POST: start a bulk run (202), or 409 when one is in progress."""

    serializer_class = s.RunSerializer
    permission_classes = [ModelPermissions]  # view_syncrun to list, add_syncrun to start
    queryset = SyncRun.objects.none()

    def get_queryset(self):
        project = get_object_or_404(Project, name=self.kwargs["name"])
        return SyncRun.objects.filter(project=project).select_related("project")

    @extend_schema(request=s.RunStartSerializer, responses={
        202: PolymorphicProxySerializer(component_name="RunOrDryRun", serializers=[s.RunSerializer,
                                                                                     s.DryRunSerializer],
                                        resource_type_field_name=None),
        409: s.ConflictSerializer})
    def post(self, request, name: str):
        project = get_object_or_404(Project, name=name)
        start = s.RunStartSerializer(data=request.data, context={"project": project})
        start.is_valid(raise_exception=True)
        if start.validated_data["dry_run"]:
            return self.dry_run(request, project, start.validated_data)
        try:
            run = runs.run_start(project=project, mode=start.validated_data["mode"],
                                 entity_maps=start.validated_data.get("entity_maps"), trigger=SyncRun.Trigger.API,
                                 requested_by=request.user.get_username(), check=start.validated_data.get("check"))
        except runs.RunInProgress as exc:
            return _conflict(str(exc), exc.run, request)
        except runs.RunRefused as exc:
            return _conflict(str(exc), None, request)
        return _accepted(run, request)

    @staticmethod
    def dry_run(request, project: Project, options: dict) -> Response:
        try:
            dry_run = dry_runs.dry_run_start(project=project, full=options["mode"] == SyncRun.Mode.FULL,
                                             entity_maps=options.get("entity_maps"), trigger="api",
                                             requested_by=request.user.get_username())
        except runs.RunRefused as exc:
            return _conflict(str(exc), None, request)
        data = s.DryRunSerializer(dry_run, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class ProjectCheckRun(APIView):
    """Check the project's entity maps against both environments now (reads them, writes nothing): 200 with every
    problem found, each naming the entity map, the field and the fix. Needs the permission to start runs."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.add_syncrun"]

    @extend_schema(request=None, responses=s.ProjectCheckSerializer)
    def post(self, request, name: str):
        project = get_object_or_404(Project.objects.select_related("sales_connection", "finops_connection"),
                                    name=name)
        check = preflight.project_check(project=project, trigger="api", requested_by=request.user.get_username())
        return Response(s.ProjectCheckSerializer(check).data)


class ProjectPause(APIView):
    """Pause a project: its schedule stops and no run starts until it is resumed."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.change_project"]
    paused = True

    @extend_schema(request=None, responses=s.ProjectSerializer)
    def post(self, request, name: str):
        project = get_object_or_404(Project, name=name)
        project = schedules.project_set_paused(project=project, paused=self.paused)
        return Response(s.ProjectSerializer(project, context={"request": request}).data)


class ProjectResume(ProjectPause):
    """Resume a paused project."""

    paused = False


@extend_schema(parameters=[s.RunFilterSerializer])
class RunList(generics.ListAPIView):
    """Runs, newest first; filter with ?project=<name> and ?status=<status>."""

    serializer_class = s.RunSerializer
    permission_classes = [ModelPermissions]
    queryset = SyncRun.objects.select_related("project")

    def get_queryset(self):
        filters = s.RunFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = super().get_queryset()
        if "project" in filters.validated_data:
            queryset = queryset.filter(project__name=filters.validated_data["project"])
        if "status" in filters.validated_data:
            queryset = queryset.filter(status=filters.validated_data["status"])
        return queryset


class RunDetail(generics.RetrieveAPIView):
    """One run with its counts and per-stage progress."""

    serializer_class = s.RunDetailSerializer
    permission_classes = [ModelPermissions]
    queryset = SyncRun.objects.select_related("project")


@extend_schema(parameters=[s.RecordFilterSerializer])
class RunRecords(generics.ListAPIView):
    """A run's records; filter with ?status=<status> and ?entity_map=<name>."""

    serializer_class = s.RecordSerializer
    permission_classes = [ModelPermissions]
    queryset = RecordSync.objects.none()

    def get_queryset(self):
        run = get_object_or_404(SyncRun, pk=self.kwargs["pk"])
        filters = s.RecordFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = run.records.select_related("entity_map").order_by("id")
        if "status" in filters.validated_data:
            queryset = queryset.filter(status=filters.validated_data["status"])
        if "entity_map" in filters.validated_data:
            queryset = queryset.filter(entity_map__name=filters.validated_data["entity_map"])
        return queryset


class RecordDetail(generics.RetrieveAPIView):
    serializer_class = s.RecordSerializer
    permission_classes = [ModelPermissions]
    queryset = RecordSync.objects.select_related("entity_map")


class RunRetry(APIView):
    """Retry the failed records of a run (each re-read from its source) in a new run: 202 with that run."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.change_syncrun"]

    @extend_schema(request=None, responses={202: s.RunSerializer, 409: s.ConflictSerializer})
    def post(self, request, pk: int):
        run = get_object_or_404(SyncRun, pk=pk)
        try:
            retry = retries.run_retry_failed(run=run, requested_by=request.user.get_username())
        except retries.NothingToRetry as exc:
            return _conflict(str(exc), None, request)
        return _accepted(retry, request)


class RecordRetry(APIView):
    """Retry failed records by id, in a new run: 202 with that run."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.change_syncrun"]

    @extend_schema(request=s.RecordRetrySerializer, responses={202: s.RunSerializer, 409: s.ConflictSerializer})
    def post(self, request):
        body = s.RecordRetrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        records = RecordSync.objects.filter(pk__in=body.validated_data["ids"])
        try:
            retry = retries.records_retry(records=records, requested_by=request.user.get_username())
        except retries.NothingToRetry as exc:
            return _conflict(str(exc), None, request)
        return _accepted(retry, request)


class RunCancel(APIView):
    """Cancel a run in progress: open records are skipped, cursors stay. 409 when it has already ended."""

    permission_classes = [ActionPermission]
    required_permissions = ["integration.change_syncrun"]

    @extend_schema(request=None, responses={200: s.RunSerializer, 409: s.ConflictSerializer})
    def post(self, request, pk: int):
        run = get_object_or_404(SyncRun.objects.select_related("project"), pk=pk)
        if not runs.run_cancel(run=run, reason=f"cancelled by {request.user.get_username()} through the API"):
            run.refresh_from_db()
            return _conflict(f"run #{run.pk} is not in progress (it is {run.status})", run, request)
        run.refresh_from_db()
        return Response(s.RunSerializer(run, context={"request": request}).data)

