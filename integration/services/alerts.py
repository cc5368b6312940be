"""Alert rules: what holds now for each enabled rule, an incident for each new finding, resolution when it clears.

A pass is idempotent: an incident is opened by inserting it under a constraint that allows one open incident per
rule and subject, and resolved by a conditional update, so two evaluators at once (beat's, and
`manage.py evaluate_alerts`) open and resolve each incident once; messages then go out once per incident
(`alert_delivery`). A rule whose condition cannot be told this pass (Redis down) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from celery.schedules import crontab
from cryptography import x509
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from integration.crypto import SecretUnreadable
from integration.mapping import error_text
from integration.models import (
    ACTIVE_RUN_STATUSES,
    AlertIncident,
    AlertKind,
    AlertRule,
    Connection,
    EntityMap,
    RecordStatus,
    RecordSync,
    RunStatus,
    SyncRun,
    WorkerHeartbeat,
)
from integration.services.entity_maps import entity_map_pause
from integration.services.schedules import parse_crontab

log = logging.getLogger(__name__)

ENDED_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.WARNING, RunStatus.FAILED)


@dataclass(frozen=True)
class Finding:
    summary: str
    entity_map: EntityMap | None = None  # failed records: the map a rule may pause


# A rule's findings by subject; None when the condition cannot be told now (then nothing is opened or resolved).
Findings = dict[str, Finding] | None


@dataclass
class Evaluation:
    opened: int = 0
    resolved: int = 0
    delivered: int = 0


def alerts_evaluate(*, now: datetime | None = None) -> Evaluation:
    """One pass over every enabled rule, then the deliveries that are due."""
    from integration.services.alert_delivery import incidents_deliver

    now = now or timezone.now()
    report = Evaluation()
    # The URL is not needed to evaluate, and a secret no configured key can read must not stop every rule.
    for rule in AlertRule.objects.filter(enabled=True).select_related("project", "entity_map").defer("webhook_url"):
        findings = FINDERS[rule.kind](rule, now)
        if findings is None:
            continue
        open_incidents = {incident.subject: incident for incident in rule.incidents.filter(resolved_at__isnull=True)}
        for subject, finding in findings.items():
            if subject not in open_incidents and incident_open(rule=rule, subject=subject, finding=finding, now=now):
                report.opened += 1
        for subject, incident in open_incidents.items():
            if subject not in findings and incident_resolve(incident=incident, now=now):
                report.resolved += 1
    report.delivered = incidents_deliver(now=now)
    if report.opened or report.resolved or report.delivered:
        log.info("alerts opened=%s resolved=%s delivered=%s", report.opened, report.resolved, report.delivered)
    return report


def incident_open(*, rule: AlertRule, subject: str, finding: Finding, now: datetime) -> bool:
    """Open the incident (and pause the map, when the rule says so) unless another evaluator just did."""
    try:
        with transaction.atomic():
            AlertIncident.objects.create(rule=rule, subject=subject, summary=finding.summary, opened_at=now)
            if rule.pause_entity_map and finding.entity_map is not None:
                entity_map_pause(entity_map=finding.entity_map, reason=f"alert rule #{rule.pk}: {finding.summary}")
    except IntegrityError:
        return False
    log.warning("alert opened project=%s rule=%s kind=%s subject=%s: %s", rule.project.name, rule.pk, rule.kind,
                subject, finding.summary)
    return True


def incident_resolve(*, incident: AlertIncident, now: datetime) -> bool:
    if not AlertIncident.objects.filter(pk=incident.pk, resolved_at__isnull=True).update(resolved_at=now):
        return False
    log.info("alert resolved rule=%s subject=%s", incident.rule_id, incident.subject)
    return True


# --- the conditions ------------------------------------------------------------------------------------------
def failures_found(rule: AlertRule, now: datetime) -> Findings:
    """Per entity map: distinct records failed within the window, at or above the threshold. Failures from before
    a map was resumed do not count: resuming starts the count again, so a map that fails again is paused again."""
    since = now - timedelta(minutes=rule.window_minutes)
    failed = RecordSync.objects.filter(
        Q(entity_map__resumed_at__isnull=True) | Q(finished_at__gt=F("entity_map__resumed_at")),
        entity_map__project_id=rule.project_id, status=RecordStatus.FAILED, finished_at__gte=since)
    if rule.entity_map_id:
        failed = failed.filter(entity_map_id=rule.entity_map_id)
    counts = dict(failed.values_list("entity_map_id").annotate(n=Count("source_key", distinct=True)).order_by())
    maps = EntityMap.objects.in_bulk([pk for pk, n in counts.items() if n >= rule.threshold])
    findings = {}
    for pk, entity_map in maps.items():
        latest = failed.filter(entity_map_id=pk).order_by("-finished_at", "-id").values_list(
            "source_key", "error_field", "error_message")[:3]
        examples = "; ".join(f"{key}: {error_text(field, message)[:200]}" for key, field, message in latest)
        findings[f"entity_map:{pk}"] = Finding(
            f"{entity_map.name}: {counts[pk]} records failed in the last {rule.window_minutes} minutes "
            f"(threshold {rule.threshold}). Latest: {examples}", entity_map)
    return findings


def run_failed_found(rule: AlertRule, now: datetime) -> Findings:
    """The project's last bulk run to end (cancelled ones aside) failed; cleared by the next one that does not."""
    last = (SyncRun.objects.filter(project_id=rule.project_id, is_bulk=True, status__in=ENDED_RUN_STATUSES)
            .order_by("-finished_at", "-id").first())
    if last is None or last.status != RunStatus.FAILED:
        return {}
    why = last.message or ", ".join(f"{k} {v}" for k, v in last.counts.items() if v)
    return {"project": Finding(f"run #{last.pk} ({last.mode}, {last.trigger}) failed at "
                               f"{last.finished_at:%Y-%m-%d %H:%M} UTC: {why}")}


