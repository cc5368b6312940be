"""The Celery app. Its configuration is the CELERY_* block of settings.py."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2c_project.settings")

app = Celery("p2c")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _start_embedded_redis(sender: Celery, **kwargs) -> None:
    """Start the embedded Redis the first time a process uses the broker, when no REDIS_URL is set."""
    from django.conf import settings

    if settings.EMBEDDED_REDIS:
        from p2c_project.embedded_redis import ensure_running

        ensure_running(settings.VAR_DIR)
