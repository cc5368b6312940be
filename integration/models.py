from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker proved it can take a task from the queue and write to the database."""

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()
    tasks_seen = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
