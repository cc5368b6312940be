"""Delivering alerts: one message when an incident opens, one when it is resolved, by email or to a Slack or
Teams incoming webhook.

An incident is held for a short lease while it is being delivered (a conditional update: two evaluators never
send it twice), and each message is recorded as sent as soon as it has gone. A failed delivery is tried again at
the next pass, with its error on the incident; a process that dies mid-send leaves the lease to run out.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F, Q
from django.urls import reverse

from integration.alert_targets import email_addresses, webhook_url_problem
from integration.crypto import SecretUnreadable
from integration.models import AlertChannel, AlertIncident, AlertRule

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
_TIMEOUT = (5.0, 15.0)


class DeliveryFailed(Exception):
    """A message did not go out; the text says why without the webhook URL (a credential)."""


@dataclass(frozen=True)
class AlertMessage:
    title: str
    text: str
    resolved: bool
    link: str


def incidents_deliver(*, now: datetime) -> int:
    """Send every message that is due; returns how many went out."""
    due = (AlertIncident.objects
           .filter(Q(notified_at__isnull=True) | Q(resolved_at__isnull=False, resolved_notified_at__isnull=True))
           .filter(Q(delivering_until__isnull=True) | Q(delivering_until__lt=now), rule__enabled=True))
    return sum(incident_deliver(incident_id=pk, now=now) for pk in due.order_by("id").values_list("id", flat=True))


def incident_deliver(*, incident_id: int, now: datetime) -> int:
    """Send what is due for one incident (its opening, then its resolution), if no one else is sending it."""
    lease = Q(delivering_until__isnull=True) | Q(delivering_until__lt=now)
    if not AlertIncident.objects.filter(lease, pk=incident_id).update(delivering_until=now + LEASE):
        return 0
    incident = AlertIncident.objects.select_related("rule__project").defer("rule__webhook_url").get(pk=incident_id)
    sent = 0
    try:
        if incident.notified_at is None:
            _send(incident, resolved=False)
            AlertIncident.objects.filter(pk=incident.pk).update(notified_at=now, last_error="")
            sent += 1
        if incident.resolved_at is not None and incident.resolved_notified_at is None:
            _send(incident, resolved=True)
            AlertIncident.objects.filter(pk=incident.pk).update(resolved_notified_at=now, last_error="")
            sent += 1
    except DeliveryFailed as exc:
        AlertIncident.objects.filter(pk=incident.pk).update(attempts=F("attempts") + 1, last_error=str(exc)[:2000])
        log.warning("alert not delivered rule=%s subject=%s channel=%s: %s", incident.rule_id, incident.subject,
                    incident.rule.channel, exc)
    finally:
        AlertIncident.objects.filter(pk=incident.pk).update(delivering_until=None)
    return sent


def alert_message(incident: AlertIncident, *, resolved: bool) -> AlertMessage:
    rule = incident.rule
    state = "RESOLVED" if resolved else "ALERT"
    title = f"[p2c] {state} {rule.project.name}: {rule.get_kind_display()}"
    lines = [incident.summary, "", f"Project: {rule.project.name}", f"Opened: {incident.opened_at:%Y-%m-%d %H:%M} UTC"]
    if resolved:
        lines.append(f"Resolved: {incident.resolved_at:%Y-%m-%d %H:%M} UTC (the condition no longer holds)")
    link = ""
    if settings.P2C_PUBLIC_URL:
        link = settings.P2C_PUBLIC_URL + reverse("admin:integration_alertincident_change", args=[incident.pk])
        lines.append(f"Details: {link}")
    return AlertMessage(title=title, text="\n".join(lines), resolved=resolved, link=link)


def slack_payload(message: AlertMessage) -> dict:
    """Slack's incoming-webhook message: `text` for notifications, Block Kit blocks for the channel."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(message.text)[:3000]}},
    ]
    return {"text": _slack_escape(message.title), "blocks": blocks}


def _slack_escape(text: str) -> str:
    """The three characters Slack's mrkdwn reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_payload(message: AlertMessage) -> dict:
    """A message with one Adaptive Card, the shape Teams' Workflows webhooks (and the older incoming-webhook
    connectors) take."""
    body = [
        {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium", "wrap": True,
         "color": "Good" if message.resolved else "Attention"},
        {"type": "TextBlock", "text": message.text, "wrap": True},
    ]
    card: dict = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                  "version": "1.4", "body": body}
    if message.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in p2c", "url": message.link}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def _send(incident: AlertIncident, *, resolved: bool) -> None:
    rule = incident.rule
    message = alert_message(incident, resolved=resolved)
    if rule.channel == AlertChannel.EMAIL:
        _email(message, email_addresses(rule.email_to))
        return
    try:
        url = AlertRule.objects.values_list("webhook_url", flat=True).get(pk=rule.pk)
    except SecretUnreadable:
        raise DeliveryFailed("the webhook URL cannot be decrypted with the configured P2C_ENCRYPTION_KEYS") from None
    payload = slack_payload(message) if rule.channel == AlertChannel.SLACK else teams_payload(message)
    _post(url, payload)


def _email(message: AlertMessage, addresses: list[str]) -> None:
    try:
        send_mail(message.title, message.text, settings.DEFAULT_FROM_EMAIL, addresses, fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"email to {', '.join(addresses)}: {type(exc).__name__}: {exc}") from None


def _post(url: str, payload: dict) -> None:
    """POST to an allowed host only, following no redirect (an allowed host must not bounce us elsewhere)."""
    problem = webhook_url_problem(url)
    host = urlsplit(url).hostname or "?"
    if problem:
        raise DeliveryFailed(f"the webhook URL {problem}")
    try:
        response = requests.post(url, json=payload, timeout=_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        # Only the type: requests' messages repeat the URL, whose path is the webhook's secret.
        raise DeliveryFailed(f"{host}: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{host} answered {response.status_code}: {response.text[:200]}")
