"""`python manage.py evaluate_alerts`: one pass of the alert rules now, as beat does every minute.

Safe beside beat (a pass is idempotent), so cron may run it as a fallback, or a person to see what it finds.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from integration.services.alerts import alerts_evaluate


class Command(BaseCommand):
    help = "Evaluate every enabled alert rule once and deliver what is due."

    def handle(self, *args, **options):
        report = alerts_evaluate()
        self.stdout.write(f"opened {report.opened}, resolved {report.resolved}, delivered {report.delivered}")
