"""The Django admin for integration admins: connections, projects and their maps, links, runs and records.

Every action calls a service; nothing here decides anything about a sync.
"""

from integration.admin import checks, connections, projects, runs  # noqa: F401 - registers the model admins
