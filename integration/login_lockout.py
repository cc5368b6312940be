"""Password spraying: one address trying many usernames. django-axes locks a username out from an address (by
both together, so nobody can lock an administrator out everywhere); this backend adds a wider limit on the
address alone, P2C_LOGIN_ADDRESS_FAILURE_LIMIT failures within the cool-off, counted from axes' own records.

It is first in AUTHENTICATION_BACKENDS: a locked-out address is refused before any password is checked, and
axes' middleware answers with its lockout page (429), as for a locked username.
"""

from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from integration.api.throttles import client_address


def address_failures(address: str) -> int:
    """Failed logins from `address` within the cool-off, whatever the username."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since).aggregate(
        n=Sum("failures_since_start"))["n"] or 0


class AddressLockoutBackend:
    """Refuses only; it never signs anyone in and never loads a session's user (no `get_user`, as axes' own)."""

    def authenticate(self, request: HttpRequest | None, username=None, password=None, **kwargs):
        if request is not None and address_failures(client_address(request)) >= \
                settings.P2C_LOGIN_ADDRESS_FAILURE_LIMIT:
            request.axes_locked_out = True
            raise PermissionDenied  # ends authenticate(): no later backend checks the password
        return None
