"""The integration's data: what to sync (projects, entity maps, field maps), what was linked, and what happened."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from connectors.config import page_size_problem
from connectors.factory import CLIENT_TYPES
from integration.connection_policy import application_user_problems, connection_problems
from integration.crypto import EncryptedTextField
from integration.webhook_secret import webhook_secret_problem


class HttpsURLField(models.URLField):
    """A URL field whose form assumes https for a URL typed without a scheme (Microsoft's APIs are https only)."""

    def formfield(self, **kwargs):
        return super().formfield(**{"assume_scheme": "https", **kwargs})


class System(models.TextChoices):
    DATAVERSE = "dataverse", "Dynamics 365 Sales (Dataverse)"
    FINOPS = "finops", "Finance and Operations"


class Connection(models.Model):
    """How to reach one environment: its URL and the app registration p2c signs in with."""

    name = models.CharField(max_length=100, unique=True)
    system = models.CharField(max_length=20, choices=System.choices)
    base_url = HttpsURLField(help_text="The environment's URL, e.g. https://contoso.crm.dynamics.com")
    authority = HttpsURLField(help_text="Token authority: https://login.microsoftonline.com/<tenant id> (or "
                                        "another Microsoft Entra cloud, or a host in P2C_AUTHORITY_HOSTS)")
    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField(blank=True, help_text="Stored encrypted; never shown again after saving.")
    client_secret_env = models.CharField(
        max_length=100, blank=True,
        help_text="Or: the name of an environment variable that holds the secret (one P2C_SECRET_ENV_ALLOWLIST "
                  "allows, e.g. P2C_SECRET_SALES).")
    certificate_pem = EncryptedTextField(blank=True, help_text="Private key and certificate (PEM), stored encrypted.")
    certificate_thumbprint = models.CharField(max_length=64, blank=True)
    scope = models.CharField(max_length=300, blank=True, help_text="Defaults to <base URL>/.default")
    default_company = models.CharField(max_length=10, blank=True, help_text="F&O: the service user's company")
    ca_bundle = models.CharField(max_length=500, blank=True,
                                 help_text="A PEM file of CA certificates to trust instead of the public CAs, in "
                                           "one of P2C_CA_BUNDLE_DIRS")
    timeout_seconds = models.PositiveIntegerField(default=60)
    page_size = models.PositiveIntegerField(default=5000)
    max_retries = models.PositiveIntegerField(default=5)
    requests_per_window = models.PositiveIntegerField(null=True, blank=True,
                                                      help_text="Client-side budget shared by all workers")
    window_seconds = models.PositiveIntegerField(default=300)
    max_concurrency = models.PositiveIntegerField(null=True, blank=True)
    batch_size = models.PositiveIntegerField(
        default=100, help_text="Records a bulk run writes per request to this environment ($batch, each record its "
                               "own operation with its own outcome); 1 writes them one by one")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems = {**connection_problems(self), **self._size_problems()}
        if problems:
            raise ValidationError(problems)

    def _size_problems(self) -> dict[str, str]:
        """Page and batch sizes within what the system documents, refused on save rather than at the first run."""
        if self.system not in CLIENT_TYPES:
            return {}
        problems = {}
        if problem := page_size_problem(self.system, self.page_size):
            problems["page_size"] = problem
        most = CLIENT_TYPES[self.system].max_batch_operations
        if not 1 <= self.batch_size <= most:
            problems["batch_size"] = (f"between 1 and {most:,} records: the most operations a {self.system} $batch "
                                      "may hold")
        return problems


class ApplicationUser(models.Model):
    """One more app registration p2c signs in to the connection's environment with. Microsoft evaluates service
    protection limits per user, so the connection's requests go to its application users in turn, each with its
    own token and its own share of the limits."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="extra_users")
    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField(blank=True, help_text="Stored encrypted; never shown again after saving.")
    client_secret_env = models.CharField(
        max_length=100, blank=True,
        help_text="Or: the name of an environment variable that holds the secret (one P2C_SECRET_ENV_ALLOWLIST "
                  "allows).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["connection", "client_id"],
                                               name="one_application_user_per_client_id")]

    def __str__(self) -> str:
        return self.client_id

    def clean(self) -> None:
        problems = application_user_problems(self)
        if problems:
            raise ValidationError(problems)


class Project(models.Model):
    """Keeps one Sales environment and one F&O environment in step, through an ordered list of entity maps."""

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    template = models.CharField(max_length=100, blank=True)
    template_base = models.JSONField(
        null=True, blank=True, editable=False,
        help_text="The template as it was when loaded into this project: the common ancestor of a three-way "
                  "upgrade, which tells the project's own edits from the template's changes")
    sales_connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="sales_projects",
                                         limit_choices_to={"system": System.DATAVERSE})
    finops_connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="finops_projects",
                                          limit_choices_to={"system": System.FINOPS})
    paused = models.BooleanField(default=False)
    schedule_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Run incrementally every N minutes")
    schedule_crontab = models.CharField(max_length=100, blank=True,
                                        help_text='Or a crontab "minute hour day month weekday", e.g. "*/15 * * * *"')
    schedule_since = models.DateTimeField(null=True, blank=True,
                                          help_text="When the schedule last changed or the project was resumed: "
                                                    "a schedule is overdue only counting from then")
    retention_days = models.PositiveIntegerField(default=90, help_text="Runs older than this are purged")
    webhook_secret = EncryptedTextField(blank=True, help_text="Shared secret Dataverse webhooks must present "
                                                              "(in a header, or as code= if allowed below); "
                                                              "stored encrypted")
    webhook_secret_in_query = models.BooleanField(
        default=False, verbose_name="Accept the secret as ?code= (WebhookKey)",
        help_text="Off: only the header (HttpHeader authentication) is accepted. A query string ends up in "
                  "the access logs of every proxy on the way.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problem = webhook_secret_problem(self.webhook_secret) if self.webhook_secret else None
        if problem:
            raise ValidationError({"webhook_secret": problem})


class OrganizationMapping(models.Model):
    """An F&O legal entity and the Sales business unit whose records belong to it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="organization_mappings")
    business_unit = models.CharField(max_length=160, help_text="Sales business unit name")
    legal_entity = models.CharField(max_length=10, help_text="F&O dataAreaId, e.g. usmf")
    is_default = models.BooleanField(default=False, help_text="Used for records of a business unit not listed")
    exports_products = models.BooleanField(default=False, help_text="This company's products are synced to Sales")

    class Meta:
        ordering = ["project", "legal_entity"]
        constraints = [
            models.UniqueConstraint(fields=["project", "business_unit"], name="orgmap_unique_business_unit"),
            models.UniqueConstraint(fields=["project"], condition=Q(is_default=True), name="orgmap_one_default"),
            models.UniqueConstraint(fields=["project"], condition=Q(exports_products=True),
                                    name="orgmap_one_product_company"),
        ]

    def __str__(self) -> str:
        return f"{self.business_unit} ↔ {self.legal_entity}"


