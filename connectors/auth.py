"""Access tokens from Entra ID (client credentials), through one msal application per connection and process.

msal caches the token and refreshes it 5 minutes before expiry; in front of it we keep the current token so a
request costs no cache search, and drop exactly the token the API refused when a 401 comes back.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import msal
import requests
from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

from connectors.config import ConnectionConfig
from connectors.errors import AuthError, ConnectorError, TransientError
from connectors.observe import TokenObserved, observe
from connectors.process_local import ProcessLocal
from connectors.sessions import new_session

log = logging.getLogger(__name__)

_TRANSIENT_TOKEN_ERRORS = {"temporarily_unavailable", "server_error"}
_sources: ProcessLocal[TokenSource] = ProcessLocal()


def token_source(config: ConnectionConfig) -> TokenSource:
    """The token source of this connection in this process, shared by its threads and by every config that differs
    only in settings tokens do not depend on (page size, limits). Two connections with the same credentials keep
    a source each: token outcomes are recorded by connection name, and a connection whose secret was fixed must
    see its own next token request succeed, not a token its twin already held."""
    key = (config.label, config.identity, config.scope, config.client_secret, config.certificate, config.ca_bundle,
           config.timeout)
    return _sources.get(key, lambda: TokenSource(config))


class TokenSource:
    """Hands out the current access token of one connection; thread-safe, one token request at a time."""

    def __init__(self, config: ConnectionConfig):
        self._config = config
        self._lock = threading.Lock()
        self._app: msal.ConfidentialClientApplication | None = None
        self._current: tuple[str, float] | None = None  # (token, monotonic time to stop using it)

    def token(self) -> str:
        current = self._current
        if current and time.monotonic() < current[1]:
            return current[0]
        with self._lock:
            current = self._current
            if current and time.monotonic() < current[1]:
                return current[0]
            token, expires_in = self._acquire()
            # msal's own margin is 5 minutes; a token that lives less than that (tests) gets a tenth of its life.
            margin = min(300.0, expires_in / 10)
            self._current = (token, time.monotonic() + expires_in - margin)
            return token

    def invalidate(self, token: str) -> None:
        """The API refused `token` (expired early, revoked): forget it here and in msal's cache."""
        with self._lock:
            if self._current and self._current[0] == token:
                self._current = None
            if self._app is not None:
                cache = self._app.token_cache
                for entry in list(cache.search(cache.CredentialType.ACCESS_TOKEN)):
                    if entry.get("secret") == token:
                        cache.remove_at(entry)

    def _acquire(self) -> tuple[str, float]:
        config = self._config
        try:
            if self._app is None:
                self._app = self._build()
            result = self._app.acquire_token_for_client(scopes=[config.scope])
        except requests.RequestException as exc:
            # `from None`: the failed request object holds the form with the client secret.
            raise self._refused(TransientError(
                f"The token endpoint could not be reached: {type(exc).__name__}: {exc}")) from None
        except ValueError as exc:  # msal: unusable authority or OpenID configuration
            raise self._refused(AuthError(f"The authority {config.authority} is not usable: {exc}")) from None
        if "access_token" in result:
            log.debug("access token for %s (%s, %ss)", config.identity, result.get("token_source"),
                      result.get("expires_in"))
            if result.get("token_source") != "cache":  # msal's cache answered nothing new
                observe(TokenObserved(config.label, ok=True))
            return result["access_token"], float(result.get("expires_in") or 600)
        error = str(result.get("error") or "unknown_error")
        message = f"{error}: {result.get('error_description') or 'the token endpoint refused the request'}"
        if error in _TRANSIENT_TOKEN_ERRORS:
            raise self._refused(TransientError(message))
        raise self._refused(AuthError(message))

    def _refused(self, error: ConnectorError) -> ConnectorError:
        observe(TokenObserved(self._config.label, ok=False, error=error.message))
        return error

    def _build(self) -> msal.ConfidentialClientApplication:
        config = self._config
        host = config.authority.split("/")[2].lower()
        credential: Any = config.client_secret or config.certificate.msal_credential()
        return msal.ConfidentialClientApplication(
            config.client_id,
            client_credential=credential,
            authority=config.authority,
            http_client=_TimeoutHttpClient(new_session(config, pool_size=1), config.timeout),
            instance_discovery=host in WELL_KNOWN_AUTHORITY_HOSTS,
            token_cache=msal.TokenCache(),
        )


class _TimeoutHttpClient:
    """msal's HTTP client interface over our session, with the connection's timeouts (msal sets none)."""

    def __init__(self, session: requests.Session, timeout: tuple[float, float]):
        self._session = session
        self._timeout = timeout

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.post(url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.get(url, **kwargs)

    def close(self) -> None:
        self._session.close()
