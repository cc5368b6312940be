"""Connections and their extra application users: secrets are write-only, and an action checks that p2c can sign in
and read as each user."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from integration.admin.secrets import SecretsForm
from integration.models import ApplicationUser, Connection
from integration.services import connections


class ConnectionForm(SecretsForm):
    secret_fields = ("client_secret", "certificate_pem")
    clear_client_secret = forms.BooleanField(required=False, label="Remove the stored client secret")
    clear_certificate_pem = forms.BooleanField(required=False, label="Remove the stored certificate")

    class Meta:
        model = Connection
        fields = "__all__"


class ApplicationUserForm(SecretsForm):
    secret_fields = ("client_secret",)
    clear_client_secret = forms.BooleanField(required=False, label="Remove the stored secret")

    class Meta:
        model = ApplicationUser
        fields = ("client_id", "client_secret", "clear_client_secret", "client_secret_env")


class ApplicationUserInline(admin.TabularInline):
    """More app registrations for the same environment: requests go to each in turn, and Microsoft gives each
    application user limits of its own."""

    model = ApplicationUser
    form = ApplicationUserForm
    fields = ("client_id", "client_secret", "clear_client_secret", "client_secret_env")
    extra = 0
    verbose_name = "extra application user"
    verbose_name_plural = "More application users (used in turn, each with limits of its own)"


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    inlines = [ApplicationUserInline]
    list_display = ("name", "system", "base_url", "client_id", "credential", "updated_at")
    list_filter = ("system",)
    search_fields = ("name", "base_url", "client_id")
    actions = ["test_connection"]
    fieldsets = (
        (None, {"fields": ("name", "system", "base_url")}),
        ("Sign-in (Entra ID client credentials)", {
            "fields": ("authority", "client_id", "client_secret", "clear_client_secret", "client_secret_env",
                       "certificate_pem", "clear_certificate_pem", "certificate_thumbprint", "scope", "ca_bundle"),
        }),
        ("Finance and Operations", {"fields": ("default_company",)}),
        ("Limits", {"fields": ("timeout_seconds", "page_size", "batch_size", "max_retries", "requests_per_window",
                               "window_seconds", "max_concurrency")}),
    )

    @admin.display(description="credential")
    def credential(self, obj: Connection) -> str:
        """Which kind of credential is configured, never the credential itself."""
        if obj.certificate_pem:
            return "certificate (stored, encrypted)"
        if obj.client_secret_env:
            return f"secret from ${obj.client_secret_env}"
        return "secret (stored, encrypted)" if obj.client_secret else "none"

    # Change permission: the test sends the stored credential, which only someone trusted to edit it may do.
    @admin.action(description="Test connection: get a token and read one page as each application user",
                  permissions=["change"])
    def test_connection(self, request, queryset):
        for connection in queryset:
            try:
                summary = connections.connection_test(connection=connection)
            except connections.ConnectionTestFailed as exc:
                self.message_user(request, f"{connection.name}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{connection.name}: {summary}", messages.SUCCESS)
