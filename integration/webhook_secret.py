"""How strong a project's webhook secret must be, and a strong one for whoever needs one.

The secret is the only credential of the webhook endpoint, which anyone on the network can reach, and a request
that passes it can queue work for any record: it must be too long to guess.
"""

from __future__ import annotations

import secrets

MIN_LENGTH = 32
MIN_DISTINCT = 8


def webhook_secret_problem(secret: str) -> str | None:
    """Why the secret is too weak, or None."""
    if len(secret) < MIN_LENGTH or len(set(secret)) < MIN_DISTINCT:
        return (f"is too weak: use at least {MIN_LENGTH} characters, not a repeated few (for example "
                "the generated one offered below)")
    return None


def webhook_secret_generate() -> str:
    """43 URL-safe characters (256 random bits): fits Dataverse's WebhookKey and an HTTP header alike."""
    return secrets.token_urlsafe(32)