class Direction(models.TextChoices):
    SALES_TO_FINOPS = "sales_to_finops", "Sales → F&O"
    FINOPS_TO_SALES = "finops_to_sales", "F&O → Sales"


class ChangeDetection(models.TextChoices):
    CHANGE_TRACKING = "change_tracking", "Dataverse change tracking (delta links)"
    WATERMARK = "watermark", "Modified-on watermark"
    FULL_SCAN = "full_scan", "Full scan, compared by hash"


class KeyChange(models.TextChoices):
    """What a sync does when a record's key changed since it was linked (same source id, new key)."""

    RENAME = "rename", "Rename the destination record (where its API lets the key change)"
    CREATE_AND_REPORT = "create_and_report", "Create a new destination record and report the old one"


class EntityMap(models.Model):
    """One direction, one source entity set to one destination entity set, with its field maps."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="entity_maps")
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    direction = models.CharField(max_length=20, choices=Direction.choices)
    source_entity_set = models.CharField(max_length=100)
    source_key_fields = models.JSONField(help_text='Fields that identify a source record, e.g. ["accountnumber"]')
    source_id_field = models.CharField(max_length=100, blank=True,
                                       help_text="The source's primary id (e.g. accountid), which lookups refer to")
    source_select = models.JSONField(default=list, blank=True, help_text="Fields to read ($select); empty: all")
    source_filter = models.CharField(max_length=1000, blank=True,
                                     help_text="OData $filter applied at the source when the change feed allows it")
    conditions = models.JSONField(default=list, blank=True,
                                  help_text="Eligibility rules checked on each record, all must hold")
    change_detection = models.CharField(max_length=20, choices=ChangeDetection.choices)
    watermark_field = models.CharField(max_length=100, default="modifiedon", blank=True)
    destination_entity_set = models.CharField(max_length=100)
    destination_key_fields = models.JSONField(help_text='Fields that identify the destination record')
    destination_lookup_fields = models.JSONField(
        default=list, blank=True,
        help_text="When the destination key is server-generated: the fields to find an existing record by")
    destination_api_key_fields = models.JSONField(
        default=list, blank=True,
        help_text="With lookup fields: the destination's own (server-generated) key fields, e.g. "
                  '["dataAreaId", "ContactPersonPartyNumber", "AssociatedPartyNumber"]')
    destination_id_field = models.CharField(max_length=100, blank=True,
                                            help_text="The destination's primary id (e.g. productid), kept on links")
    link_attributes = models.JSONField(default=list, blank=True,
                                       help_text='Destination fields later lookups need, e.g. ["PartyNumber"]')
    propagate_deletes = models.BooleanField(default=False)
    on_key_change = models.CharField(
        max_length=20, choices=KeyChange.choices, default=KeyChange.CREATE_AND_REPORT,
        help_text="When a synced record's key changes (e.g. its account number): rename the destination record "
                  "(F&O refuses to change key fields) or create a new one and report the old one on the record")
    paused = models.BooleanField(default=False, help_text="Paused: its stages are skipped (records already queued "
                                                          "finish) until it is resumed")
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=500, blank=True)
    resumed_at = models.DateTimeField(null=True, blank=True,
                                      help_text="Failures before this no longer count toward an alert's threshold")
    create_only = models.BooleanField(
        default=False, help_text="Write a record only while the destination does not have it (no link, and not the "
                                 "counterpart of a record the reverse map wrote): after that the destination owns "
                                 "it, and later changes at the source are reported on the record, not written")
    reverse_map = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The entity map that syncs the same records the other way (a two-way flow): what p2c writes "
                  "through one never comes back through the other, and a record changed on both sides between "
                  "two runs is resolved by the system of record")
    system_of_record = models.CharField(
        max_length=20, choices=System.choices, blank=True,
        help_text="Two-way flows: the system whose change wins when a record changed on both sides since the last "
                  "sync (the other side's change is reported on the record and the run). Blank: the reverse map's "
                  "choice, else Finance and Operations")

    class Meta:
        ordering = ["project", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="entitymap_unique_name")]

    def __str__(self) -> str:
        return f"{self.project.name}: {self.name}"


class Transform(models.TextChoices):
    COPY = "copy", "Copy the source field"
    CONSTANT = "constant", "Constant"
    VALUE_MAP = "value_map", "Value map"
    LOOKUP = "lookup", "Lookup through another entity map's links"
    REFERENCE = "reference", "Reference data lookup"
    LEGAL_ENTITY = "legal_entity", "Legal entity from the organization mappings"
    FORMAT = "format", "Format / concatenate"
    CONVERT = "convert", "Type conversion"


class FieldMap(models.Model):
    """One destination field: where its value comes from, and the transforms it goes through, in order."""

    entity_map = models.ForeignKey(EntityMap, on_delete=models.CASCADE, related_name="field_maps")
    order = models.PositiveIntegerField(default=0)
    destination_field = models.CharField(max_length=200)
    source_field = models.CharField(max_length=200, blank=True)
    transforms = models.JSONField(default=list, blank=True,
                                  help_text='Applied in order, e.g. ["value_map"] or ["reference", "format"]; '
                                            "empty: copy the source field")
    options = models.JSONField(default=dict, blank=True, help_text="Options keyed by transform name")
    default_value = models.JSONField(null=True, blank=True, help_text="Used when the value is blank")
    max_length = models.PositiveIntegerField(null=True, blank=True, help_text="Truncate to this many characters")
    required = models.BooleanField(default=False)
    value_map_default = models.JSONField(null=True, blank=True,
                                         help_text="Value map: result for values not listed (none: an error)")
    omit_blank = models.BooleanField(
        default=False, help_text="Leave the field out when its value is blank instead of sending null (for a "
                                 "destination property that cannot be null, such as an F&O date)")

    class Meta:
        ordering = ["entity_map", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["entity_map", "destination_field"],
                                               name="fieldmap_unique_destination")]

    def __str__(self) -> str:
        steps = " → ".join(self.transforms) if self.transforms else "copy"
        return f"{self.destination_field} ← {self.source_field or '(none)'} ({steps})"


class ValueMapEntry(models.Model):
    field_map = models.ForeignKey(FieldMap, on_delete=models.CASCADE, related_name="value_map")
    source_value = models.CharField(max_length=200, blank=True, help_text="Blank matches an empty source value")
    destination_value = models.JSONField()

    class Meta:
        ordering = ["field_map", "source_value"]
        constraints = [models.UniqueConstraint(fields=["field_map", "source_value"], name="valuemap_unique_source")]

    def __str__(self) -> str:
        return f"{self.source_value or '(blank)'} → {self.destination_value}"


class KeyLink(models.Model):
    """Binds a source record to the destination record it was written to, and remembers what was written."""

    entity_map = models.ForeignKey(EntityMap, on_delete=models.CASCADE, related_name="key_links")
    source_key = models.CharField(max_length=400)
    source_id = models.CharField(max_length=100, blank=True, db_index=True)
    destination_key = models.CharField(max_length=400)
    destination_key_values = models.JSONField(default=dict)
    destination_id = models.CharField(max_length=100, blank=True, db_index=True,
                                      help_text="The destination's primary id when it has one (a Dataverse GUID)")
    attributes = models.JSONField(default=dict, blank=True, help_text="Destination values later lookups need")
    payload_hash = models.CharField(max_length=64, blank=True)
    source_hash = models.CharField(max_length=64, blank=True)
    written = models.JSONField(
        default=dict, blank=True, help_text="Two-way flows: the destination record as the reverse map reads it, "
                                            "read back right after p2c wrote it (its own write, should it come back)")
    source_deleted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["entity_map", "source_key"]
        constraints = [
            models.UniqueConstraint(fields=["entity_map", "source_key"], name="keylink_unique_source"),
            models.UniqueConstraint(fields=["entity_map", "destination_key"], name="keylink_unique_destination"),
        ]

    def __str__(self) -> str:
        return f"{self.source_key} → {self.destination_key}"


class ProjectCheck(models.Model):
    """One pre-flight check of a project against its two environments' live metadata and reference data."""

    class Status(models.TextChoices):
        CLEAN = "clean", "Clean"
        WARNINGS = "warnings", "Warnings"
        ERRORS = "errors", "Errors"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="checks")
    created_at = models.DateTimeField(auto_now_add=True)
    trigger = models.CharField(max_length=20, help_text="admin, api, command or run")
    requested_by = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    problems = models.JSONField(default=list, blank=True,
                                help_text="Each problem: severity, entity map, field, message and fix")
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "created_at"])]

    def __str__(self) -> str:
        return f"{self.project.name} check #{self.pk} ({self.status})"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    WARNING = "warning", "Warning (some records failed)"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class SyncRun(models.Model):
    """One run of a project: bulk (all or some entity maps) or one record (a webhook)."""

    class Mode(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"
        RECORD = "record", "One record"
        RETRY = "retry", "Retry of failed records"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        API = "api", "REST API"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command line"
        WEBHOOK = "webhook", "Webhook"
        RETRY = "retry", "Retry"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    mode = models.CharField(max_length=20, choices=Mode.choices)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    is_bulk = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)
    counts = models.JSONField(default=dict, blank=True, help_text="Records by outcome, set when the run ends")
    check_first = models.BooleanField(default=False, help_text="Runs the pre-flight check before its first stage "
                                                                "and refuses to go on when it finds errors")
    preflight = models.ForeignKey(ProjectCheck, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="runs", help_text="The check this run started with")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status"]), models.Index(fields=["created_at"])]
        constraints = [
            # The project lock: at most one bulk run in progress. It lives in the database, so it survives any
            # worker crash; the sweeper ends runs that stopped making progress.
            models.UniqueConstraint(fields=["project"], condition=Q(is_bulk=True, status__in=ACTIVE_RUN_STATUSES),
                                    name="syncrun_one_active_bulk_run"),
        ]

    def __str__(self) -> str:
        return f"{self.project.name} #{self.pk} ({self.mode}, {self.status})"


class StageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PLANNING = "planning", "Reading changes"
    RUNNING = "running", "Syncing records"
    SUCCEEDED = "succeeded", "Succeeded"
    WARNING = "warning", "Warning"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class SyncStage(models.Model):
    """One entity map within a run. Stages run in entity-map order; a stage's cursor moves when it ends."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="stages")
    entity_map = models.ForeignKey(EntityMap, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=StageStatus.choices, default=StageStatus.PENDING)
    full = models.BooleanField(default=False)
    reads_source = models.BooleanField(default=True, help_text="Plans by reading the change feed (else: given rows)")
    started_at = models.DateTimeField(null=True, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life while reading changes")
    records_read = models.PositiveIntegerField(default=0)
    records_ineligible = models.PositiveIntegerField(default=0)
    records_echoed = models.PositiveIntegerField(
        default=0, help_text="Records read that were p2c's own writes through the reverse map (not synced)")
    next_cursor = models.TextField(blank=True, help_text="Where the next run starts, saved when this stage ends")
    plan_attempts = models.PositiveIntegerField(default=0, help_text="Times the stage started reading its changes")
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "order"]
        constraints = [models.UniqueConstraint(fields=["run", "entity_map"], name="stage_unique_entity_map")]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.entity_map.name} ({self.status})"


class Conflict(models.TextChoices):
    """How a record changed on both sides of a two-way flow since the last sync was resolved."""

    OVERWROTE = "overwrote", "Changed on both sides: written over the other side's change (system of record)"
    YIELDED = "yielded", "Changed on both sides: not written (the other side is the system of record)"


class RecordStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting to retry"
    SUCCEEDED = "succeeded", "Succeeded"
    UNCHANGED = "unchanged", "Unchanged"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


OPEN_RECORD_STATUSES = (RecordStatus.PENDING, RecordStatus.RUNNING, RecordStatus.WAITING)


class RecordSync(models.Model):
    """One source record in one run: the snapshot read, what was written, and how it ended."""

    class Operation(models.TextChoices):
        UPSERT = "upsert", "Upsert"
        DELETE = "delete", "Delete"

    class Outcome(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        UNCHANGED = "unchanged", "Unchanged"
        DELETED = "deleted", "Deleted"
        SKIPPED = "skipped", "Skipped"

    # No index of their own: each leads a composite index below (run, status), (stage, source_key) and
    # (entity_map, source_key), which serve the same lookups; three more indexes would be rewritten per record.
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="records", db_index=False)
    stage = models.ForeignKey(SyncStage, on_delete=models.CASCADE, related_name="records", db_index=False)
    entity_map = models.ForeignKey(EntityMap, on_delete=models.CASCADE, related_name="records", db_index=False)
    source_key = models.CharField(max_length=400)
    source_id = models.CharField(max_length=100, blank=True)
    operation = models.CharField(max_length=10, choices=Operation.choices, default=Operation.UPSERT)
    snapshot = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=RecordStatus.choices, default=RecordStatus.PENDING)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=255, blank=True,
                                  help_text="The worker process that claimed it last (its heartbeat's name)")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    refresh = models.BooleanField(default=False, help_text="Re-read the source record before syncing (retries)")
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")
    payload = models.JSONField(null=True, blank=True, help_text="What was written to the destination")
    destination_key = models.CharField(max_length=400, blank=True)
    previous_destination_key = models.CharField(
        max_length=400, blank=True, help_text="The destination record linked before the record's key changed: "
                                              "renamed, or left in place when a new one was created")
    notes = models.TextField(blank=True, help_text="What p2c changed about the record on its way (e.g. "
                                                   "characters the database cannot store, removed), or a key "
                                                   "change it handled")
    conflict = models.CharField(max_length=20, choices=Conflict.choices, blank=True,
                                help_text="Two-way flows: the record had changed on both sides since the last sync")
    error_type = models.CharField(max_length=50, blank=True)
    error_field = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "source_key"], name="record_unique_per_stage"),
            # One record, one writer: two runs (a webhook's and a bulk run) never sync the same source record at
            # the same time. The database refuses a second running row, so a claim that loses waits and tries
            # again; it holds on PostgreSQL and SQLite alike and costs the claims nothing when there is no race.
            models.UniqueConstraint(fields=["entity_map", "source_key"], condition=Q(status=RecordStatus.RUNNING),
                                    name="record_one_writer"),
        ]
        indexes = [
            models.Index(fields=["stage", "status"]),
            models.Index(fields=["run", "status"]),
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["entity_map", "source_key"]),
        ]

    def __str__(self) -> str:
        return f"{self.entity_map.name} {self.source_key}: {self.status}"


class FailingRecord(RecordSync):
    """A row of the failing-records queue: the latest failure of a record that is failing now, one per record
    (integration.services.failing decides which)."""

    class Meta:
        proxy = True
        verbose_name = "failing record"


class IgnoredFailure(models.Model):
    """A failing record someone chose to leave alone, and why. It covers the failure it was made for (and the
    ones before): when the record fails again later, after its source changed, it is back in the queue.
    Deleting it undoes it."""

    entity_map = models.ForeignKey(EntityMap, on_delete=models.CASCADE, related_name="ignored_failures")
    source_key = models.CharField(max_length=400)
    record = models.ForeignKey(RecordSync, on_delete=models.CASCADE, related_name="+",
                               help_text="The failure that was ignored (the record's latest, then)")
    reason = models.TextField()
    ignored_by = models.CharField(max_length=150, blank=True)
    ignored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ignored_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["entity_map", "source_key"], name="ignoredfailure_unique")]

    def __str__(self) -> str:
        return f"{self.entity_map.name} {self.source_key}: ignored ({self.reason[:60]})"


class DryRun(models.Model):
    """Plan, map and compare a project's eligible records against the destination, writing nothing anywhere and
    moving no change cursor: what a run would create, update, leave unchanged or fail on, per entity map."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="dry_runs")
    full = models.BooleanField(default=False, help_text="Every record, not only what changed since the last run")
    entity_maps = models.JSONField(default=list, blank=True, help_text="Entity map names; empty: every enabled one")
    trigger = models.CharField(max_length=20, help_text="admin, api or command")
    requested_by = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=list, blank=True, help_text="Per entity map: records by what a run would do")
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.project.name} dry run #{self.pk} ({self.status})"


