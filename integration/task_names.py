"""Every Celery task's name, in one place: services queue work by these names (no import of the tasks module, so no
cycle), `integration/tasks.py` registers the tasks under them, and the settings route and schedule them.

Names are stable: a message queued by one release is run by the next.
"""

START_STAGE = "p2c.start_stage"
PREFLIGHT_RUN = "p2c.preflight_run"
SYNC_RECORD = "p2c.sync_record"
SYNC_BATCH = "p2c.sync_batch"
RUN_SCHEDULED_PROJECT = "p2c.run_scheduled_project"
SWEEP = "p2c.sweep"
PURGE_HISTORY = "p2c.purge_history"
DRY_RUN = "p2c.dry_run"
