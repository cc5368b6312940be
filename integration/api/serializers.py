"""What the API reads and writes. Serializers shape data and check input; decisions stay in the services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from integration.mapping import error_text
from integration.models import (
    ACTIVE_RUN_STATUSES,
    DryRun,
    DryRunRecord,
    EntityMap,
    Project,
    ProjectCheck,
    RecordStatus,
    RecordSync,
    RunStatus,
    SyncRun,
)
from integration.services import runs
from integration.services.run_results import run_exit_code


class EntityMapSerializer(serializers.ModelSerializer):
    reverse_map = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = EntityMap
        fields = ("name", "order", "enabled", "direction", "source_entity_set", "destination_entity_set",
                  "change_detection", "propagate_deletes", "on_key_change", "create_only", "reverse_map",
                  "system_of_record", "paused", "paused_at", "paused_reason")


class ProjectSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    runs_url = serializers.SerializerMethodField()
    failing_records_url = serializers.SerializerMethodField()
    entity_maps = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ("name", "url", "description", "template", "paused", "schedule_minutes", "schedule_crontab",
                  "retention_days", "runs_url", "failing_records_url", "entity_maps")

    def get_failing_records_url(self, obj: Project) -> str:
        return reverse("api:project-failing-records", args=[obj.name], request=self.context.get("request"))

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
    exit_code = serializers.SerializerMethodField(
        help_text="What `sync --wait` and `retry --wait` exit with for this run: 0 succeeded, 1 warning, "
                  "2 failed or cancelled; null while it runs")
    records_url = serializers.SerializerMethodField()
    project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = ("id", "url", "project", "mode", "trigger", "is_bulk", "status", "requested_by", "created_at",
                  "started_at", "finished_at", "message", "exit_code", "counts", "records_url", "check_first",
                  "preflight")

    def get_url(self, obj: SyncRun) -> str:
        return reverse("api:run-detail", args=[obj.pk], request=self.context.get("request"))

    def get_records_url(self, obj: SyncRun) -> str:
        return reverse("api:run-records", args=[obj.pk], request=self.context.get("request"))

    def get_exit_code(self, obj: SyncRun) -> int | None:
        return None if obj.status in ACTIVE_RUN_STATUSES else run_exit_code(run=obj)

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
    dry_run = serializers.BooleanField(required=False, default=False,
                                       help_text="Plan, map and compare with the destination, writing nothing and "
                                                 "moving no change cursor: 202 with a dry run, not a run")

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


class DryRunRecordSerializer(serializers.ModelSerializer):
    entity_map = serializers.SlugRelatedField(slug_field="name", read_only=True)
    differences = serializers.ListField(child=serializers.DictField(), read_only=True,
                                        help_text="Per field: field, sends (what p2c would send), holds (what "
                                                  "the destination holds now)")

    class Meta:
        model = DryRunRecord
        fields = ("entity_map", "source_key", "outcome", "differences", "payload", "error_field", "error_message")


class DryRunSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    records_url = serializers.SerializerMethodField()
    project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    summary = serializers.ListField(child=serializers.DictField(), read_only=True,
                                    help_text="Per entity map, in run order: read, ineligible, create, update, "
                                              "unchanged, would_fail, skip, delete")

    class Meta:
        model = DryRun
        fields = ("id", "url", "project", "full", "entity_maps", "trigger", "requested_by", "status", "created_at",
                  "started_at", "finished_at", "summary", "message", "records_url")

    def get_url(self, obj: DryRun) -> str:
        return reverse("api:dry-run-detail", args=[obj.pk], request=self.context.get("request"))

    def get_records_url(self, obj: DryRun) -> str:
        return reverse("api:dry-run-records", args=[obj.pk], request=self.context.get("request"))


class DryRunRecordFilterSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DryRunRecord.Outcome.choices, required=False)
    entity_map = serializers.CharField(required=False, max_length=100)


class IgnoreSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=False)
    ignored_by = serializers.CharField()
    ignored_at = serializers.DateTimeField()


class FailingRecordSerializer(serializers.ModelSerializer):
    entity_map = serializers.SlugRelatedField(slug_field="name", read_only=True)
    error = serializers.SerializerMethodField(help_text="The error as the admin shows it: the field, once, then why")
    first_seen = serializers.DateTimeField(help_text="Its first failure since it last succeeded")
    last_seen = serializers.DateTimeField()
    failures = serializers.IntegerField(help_text="Runs that failed it since it last succeeded")
    ignored = serializers.SerializerMethodField()
    record_url = serializers.SerializerMethodField()

    class Meta:
        model = RecordSync
        fields = ("id", "entity_map", "source_key", "source_id", "error_type", "error_field", "error_message",
                  "error", "first_seen", "last_seen", "failures", "run", "ignored", "record_url")

    def get_error(self, obj: RecordSync) -> str:
        return error_text(obj.error_field, obj.error_message)

    @extend_schema_field(IgnoreSerializer(allow_null=True))
    def get_ignored(self, obj: RecordSync) -> dict | None:
        if obj.ignored_reason is None:
            return None
        return {"reason": obj.ignored_reason, "ignored_by": obj.ignored_by, "ignored_at": obj.ignored_at}

    def get_record_url(self, obj: RecordSync) -> str:
        return reverse("api:record-detail", args=[obj.pk], request=self.context.get("request"))


class FailingFilterSerializer(serializers.Serializer):
    entity_map = serializers.CharField(required=False, max_length=100)
    error_field = serializers.CharField(required=False, max_length=200)
    ignored = serializers.ChoiceField(choices=["false", "true", "all"], required=False, default="false",
                                      help_text="false: the queue; true: only the ignored; all: both")


class FailingIdsSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=10000,
                                help_text="Ids of failing records (a record's latest failure, as the list gives)")


class FailingRetrySerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_empty=False,
                                max_length=10000)
    like = serializers.IntegerField(min_value=1, required=False,
                                    help_text="Retry every record failing like this one (same entity map, error "
                                              "type and field)")

    def validate(self, attrs):
        if ("ids" in attrs) == ("like" in attrs):
            raise serializers.ValidationError("give either ids or like")
        return attrs


class FailingIgnoreSerializer(FailingIdsSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Why: shown in the queue and the admin")


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class DifferenceSerializer(serializers.Serializer):
    field = serializers.CharField()
    sends = serializers.JSONField()
    holds = serializers.JSONField()


class PreviewSerializer(serializers.Serializer):
    source_key = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["not_found", "ineligible", "would_fail", "skip", "unchanged",
                                               "create", "update", "unreadable"])
    message = serializers.CharField(allow_blank=True)
    source = serializers.DictField(allow_null=True)
    payload = serializers.DictField(allow_null=True)
    destination_key = serializers.DictField(allow_null=True)
    destination = serializers.DictField(allow_null=True)
    differences = DifferenceSerializer(many=True)
    error_field = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
