"""Connections: the plain connector configuration built from a Connection row, and a check that it works."""

from __future__ import annotations

import dataclasses
import os
import time

from django.conf import settings

from connectors.config import Certificate, ConnectionConfig
from connectors.errors import ConnectorError
from connectors.factory import CLIENT_TYPES
from integration.connection_policy import connection_problems
from integration.models import Connection


class ConnectionMisconfigured(ValueError):
    """The row cannot make a working configuration, or may not be used as it is; the message names the field."""


def connection_secret(connection: Connection) -> str:
    if connection.client_secret_env:
        value = os.environ.get(connection.client_secret_env, "")
        if not value:
            raise ConnectionMisconfigured(
                f"connection {connection.name}: environment variable {connection.client_secret_env} is not set")
        return value
    return connection.client_secret or ""


def connection_config(connection: Connection) -> ConnectionConfig:
    """What the connectors need, with the secret decrypted (or read from the environment) only here.

    The connection's rules are checked again first (a row saved before they existed, or written without the
    admin), so no client, and so no token request, is ever made from a connection they refuse.
    """
    problems = connection_problems(connection)
    if problems:
        raise ConnectionMisconfigured(f"connection {connection.name}: " + "; ".join(
            f"{field}: {problem}" for field, problem in problems.items()))
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
            name=connection.name,
            **options,
        )
    except ValueError as exc:
        raise ConnectionMisconfigured(f"connection {connection.name}: {exc}") from None


class ConnectionTestFailed(Exception):
    """The connection cannot sign in or read; the message is the API's or the configuration's, never a secret."""


# Small sets every environment has, readable by any application user that can read anything.
TEST_ENTITY_SETS = {"dataverse": "transactioncurrencies", "finops": "LegalEntities"}


def connection_test(*, connection: Connection) -> str:
    """Get a token and read one page of a small reference set: proves the URL, the credential and the role.

    A fresh client (not the engine's shared one), so a token cached by an earlier success proves nothing, and
    with few retries, so a person waiting on the admin page hears back quickly.
    """
    entity_set = TEST_ENTITY_SETS[connection.system]
    started = time.monotonic()
    try:
        config = dataclasses.replace(connection_config(connection), max_retries=1, max_wait=5.0)
        client = CLIENT_TYPES[config.system](config)
        try:
            page = next(iter(client.pages(entity_set, options={"$top": 5})), None)
        finally:
            client.close()
    except ConnectionMisconfigured as exc:
        raise ConnectionTestFailed(str(exc)) from None
    except ConnectorError as exc:
        raise ConnectionTestFailed(f"{type(exc).__name__}: {exc}") from None
    rows = len(page.rows) if page is not None else 0
    elapsed = round((time.monotonic() - started) * 1000)
    return f"signed in and read {rows} {entity_set} in {elapsed} ms"