class DryRunRecord(models.Model):
    """One record a dry run found a run would write, skip or fail on (unchanged records are only counted)."""

    class Outcome(models.TextChoices):
        CREATE = "create", "Would create"
        UPDATE = "update", "Would update"
        WOULD_FAIL = "would_fail", "Would fail"
        SKIP = "skip", "Would skip"
        DELETE = "delete", "Deleted at the source"

    dry_run = models.ForeignKey(DryRun, on_delete=models.CASCADE, related_name="records")
    entity_map = models.ForeignKey(EntityMap, on_delete=models.CASCADE, related_name="+")
    source_key = models.CharField(max_length=400)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    differences = models.JSONField(default=list, blank=True,
                                   help_text="Per field: what p2c would send and what the destination holds now")
    payload = models.JSONField(null=True, blank=True)
    error_field = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["dry_run", "id"]

    def __str__(self) -> str:
        return f"{self.entity_map.name} {self.source_key}: {self.outcome}"


class ChangeCursor(models.Model):
    """Where an entity map's next incremental read starts: a delta link, or a watermark."""

    entity_map = models.OneToOneField(EntityMap, on_delete=models.CASCADE, related_name="cursor")
    value = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.entity_map.name}: {self.value[:60]}"


class WorkerHeartbeat(models.Model):
    """A worker process's last sign of life, written every few seconds by the process itself.

    Its name is what the process's claims carry, so the sweeper can take back exactly a dead process's work.
    """

    name = models.CharField(max_length=255, unique=True, help_text="Celery node name and process id: celery@host:1234")
    seen_at = models.DateTimeField()
    tasks_seen = models.PositiveBigIntegerField(default=0, help_text="Tasks the process has run")
    planning = models.JSONField(default=list, blank=True, help_text="Ids of the stages the process is planning")
    gone_at = models.DateTimeField(null=True, blank=True,
                                   help_text="When the sweeper found it silent and took back its work")

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class WebhookDelivery(models.Model):
    """One Dataverse webhook delivery that started a run; its unique key turns a redelivery into a no-op.

    Dataverse retries a delivery once on 502/503/504 with the same body, so the key is built from the
    execution context (operation, correlation, record, message). Deleting the run deletes the delivery, so
    deliveries are purged with history.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhook_deliveries")
    key = models.CharField(max_length=64, help_text="Hash of the context's OperationId, CorrelationId, record, message")
    message = models.CharField(max_length=40)
    entity = models.CharField(max_length=100)
    record_id = models.CharField(max_length=100)
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="webhook_deliveries")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="webhookdelivery_unique_key")]

    def __str__(self) -> str:
        return f"{self.message} {self.entity} {self.record_id}"


class AlertKind(models.TextChoices):
    FAILURES = "failures", "Failed records at or above a threshold"
    RUN_FAILED = "run_failed", "The last run failed"
    SCHEDULE_OVERDUE = "schedule_overdue", "The schedule is overdue"
    NO_WORKER = "no_worker", "No live worker"
    WEBHOOK_BACKLOG = "webhook_backlog", "Webhook deliveries backing up"
    CONNECTION_FAILING = "connection_failing", "A connection's token or certificate is failing"


class AlertChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams incoming webhook (Workflows)"


class AlertRule(models.Model):
    """A condition watched for one project, and where to say so: once when it starts, once when it clears."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alert_rules")
    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    enabled = models.BooleanField(default=True)
    threshold = models.PositiveIntegerField(
        default=10, help_text="Failed records: how many distinct records; webhook backlog: how many deliveries; "
                              "connection: days before a stored certificate expires")
    window_minutes = models.PositiveIntegerField(
        default=15, help_text="Failed records: counted over this many minutes; webhook backlog: a delivery still "
                              "unfinished after this many minutes is backing up")
    grace_minutes = models.PositiveIntegerField(
        default=10, help_text="Schedule overdue: minutes allowed past the time a run was due")
    entity_map = models.ForeignKey(EntityMap, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="alert_rules",
                                   help_text="Failed records: only this entity map (blank: each of the project's)")
    pause_entity_map = models.BooleanField(
        default=False, help_text="Failed records: pause the entity map when the threshold is reached, as dual-write "
                                 "does; it stays paused until resumed")
    channel = models.CharField(max_length=10, choices=AlertChannel.choices, default=AlertChannel.EMAIL)
    email_to = models.CharField(max_length=500, blank=True, help_text="Email: comma-separated addresses")
    webhook_url = EncryptedTextField(blank=True, help_text="Slack or Teams: the incoming webhook's URL, on a host of "
                                                           "P2C_ALERT_WEBHOOK_HOSTS; stored encrypted")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.project.name}: {self.get_kind_display()} ({self.get_channel_display()})"

    def clean(self) -> None:
        from integration.alert_targets import alert_rule_problems

        problems = alert_rule_problems(self)
        if problems:
            raise ValidationError(problems)


class AlertIncident(models.Model):
    """One time a rule's condition held for one subject (an entity map, a connection, the project): opened,
    announced once, resolved when the condition cleared, and that announced once."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="incidents")
    subject = models.CharField(max_length=200, help_text='What it is about, e.g. "entity_map:3", "project"')
    summary = models.TextField(help_text="What was found when it opened")
    opened_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the alert was delivered")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_notified_at = models.DateTimeField(null=True, blank=True,
                                                help_text="When the resolved message was delivered")
    delivering_until = models.DateTimeField(null=True, blank=True,
                                            help_text="A delivery in progress holds the incident until then")
    attempts = models.PositiveIntegerField(default=0, help_text="Failed delivery attempts")
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["resolved_at"])]
        constraints = [
            # One open incident per rule and subject: two evaluators at once open it once.
            models.UniqueConstraint(fields=["rule", "subject"], condition=Q(resolved_at__isnull=True),
                                    name="alertincident_one_open"),
        ]

    def __str__(self) -> str:
        state = "resolved" if self.resolved_at else "open"
        return f"{self.rule.project.name} {self.rule.kind} {self.subject} ({state})"
