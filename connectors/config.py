"""The plain settings of one connection, built by the engine from its Connection model.

Frozen and hashable, so a client, its token cache and its limiter can be shared per connection and process;
secrets never appear in `repr`, and `identity` names the connection without them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

SYSTEMS = ("dataverse", "finops")
API_PATHS = {"dataverse": "/api/data/v9.2/", "finops": "/data/"}
MAX_PAGE_SIZE = {"dataverse": 5000, "finops": 10000}


def page_size_problem(system: str, page_size: int) -> str | None:
    """What a page size must be for the system, when it is not; for the config and a connection's form alike."""
    most = MAX_PAGE_SIZE[system]
    return None if 1 <= page_size <= most else f"between 1 and {most:,} records for {system}"
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
# Entra refuses client credentials from these, and F&O rejects tokens that did not come from the tenant (trap 16).
_GENERIC_TENANTS = {"common", "organizations", "consumers"}


@dataclass(frozen=True)
class Certificate:
    """A client certificate for the token endpoint: a PEM private key (with its certificate or thumbprint), or a
    path to a PEM file holding both, or to a PFX file."""

    private_key: str = field(default="", repr=False)
    thumbprint: str = ""
    public_certificate: str = field(default="", repr=False)
    path: str = ""
    passphrase: str = field(default="", repr=False)

    def msal_credential(self) -> dict[str, str]:
        """The `client_credential` dict msal expects; read from `path` at call time, so a renewed file is used."""
        credential: dict[str, str] = {}
        if self.passphrase:
            credential["passphrase"] = self.passphrase
        if self.path and self.path.lower().endswith((".pfx", ".p12")):
            return {**credential, "private_key_pfx_path": self.path}
        if self.path:
            text = Path(self.path).read_text()
            credential["private_key"] = _pem_blocks(text, "PRIVATE KEY")
            certificate = _pem_blocks(text, "CERTIFICATE")
            if certificate:
                credential["public_certificate"] = certificate
        else:
            credential["private_key"] = self.private_key
            if self.public_certificate:
                credential["public_certificate"] = self.public_certificate
        if self.thumbprint:
            credential["thumbprint"] = self.thumbprint
        return credential


def _pem_blocks(text: str, label: str) -> str:
    """The PEM blocks whose label ends with `label` (so "PRIVATE KEY" matches "RSA PRIVATE KEY" too)."""
    blocks, inside = [], None
    for line in text.splitlines():
        if line.startswith("-----BEGIN ") and line.rstrip("-").endswith(label):
            inside = [line]
        elif inside is not None:
            inside.append(line)
            if line.startswith("-----END "):
                blocks.append("\n".join(inside))
                inside = None
    return "\n".join(blocks)


