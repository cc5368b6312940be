"""The Django admin for integration admins: connections, projects and their maps, links, runs and records."""
