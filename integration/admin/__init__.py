"""The Django admin for integration admins: connections, projects and their maps, links, runs and records.

Every action calls a service; nothing here decides anything about a sync.
"""

from integration.admin import alerts, checks, connections, projects, runs, tokens  # noqa: F401 - registers the model admins
