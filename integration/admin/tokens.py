"""API tokens in the admin: listed and revoked, never made here (`manage.py create_api_token` prints a new one
once) and never shown (the database holds a hash)."""

from __future__ import annotations

import knox.admin  # noqa: F401 - knox registers its own admin first, which makes tokens that never expire ...
from django.contrib import admin
from knox.models import AuthToken

admin.site.unregister(AuthToken)  # ... so this one replaces it


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "starts_with", "created", "expiry")
    list_filter = ("expiry",)
    search_fields = ("user__username",)
    fields = ("user", "starts_with", "created", "expiry")
    readonly_fields = fields

    @admin.display(description="token starts with")
    def starts_with(self, obj: AuthToken) -> str:
        """Enough to tell a user's tokens apart; knox keeps these characters to find the hash."""
        return f"{obj.token_key[:8]}…"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
