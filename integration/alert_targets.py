"""Where an alert rule may send its messages, and what a rule must say for its kind.

A webhook URL is a credential (whoever has it may post to the channel), and an admin who may edit a rule could
otherwise make p2c post to any host it can reach, inside the network too. So a rule may post only to the hosts
P2C_ALERT_WEBHOOK_HOSTS names (Slack's and Teams' by default), over https on port 443; loopback only with DEBUG
on. Checked when a rule is saved (the model's `clean`, so every form) and again before each delivery. No message
repeats the URL: the host is all a refusal names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

if TYPE_CHECKING:
    from integration.models import AlertRule

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def host_allowed(host: str, patterns: list[str]) -> bool:
    """`host` is one of the names, or a subdomain of a `*.domain` pattern (not the domain itself)."""
    host = host.lower().rstrip(".")
    for pattern in (p.lower() for p in patterns):
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
            return True
        if host == pattern:
            return True
    return False


def webhook_url_problem(url: str) -> str | None:
    """Why an alert webhook may not be posted to `url`, or None."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if not host or parts.username or parts.password:
        return "must be an https:// URL with a host and no user name or password"
    if host in LOOPBACK_HOSTS:
        if not settings.DEBUG:
            return f"{host} is a loopback address, allowed only with DEBUG on"
        return None if parts.scheme in ("http", "https") else "must be an http(s):// URL"
    if parts.scheme != "https" or port not in (None, 443):
        return "must be an https:// URL on port 443"
    if not host_allowed(host, settings.P2C_ALERT_WEBHOOK_HOSTS):
        allowed = ", ".join(settings.P2C_ALERT_WEBHOOK_HOSTS) or "none"
        return f"{host} is not in P2C_ALERT_WEBHOOK_HOSTS (allowed: {allowed})"
    return None


def email_addresses(text: str) -> list[str]:
    return [address.strip() for address in text.split(",") if address.strip()]


def alert_rule_problems(rule: AlertRule) -> dict[str, str]:
    """Field name to problem, for everything that would stop the rule from working as its kind says."""
    from integration.models import AlertChannel, AlertKind

    problems: dict[str, str] = {}
    if rule.channel == AlertChannel.EMAIL:
        addresses = email_addresses(rule.email_to)
        if not addresses:
            problems["email_to"] = "give at least one address for an email rule"
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                problems["email_to"] = f"{address!r} is not an email address"
    elif not rule.webhook_url:
        problems["webhook_url"] = f"give the incoming webhook's URL for a {rule.get_channel_display()} rule"
    else:
        problem = webhook_url_problem(rule.webhook_url)
        if problem:
            problems["webhook_url"] = problem
    if rule.kind != AlertKind.FAILURES:
        if rule.pause_entity_map:
            problems["pause_entity_map"] = "only a failed-records rule can pause an entity map"
        if rule.entity_map_id:
            problems["entity_map"] = "only a failed-records rule watches one entity map"
    elif rule.entity_map_id and rule.project_id and rule.entity_map.project_id != rule.project_id:
        problems["entity_map"] = "the entity map must be one of the rule's project"
    if rule.kind in (AlertKind.FAILURES, AlertKind.WEBHOOK_BACKLOG) and not rule.threshold:
        problems["threshold"] = "must be at least 1"
    if rule.kind in (AlertKind.FAILURES, AlertKind.WEBHOOK_BACKLOG) and not rule.window_minutes:
        problems["window_minutes"] = "must be at least 1"
    return problems
