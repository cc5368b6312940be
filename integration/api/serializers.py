"""What the API reads and writes. Serializers shape data and check input; decisions stay in the services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from integration.models import (
    ACTIVE_RUN_STATUSES,
    EntityMap,
    Project,
    ProjectCheck,
    RecordStatus,
    RecordSync,
    RunStatus,
    SyncRun,
)
from integration.services import runs


class EntityMapSerializer(serializers.ModelSerializer):
    reverse_map = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = EntityMap
        fields = ("name", "order", "enabled", "direction", "source_entity_set", "destination_entity_set",
                  "change_detection", "propagate_deletes", "on_key_change", "create_only", "reverse_map",
                  "system_of_record")


class ProjectSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    runs_url = serializers.SerializerMethodField()
    entity_maps = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ("name", "url", "description", "template", "paused", "schedule_minutes", "schedule_crontab",
                  "retention_days", "runs_url", "entity_maps")

    def get_url(self, obj: Project) -> str:
        return reverse("api:project-detail", args=[obj.name], request=self.context.get("request"))

    def get_runs_url(self, obj: Project) -> str:
        return reverse("api:project-runs", args=[obj.name], request=self.context.get("request"))

    @extend_schema_field(EntityMapSerializer(many=True))
    def get_entity_maps(self, obj: Project) -> list[dict]:
        maps = sorted(obj.entity_maps.all(), key=lambda m: (m.order, m.pk))
        return EntityMapSerializer(maps, many=True).data


class RunSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    records_url = serializers.SerializerMethodField()
    project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = ("id", "url", "project", "mode", "trigger", "is_bulk", "status", "requested_by", "created_at",
                  "started_at", "finished_at", "message", "counts", "records_url", "check_first", "preflight")

    def get_url(self, obj: SyncRun) -> str:
        return reverse("api:run-detail", args=[obj.pk], request=self.context.get("request"))

    def get_records_url(self, obj: SyncRun) -> str:
        return reverse("api:run-records", args=[obj.pk], request=self.context.get("request"))

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, obj: SyncRun) -> dict[str, int]:
        """Live from the rows while the run is going; the stored counts once it has ended."""
        return runs.run_counts(run=obj) if obj.status in ACTIVE_RUN_STATUSES else obj.counts


class StageProgressSerializer(serializers.Serializer):
    entity_map = serializers.CharField()
    status = serializers.CharField()
    read = serializers.IntegerField()
    ineligible = serializers.IntegerField()
    records = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class RunDetailSerializer(RunSerializer):
    progress = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = (*RunSerializer.Meta.fields, "progress")

    @extend_schema_field(StageProgressSerializer(many=True))
    def get_progress(self, obj: SyncRun) -> list[dict]:
        return StageProgressSerializer(runs.run_progress(run=obj), many=True).data


class RecordSerializer(serializers.ModelSerializer):
    entity_map = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = RecordSync
        fields = ("id", "run", "entity_map", "source_key", "source_id", "operation", "status", "outcome",
                  "attempts", "destination_key", "previous_destination_key", "notes", "conflict", "error_type",
                  "error_field", "error_message", "snapshot", "payload", "retry_of", "queued_at", "finished_at")


class RunStartSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=[SyncRun.Mode.FULL, SyncRun.Mode.INCREMENTAL],
                                   default=SyncRun.Mode.INCREMENTAL)
    entity_maps = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                        allow_empty=False, max_length=100,
                                        help_text="Names of entity maps to run; all enabled ones when left out")
    check = serializers.BooleanField(required=False, allow_null=True, default=None,
                                     help_text="Run the pre-flight check first and refuse to sync on errors; "
                                               "by default full runs do and incremental runs don't")

    def validate_entity_maps(self, names: list[str]) -> list[str]:
        known = set(self.context["project"].entity_maps.values_list("name", flat=True))
        unknown = sorted(set(names) - known)
        if unknown:
            raise serializers.ValidationError(f"no entity map named {', '.join(unknown)} in this project")
        return names


class ProblemSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["error", "warning"])
    entity_map = serializers.CharField(allow_blank=True)
    field = serializers.CharField()
    message = serializers.CharField()
    fix = serializers.CharField()


class ProjectCheckSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    problems = ProblemSerializer(many=True)

    class Meta:
        model = ProjectCheck
        fields = ("id", "project", "status", "created_at", "trigger", "requested_by", "seconds", "problems")


class RunFilterSerializer(serializers.Serializer):
    project = serializers.SlugField(required=False)
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)


class RecordFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RecordStatus.choices, required=False)
    entity_map = serializers.CharField(required=False, max_length=100)


class RecordRetrySerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=10000)

    def validate_ids(self, ids: list[int]) -> list[int]:
        found = set(RecordSync.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = sorted(set(ids) - found)
        if missing:
            raise serializers.ValidationError(f"no records with ids {missing[:20]}")
        return ids


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    run = RunSerializer(required=False)
