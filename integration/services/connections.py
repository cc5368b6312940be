"""Connections: the plain connector configuration built from a Connection row, and a check that it works."""

from __future__ import annotations

import dataclasses
import os
import time

from django.conf import settings

from connectors.config import AppUser, Certificate, ConnectionConfig
from connectors.errors import ConnectorError
from connectors.factory import CLIENT_TYPES
from integration.connection_policy import application_user_problems, connection_problems
from integration.models import ApplicationUser, Connection


class ConnectionMisconfigured(ValueError):
    """The row cannot make a working configuration, or may not be used as it is; the message names the field."""


def connection_secret(connection: Connection) -> str:
    return _secret(connection.name, connection.client_secret_env, connection.client_secret)


def _secret(connection_name: str, variable: str, stored: str) -> str:
    """The environment variable's value when one is named, else the stored (decrypted) secret."""
    if variable:
        value = os.environ.get(variable, "")
        if not value:
            raise ConnectionMisconfigured(f"connection {connection_name}: environment variable {variable} is not set")
        return value
    return stored or ""


def _extra_users(connection: Connection) -> tuple[AppUser, ...]:
    """The connection's other application users, each checked against the same rules as the connection."""
    users = []
    for user in ApplicationUser.objects.filter(connection=connection).order_by("id"):
        problems = application_user_problems(user)
        if problems:
            raise ConnectionMisconfigured(f"connection {connection.name}, application user {user.client_id}: " +
                                          "; ".join(f"{field}: {problem}" for field, problem in problems.items()))
        users.append(AppUser(user.client_id,
                             client_secret=_secret(connection.name, user.client_secret_env, user.client_secret)))
    return tuple(users)


def connection_config(connection: Connection) -> ConnectionConfig:
    """What the connectors need, with the secrets decrypted (or read from the environment) only here, for the
    connection's application user and its extra ones (used in turn, each with its own share of the limits).

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
            name=connection.name, extra_users=_extra_users(connection), **options,
        )
    except ValueError as exc:
        raise ConnectionMisconfigured(f"connection {connection.name}: {exc}") from None


class ConnectionTestFailed(Exception):
    """The connection cannot sign in or read; the message is the API's or the configuration's, never a secret."""


# Small sets every environment has, readable by any application user that can read anything.
TEST_ENTITY_SETS = {"dataverse": "transactioncurrencies", "finops": "LegalEntities"}


def connection_test(*, connection: Connection) -> str:
    """Get a token and read one page of a small reference set as each application user of the connection: proves
    the URL, every credential and every user's role (a bad extra user would otherwise show only mid-run).

    Fresh clients (not the engine's shared one), so a token cached by an earlier success proves nothing, and
    with few retries, so a person waiting on the admin page hears back quickly.
    """
    entity_set = TEST_ENTITY_SETS[connection.system]
    started = time.monotonic()
    try:
        config = dataclasses.replace(connection_config(connection), max_retries=1, max_wait=5.0)
    except ConnectionMisconfigured as exc:
        raise ConnectionTestFailed(str(exc)) from None
    for user in config.users:
        client = CLIENT_TYPES[user.system](user)
        try:
            page = next(iter(client.pages(entity_set, options={"$top": 5})), None)
        except ConnectorError as exc:
            who = f" as application user {user.client_id}" if config.extra_users else ""
            raise ConnectionTestFailed(f"{type(exc).__name__}{who}: {exc}") from None
        finally:
            client.close()
    rows = len(page.rows) if page is not None else 0
    elapsed = round((time.monotonic() - started) * 1000)
    users = f" as each of its {len(config.users)} application users" if config.extra_users else ""
    return f"signed in{users} and read {rows} {entity_set} in {elapsed} ms"