@dataclass(frozen=True)
class AppUser:
    """One more application user of a connection: an app registration's client id and its credential."""

    client_id: str
    client_secret: str = field(default="", repr=False)
    certificate: Certificate | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ConnectionConfig:
    """Everything a client needs to reach one Dataverse or F&O environment as one application user, or as several
    used in turn (`extra_users`): Microsoft evaluates service protection limits per user ("Each authenticated user
    is limited independently", Dataverse api-limits.md; the same in F&O's service-protection-api-limits.md), so
    each user brings a budget of its own."""

    system: str
    base_url: str  # the environment's origin, e.g. https://org.crm.dynamics.com
    client_id: str
    tenant: str = ""
    authority: str = ""  # defaults to https://login.microsoftonline.com/<tenant>
    client_secret: str = field(default="", repr=False)
    certificate: Certificate | None = field(default=None, repr=False)
    scope: str = ""  # defaults to <base_url>/.default
    default_company: str = ""  # F&O legal entity used when a key or body names none
    ca_bundle: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    page_size: int = 5000
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    # A wait (Retry-After or backoff) longer than this is not slept in the worker: the error is raised with
    # `retry_after`, so the engine can schedule the retry instead of holding a worker thread.
    max_wait: float = 60.0
    # Microsoft allows 6000 requests per 300 s per user and web server; an environment has several servers, so
    # there is no cap by default (429s are honoured) and a connection that must stay under one sets it here.
    requests_per_window: int | None = None
    window_seconds: float = 300.0
    max_concurrency: int = 52
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    redis_key_prefix: str = "p2c:connector:"
    extra_users: tuple[AppUser, ...] = ()  # more application users of the same environment, used in turn
    # How the application names this connection (in metrics); not part of what it connects to.
    name: str = ""

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise ValueError(f"system must be one of {SYSTEMS}, not {self.system!r}")
        object.__setattr__(self, "base_url", _origin(self.base_url, "base_url"))
        if not self.client_id:
            raise ValueError("client_id is required")
        if bool(self.client_secret) == bool(self.certificate):
            raise ValueError("give exactly one of client_secret and certificate")
        authority = self.authority.rstrip("/")
        if not authority:
            if not self.tenant:
                raise ValueError("give tenant or authority")
            authority = f"{MICROSOFT_LOGIN}/{self.tenant}"
        if not authority.lower().startswith("https://"):
            raise ValueError("authority must be an https:// URL (msal refuses anything else)")
        if authority.rsplit("/", 1)[-1].lower() in _GENERIC_TENANTS:
            raise ValueError("authority must name the environment's tenant, not common/organizations/consumers")
        object.__setattr__(self, "authority", authority)
        object.__setattr__(self, "scope", _scope(self.scope or self.base_url + "/.default"))
        if problem := page_size_problem(self.system, self.page_size):
            raise ValueError(f"page_size must be {problem}")
        if self.max_retries < 0 or self.max_concurrency < 1:
            raise ValueError("max_retries must be >= 0 and max_concurrency >= 1")
        if self.requests_per_window is not None and (self.requests_per_window < 1 or self.window_seconds <= 0):
            raise ValueError("requests_per_window must be >= 1 and window_seconds > 0")
        object.__setattr__(self, "extra_users", tuple(self.extra_users))
        seen = {self.client_id}
        for user in self.extra_users:
            if not user.client_id:
                raise ValueError("every application user needs a client_id")
            if bool(user.client_secret) == bool(user.certificate):
                raise ValueError(f"application user {user.client_id}: give exactly one of client_secret and "
                                 "certificate")
            if user.client_id in seen:
                raise ValueError(f"application user {user.client_id} is given twice")
            seen.add(user.client_id)

    @property
    def api_url(self) -> str:
        return self.base_url + API_PATHS[self.system]

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @property
    def label(self) -> str:
        """The connection's name for observers: its `name`, else its environment's host."""
        return self.name or urlsplit(self.base_url).netloc

    @property
    def identity(self) -> str:
        """Names the application user at one environment, which is what Microsoft's limits apply to."""
        return f"{self.system}|{self.base_url}|{self.authority.lower()}|{self.client_id}"

    @property
    def users(self) -> tuple[ConnectionConfig, ...]:
        """One single-user configuration per application user, the first one's first: each has its own identity,
        and so its own token cache and limiter, with the connection's limits as its own budget."""
        first = dataclasses.replace(self, extra_users=()) if self.extra_users else self
        return (first, *(dataclasses.replace(first, client_id=user.client_id, client_secret=user.client_secret,
                                             certificate=user.certificate) for user in self.extra_users))


def _origin(url: str, name: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise ValueError(f"{name} must be an https:// URL, not {url!r}")
    return f"https://{parts.netloc.lower()}"


def _scope(scope: str) -> str:
    """The resource part lowercase and without a trailing slash: anything else gets a token F&O refuses."""
    suffix = "/.default"
    if not scope.endswith(suffix):
        raise ValueError(f"scope must end with {suffix} for the client credentials flow")
    return _origin(scope[: -len(suffix)].rstrip("/"), "scope") + suffix
