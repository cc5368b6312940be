"""What an unforeseen exception says where people look (a record's or a stage's message): its type and its text,
storable by the database and without the project's secrets.

An unforeseen exception is a bug, a database refusal or a library's surprise; its text was written for a
developer, so it may quote anything it had at hand. The project's stored secrets are blanked before it is kept.
"""

from __future__ import annotations

import os

from django.conf import settings

from integration.models import Project
from integration.storable import clean_text

_LIMIT = 2000
_SHORTEST_SECRET = 6  # shorter values would blank ordinary words


def failure_text(exc: BaseException, *, project: Project | None = None) -> str:
    """`TypeName: text`, cleaned, cut to a length a row shows, with the project's secrets blanked."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    for secret in _secrets(project):
        text = text.replace(secret, "[redacted]")
    return clean_text(text)[:_LIMIT]


def _secrets(project: Project | None) -> list[str]:
    values = [settings.SECRET_KEY]
    if project is not None:
        values.append(project.webhook_secret)
        for connection in (project.sales_connection, project.finops_connection):
            values += [connection.client_secret, connection.certificate_pem,
                       os.environ.get(connection.client_secret_env, "") if connection.client_secret_env else ""]
    return sorted({value for value in values if value and len(value) >= _SHORTEST_SECRET}, key=len, reverse=True)
