"""The API's request rate per user (token or session), and the client address rule shared with the login lockout.

DRF's own class, with the rate read from p2c's settings when a request comes (DRF reads its own once, at
import) and counted in the shared cache, so every web process sees the same counts. There is no rate for
requests without credentials: DRF checks permissions before throttles, so on p2c's endpoints (all need a user
but the webhook, which must not be throttled) such a rate would never apply; a flood of them is the TLS
proxy's to stop.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle, UserRateThrottle


class UserThrottle(UserRateThrottle):
    """Requests of one signed-in user or token owner, at P2C_API_THROTTLE_RATE."""

    def get_rate(self) -> str:
        return settings.P2C_API_THROTTLE_RATE


def client_address(request: HttpRequest) -> str:
    """The client's address as DRF sees it (X-Forwarded-For only behind the TLS proxy), for django-axes too."""
    return BaseThrottle().get_ident(request)
