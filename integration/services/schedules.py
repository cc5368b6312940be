"""Project schedules as django-celery-beat periodic tasks: one per project, kept in step with the project."""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from integration import task_names
from integration.models import Project, SyncRun
from integration.services import runs

log = logging.getLogger(__name__)



class ScheduleInvalid(ValueError):
    pass


def periodic_task_name(project: Project) -> str:
    return f"p2c: project {project.pk} ({project.name})"


def parse_crontab(expression: str) -> dict[str, str]:
    """'minute hour day-of-month month day-of-week', as cron has it."""
    parts = expression.split()
    if len(parts) != 5:
        raise ScheduleInvalid(f"a crontab has 5 fields (minute hour day month weekday), not {expression!r}")
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    return {"minute": minute, "hour": hour, "day_of_month": day_of_month, "month_of_year": month_of_year,
            "day_of_week": day_of_week}


@transaction.atomic
def project_schedule_sync(*, project: Project) -> PeriodicTask | None:
    """Create, change or remove the project's periodic task so beat does what the project says."""
    PeriodicTask.objects.filter(task=task_names.RUN_SCHEDULED_PROJECT, args=json.dumps([project.pk])).exclude(
        name=periodic_task_name(project)).delete()
    if not project.schedule_minutes and not project.schedule_crontab:
        PeriodicTask.objects.filter(name=periodic_task_name(project)).delete()
        return None
    if project.schedule_minutes and project.schedule_crontab:
        raise ScheduleInvalid("give either an interval in minutes or a crontab, not both")
    interval = crontab = None
    if project.schedule_minutes:
        interval, _ = IntervalSchedule.objects.get_or_create(every=project.schedule_minutes,
                                                             period=IntervalSchedule.MINUTES)
    else:
        crontab, _ = CrontabSchedule.objects.get_or_create(**parse_crontab(project.schedule_crontab), timezone="UTC")
    task, _ = PeriodicTask.objects.update_or_create(
        name=periodic_task_name(project),
        defaults={"task": task_names.RUN_SCHEDULED_PROJECT, "args": json.dumps([project.pk]), "interval": interval,
                  "crontab": crontab, "enabled": not project.paused,
                  "description": f"Incremental run of project {project.name}"},
    )
    return task


def project_set_paused(*, project: Project, paused: bool) -> Project:
    """Pause or resume: a paused project starts no runs, and its periodic task is disabled."""
    Project.objects.filter(pk=project.pk).update(paused=paused)
    project.paused = paused
    project_schedule_sync(project=project)
    log.info("project %s project=%s", "paused" if paused else "resumed", project.name)
    return project


def project_run_scheduled(*, project_id: int) -> SyncRun | None:
    """What beat's tick does: an incremental run, unless the project is paused or still running."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        log.info("scheduled run skipped: project %s no longer exists", project_id)
        return None
    try:
        return runs.run_start(project=project, mode=SyncRun.Mode.INCREMENTAL, trigger=SyncRun.Trigger.SCHEDULE)
    except runs.RunRefused as exc:
        log.info("scheduled run skipped project=%s: %s", project.name, exc)
        return None
