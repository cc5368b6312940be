"""The Django admin for integration admins: connections, projects and their maps, links, runs and records.

Every action calls a service; nothing here decides anything about a sync.
"""

from integration.admin import (  # noqa: F401 - registers the model admins
    alerts,
    checks,
    connections,
    dry_runs,
    editor,
    failing,
    maps,
    projects,
    runs,
    tokens,
)