def schedule_overdue_found(rule: AlertRule, now: datetime) -> Findings:
    """A scheduled project whose next run is due (its interval or crontab, counted from the last run's end or the
    schedule's last change) plus the grace, and none has started. A run in progress is not overdue: beat cannot
    start another, and a run that stopped moving is the sweeper's to end."""
    project = rule.project
    if project.paused or not (project.schedule_minutes or project.schedule_crontab):
        return {}
    bulk = SyncRun.objects.filter(project=project, is_bulk=True)
    if bulk.filter(status__in=ACTIVE_RUN_STATUSES).exists():
        return {}
    last = bulk.order_by("-created_at", "-id").first()
    since = [moment for moment in (last and (last.finished_at or last.created_at), project.schedule_since) if moment]
    reference = max(since) if since else rule.created_at
    if project.schedule_minutes:
        due = reference + timedelta(minutes=project.schedule_minutes)
        schedule = f"every {project.schedule_minutes} minutes"
    else:
        start, delta, _ = crontab(**parse_crontab(project.schedule_crontab)).remaining_delta(reference)
        due = start + delta
        schedule = f"crontab {project.schedule_crontab!r} (UTC)"
    if now <= due + timedelta(minutes=rule.grace_minutes):
        return {}
    before = f"the last ended at {reference:%Y-%m-%d %H:%M} UTC" if last else "none ever did"
    return {"project": Finding(f"no run of {project.name} has started since {due:%Y-%m-%d %H:%M} UTC, when one was "
                               f"due ({schedule}, {rule.grace_minutes} minutes of grace); {before}. Is beat "
                               "running?")}


def no_worker_found(rule: AlertRule, now: datetime) -> Findings:
    """No worker process is live: none wrote its heartbeat (every P2C_HEARTBEAT_SECONDS) within
    P2C_WORKER_DEAD_SECONDS."""
    from integration.services.workers import workers_live

    if workers_live(now=now).exists():
        return {}
    last = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    when = f"the last came at {last:%Y-%m-%d %H:%M:%S} UTC" if last else "none ever came"
    return {"workers": Finding(f"no worker has sent a heartbeat for {settings.P2C_WORKER_DEAD_SECONDS} seconds "
                               f"({when}): nothing is synced until a worker runs")}


def webhook_backlog_found(rule: AlertRule, now: datetime) -> Findings:
    """Webhook deliveries received more than the window ago whose one-record runs have not ended."""
    backlog = SyncRun.objects.filter(project_id=rule.project_id, trigger=SyncRun.Trigger.WEBHOOK,
                                     status__in=ACTIVE_RUN_STATUSES,
                                     created_at__lte=now - timedelta(minutes=rule.window_minutes))
    count = backlog.count()
    if count < rule.threshold:
        return {}
    oldest = backlog.order_by("created_at").values_list("created_at", flat=True).first()
    return {"project": Finding(f"{count} webhook deliveries received more than {rule.window_minutes} minutes ago are "
                               f"not synced yet (threshold {rule.threshold}); the oldest came at "
                               f"{oldest:%Y-%m-%d %H:%M} UTC. Are the workers keeping up?")}


def connection_failing_found(rule: AlertRule, now: datetime) -> Findings:
    """Per connection of the project: its last token request (as the engine recorded it) failed, or its stored
    certificate expires within `threshold` days or cannot be read."""
    from integration.connector_counters import token_states

    try:
        tokens = token_states()
    except redis.RedisError:
        return None
    findings = {}
    project = rule.project
    for connection_id in (project.sales_connection_id, project.finops_connection_id):
        name = Connection.objects.values_list("name", flat=True).get(pk=connection_id)
        state = tokens.get(name)
        if state is not None and not state.ok:
            at = datetime.fromtimestamp(state.at, tz=UTC)
            findings[f"token:{connection_id}"] = Finding(
                f"connection {name}: the last token request failed at {at:%Y-%m-%d %H:%M} UTC: {state.error}")
        problem = _certificate_problem(connection_id, now, days=rule.threshold)
        if problem:
            findings[f"certificate:{connection_id}"] = Finding(f"connection {name}: {problem}")
    return findings


def _certificate_problem(connection_id: int, now: datetime, *, days: int) -> str | None:
    try:
        pem = Connection.objects.values_list("certificate_pem", flat=True).get(pk=connection_id)
    except SecretUnreadable:
        return "its stored certificate cannot be decrypted with the configured P2C_ENCRYPTION_KEYS"
    if not pem:
        return None
    try:
        expires = x509.load_pem_x509_certificates(pem.encode())[0].not_valid_after_utc
    except ValueError:
        return "its stored certificate is not a PEM certificate"
    if expires - now > timedelta(days=days):
        return None
    if expires <= now:
        return f"its certificate expired at {expires:%Y-%m-%d %H:%M} UTC: renew it, or no token can be had"
    return f"its certificate expires at {expires:%Y-%m-%d %H:%M} UTC, in {(expires - now).days} days: renew it"


FINDERS: dict[str, Callable[[AlertRule, datetime], Findings]] = {
    AlertKind.FAILURES: failures_found,
    AlertKind.RUN_FAILED: run_failed_found,
    AlertKind.SCHEDULE_OVERDUE: schedule_overdue_found,
    AlertKind.NO_WORKER: no_worker_found,
    AlertKind.WEBHOOK_BACKLOG: webhook_backlog_found,
    AlertKind.CONNECTION_FAILING: connection_failing_found,
}
