"""Connections: the plain connector configuration built from a Connection row, and a check that it works."""

from __future__ import annotations

import os

from django.conf import settings

from connectors.config import Certificate, ConnectionConfig
from integration.models import Connection


class ConnectionMisconfigured(ValueError):
    """The row cannot make a working configuration; the message names the field."""


def connection_secret(connection: Connection) -> str:
    if connection.client_secret_env:
        value = os.environ.get(connection.client_secret_env, "")
        if not value:
            raise ConnectionMisconfigured(
                f"connection {connection.name}: environment variable {connection.client_secret_env} is not set")
        return value
    return connection.client_secret or ""


def connection_config(connection: Connection) -> ConnectionConfig:
    """What the connectors need, with the secret decrypted (or read from the environment) only here."""
    secret = connection_secret(connection)
    certificate = None
    if connection.certificate_pem:
        certificate = Certificate(private_key=connection.certificate_pem, thumbprint=connection.certificate_thumbprint,
                                  public_certificate=connection.certificate_pem)
        secret = ""
    options = {}
    if connection.requests_per_window:
        options.update(requests_per_window=connection.requests_per_window,
                       window_seconds=float(connection.window_seconds))
    if connection.max_concurrency:
        options["max_concurrency"] = connection.max_concurrency
    try:
        return ConnectionConfig(
            system=connection.system, base_url=connection.base_url, authority=connection.authority,
            client_id=connection.client_id, client_secret=secret, certificate=certificate,
            scope=connection.scope, default_company=connection.default_company,
            ca_bundle=connection.ca_bundle or None, read_timeout=float(connection.timeout_seconds),
            page_size=connection.page_size, max_retries=connection.max_retries,
            redis_url=settings.REDIS_URL, redis_key_prefix=f"{settings.REDIS_KEY_PREFIX}p2c:connector:",
            **options,
        )
    except ValueError as exc:
        raise ConnectionMisconfigured(f"connection {connection.name}: {exc}") from None
