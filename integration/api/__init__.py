"""The REST API: scripts start and watch runs, retry failed records and pause projects (all through services)."""
