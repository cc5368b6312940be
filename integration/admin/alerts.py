"""Alert rules (what to watch for a project, and where to say so) and the incidents they opened."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, Q

from integration.admin.secrets import SecretsForm
from integration.models import AlertIncident, AlertRule


class AlertRuleForm(SecretsForm):
    secret_fields = ("webhook_url",)
    clear_webhook_url = forms.BooleanField(required=False, label="Remove the stored webhook URL")

    class Meta:
        model = AlertRule
        fields = "__all__"
        widgets = {"webhook_url": forms.PasswordInput}


class IncidentInline(admin.TabularInline):
    model = AlertIncident
    fields = ("subject", "summary", "opened_at", "notified_at", "resolved_at", "resolved_notified_at", "last_error")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ("-opened_at",)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ("project", "kind", "channel", "target", "enabled", "threshold", "window_minutes",
                    "pause_entity_map", "open_incidents")
    list_filter = ("project", "kind", "channel", "enabled")
    list_select_related = ("project",)
    inlines = [IncidentInline]
    fieldsets = (
        (None, {"fields": ("project", "kind", "enabled")}),
        ("Condition", {"fields": ("threshold", "window_minutes", "grace_minutes", "entity_map", "pause_entity_map"),
                       "description": "Failed records: N distinct records within M minutes, per entity map. Run "
                                      "failed: the project's last bulk run failed. Schedule overdue: no run started "
                                      "within its interval or crontab plus the grace. No live worker: no heartbeat "
                                      "within P2C_WORKER_DEAD_SECONDS. Webhook backlog: N deliveries still "
                                      "unsynced after M minutes. Connection: its last token request failed, or its "
                                      "certificate expires within N days."}),
        ("Delivery", {"fields": ("channel", "email_to", "webhook_url", "clear_webhook_url"),
                      "description": "Once when an incident opens, once when it is resolved."}),
    )

    @admin.display(description="to")
    def target(self, obj: AlertRule) -> str:
        """The addresses, or only that a URL is stored: a webhook URL is a credential."""
        return obj.email_to if obj.channel == "email" else ("webhook URL (stored, encrypted)" if obj.webhook_url
                                                              else "none")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            open_count=Count("incidents", filter=Q(incidents__resolved_at__isnull=True)))

    @admin.display(description="open incidents", ordering="open_count")
    def open_incidents(self, obj: AlertRule) -> int:
        return obj.open_count


@admin.register(AlertIncident)
class AlertIncidentAdmin(admin.ModelAdmin):
    """What the rules found: read-only, since the evaluator alone opens and resolves incidents."""

    list_display = ("rule", "subject", "opened_at", "notified_at", "resolved_at", "resolved_notified_at",
                    "attempts")
    list_filter = ("rule__project", "rule__kind", ("resolved_at", admin.EmptyFieldListFilter))
    list_select_related = ("rule__project",)
    search_fields = ("summary", "subject")
    date_hierarchy = "opened_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in AlertIncident._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
