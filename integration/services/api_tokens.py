"""API tokens: made for one user with an expiry, shown once, and stored only as a hash (django-rest-knox)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from knox.models import AuthToken


class TokenRefused(ValueError):
    """No such active user, or an expiry out of bounds."""


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the only copy: the database keeps a hash
    expiry: datetime


def api_token_create(*, username: str, days: int) -> IssuedToken:
    """A new token for an active user, valid for `days` days (every token expires)."""
    if days < 1:
        raise TokenRefused("a token is valid for at least 1 day")
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise TokenRefused(f"no active user named {username!r}")
    stored, token = AuthToken.objects.create(user=user, expiry=timedelta(days=days))
    return IssuedToken(token=token, expiry=stored.expiry)
