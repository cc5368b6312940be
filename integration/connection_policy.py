"""Where a connection may send its credential and what it may read on this machine.

A connection's client secret goes to its authority's token endpoint, and its access token to the resource its
scope names; whoever may edit a connection could otherwise send either to a host of their own, or make p2c read
any environment variable (SECRET_KEY, DATABASE_URL) or file as a secret or a CA. The rules are checked when a
connection is saved (the model's `clean`, so every form) and again before any client is built from it.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography import x509
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

if TYPE_CHECKING:
    from integration.models import ApplicationUser, Connection

# Microsoft Entra ID's token authorities, from Microsoft's "National clouds" page (Microsoft identity platform):
# the global service, Azure Government, and Azure operated by 21Vianet (login.partner.microsoftonline.cn, the
# name that page gives; login.chinacloudapi.cn, the name MSAL and older Microsoft docs use for the same cloud).
# Azure Germany (login.microsoftonline.de) closed on 29 October 2021 and is left out.
ENTRA_HOSTS = frozenset({"login.microsoftonline.com", "login.microsoftonline.us",
                         "login.partner.microsoftonline.cn", "login.chinacloudapi.cn"})
# Named here as well as recorded by the settings, so no refactoring of the settings can let them through.
FORBIDDEN_SECRET_VARIABLES = frozenset({"SECRET_KEY", "P2C_ENCRYPTION_KEYS", "DATABASE_URL", "REDIS_URL"})
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_MAX_CA_BYTES = 1024 * 1024


def secret_variable_problem(name: str) -> str | None:
    """Why the environment variable `name` may not hold a connection's secret, or None."""
    if not _VARIABLE.match(name):
        return f"{name!r} is not an environment variable name"
    if name in FORBIDDEN_SECRET_VARIABLES or name in settings.P2C_SETTINGS_ENVIRONMENT:
        return f"{name} is one of p2c's own settings and can never hold a connection's secret"
    if not any(fnmatch.fnmatchcase(name, pattern) for pattern in settings.P2C_SECRET_ENV_ALLOWLIST):
        allowed = ", ".join(settings.P2C_SECRET_ENV_ALLOWLIST) or "none"
        return f"{name} is not allowed by P2C_SECRET_ENV_ALLOWLIST (allowed: {allowed})"
    return None


def authority_problem(authority: str) -> str | None:
    """Why the token authority is refused, or None: Entra's hosts, or one P2C_AUTHORITY_HOSTS names."""
    parts = urlsplit(authority.strip())
    host = (parts.hostname or "").lower()
    netloc = parts.netloc.lower()
    shown = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (parts.scheme != "https" or not host or port == -1 or parts.username or parts.password or parts.query
            or parts.fragment):
        return "must be https://<host>/<tenant>, with no user, query or fragment"
    tenant = parts.path.strip("/")
    if not _TENANT.match(tenant):
        return "must name the tenant as its one path segment: https://login.microsoftonline.com/<tenant id>"
    allowed = {entry.lower() for entry in settings.P2C_AUTHORITY_HOSTS}
    if (host in ENTRA_HOSTS and port in (None, 443)) or netloc in allowed or shown in allowed:
        return None
    return (f"{shown} is not Microsoft Entra ID ({', '.join(sorted(ENTRA_HOSTS))}) nor a host in "
            "P2C_AUTHORITY_HOSTS: the client secret is only ever sent to those")


def scope_problem(scope: str, base_url: str) -> str | None:
    """An access token is sent to the base URL, so it must be a token for that resource and no other."""
    if not scope.strip():
        return None
    resource = urlsplit(scope.strip().removesuffix("/.default").rstrip("/"))
    environment = urlsplit(base_url.strip())
    if (resource.scheme, resource.netloc.lower()) != (environment.scheme, environment.netloc.lower()):
        return "must be the base URL's own resource (<base URL>/.default), or blank"
    return None


def ca_bundle_problem(path: str) -> str | None:
    """Why the CA file is refused, or None: a PEM file of certificates only, in one of P2C_CA_BUNDLE_DIRS.

    The directory is checked before the file is looked at, so a refused path tells nothing about what exists.
    """
    given = Path(path.strip())
    if not given.is_absolute():
        return "must be an absolute path"
    resolved = given.resolve()
    if not any(resolved.is_relative_to(directory) for directory in settings.P2C_CA_BUNDLE_DIRS):
        directories = ", ".join(str(directory) for directory in settings.P2C_CA_BUNDLE_DIRS) or "none"
        return f"must be a file in one of P2C_CA_BUNDLE_DIRS ({directories})"
    if not resolved.is_file() or resolved.stat().st_size > _MAX_CA_BYTES:
        return "is not a readable PEM file of certificates"
    data = resolved.read_bytes()
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        certificates = []
    if not certificates or b"PRIVATE KEY" in data:
        return "is not a PEM file of certificates (and nothing else)"
    return None


def connection_problems(connection: Connection) -> dict[str, str]:
    """Each refused field of a connection, with why."""
    problems = {
        "authority": authority_problem(connection.authority),
        "client_secret_env": (secret_variable_problem(connection.client_secret_env)
                              if connection.client_secret_env else None),
        "scope": scope_problem(connection.scope, connection.base_url),
        "ca_bundle": ca_bundle_problem(connection.ca_bundle) if connection.ca_bundle else None,
    }
    return {field: problem for field, problem in problems.items() if problem}


def application_user_problems(user: ApplicationUser) -> dict[str, str]:
    """Each refused field of a connection's extra application user, with why: its secret follows the connection's
    rules, and it is a user of its own (another client id than the connection's)."""
    try:
        own_client_id = user.connection.client_id
    except ObjectDoesNotExist:  # not attached to a connection yet
        own_client_id = None
    problems = {
        "client_id": ("is the connection's own application user; an extra one needs another client id"
                      if user.client_id and user.client_id == own_client_id else None),
        "client_secret_env": (secret_variable_problem(user.client_secret_env) if user.client_secret_env else None),
        "client_secret": (None if user.client_secret or user.client_secret_env
                          else "give the secret, or the environment variable that holds it"),
    }
    return {field: problem for field, problem in problems.items() if problem}
