"""Microsoft Entra ID, as far as a confidential client needs it: OpenID discovery and client-credentials tokens.

Tokens are real JWTs (signed with a key only this emulator knows) carrying the claims Microsoft's APIs check:
audience, tenant, app id, expiry. `msal.ConfidentialClientApplication` works against it unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote_plus

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from connectors.emulators.server import Request, Response, json_response

_GENERIC_TENANTS = {"common", "organizations", "consumers"}
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class AuthError(Exception):
    """A request's bearer token is missing or not acceptable; `reason` says which check failed, and `tenant` is the
    token's tenant id when the token is ours (an API's 401 challenge names it)."""

    def __init__(self, reason: str, message: str, tenant: str | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.tenant = tenant


@dataclass
class TokenGrant:
    access_token: str
    expires_in: int


class Identity:
    """Issues and checks tokens for the registered applications: the first one (`client_id`), and any more a test or
    benchmark registers, each an application user of its own with its own service protection budget (the APIs
    count limits per token app id). Certificates are accepted for every registered application."""

    def __init__(self, *, client_id: str, client_secret: str, resource: str):
        self.client_id = client_id
        self.client_secret = client_secret
        self._secrets = {client_id: client_secret}  # client id -> secret, the first application's included
        self.resource = resource  # the API's origin; a token's audience is derived from the requested scope
        self.token_ttl_s: int | None = None  # None: random 60-90 minutes, as Entra does
        self._certificates: dict[str, object] = {}  # x5t thumbprint -> public key
        self._signing_key = secrets.token_bytes(32)
        self._revoked_before = 0.0
        self._lock = threading.Lock()
        self._rng = random.Random()
        self.issued = 0

    # --- configuration -----------------------------------------------------------------------------------
    def register_client(self, client_id: str, client_secret: str) -> None:
        """Accept one more application (or a new secret for a registered one)."""
        if not client_id or not client_secret:
            raise ValueError("a client needs a client_id and a client_secret")
        with self._lock:
            self._secrets[client_id] = client_secret
            if client_id == self.client_id:
                self.client_secret = client_secret

    def forget_clients(self) -> None:
        """Drop every application but the first."""
        with self._lock:
            self._secrets = {self.client_id: self.client_secret}

    @property
    def client_ids(self) -> list[str]:
        return list(self._secrets)

    def revoke_all(self) -> None:
        """Every token issued until now stops working (a secret rotation, a disabled app)."""
        with self._lock:
            self._revoked_before = time.time()

    def register_certificate(self, pem: bytes) -> str:
        """Accept client assertions signed with this certificate's key; returns its thumbprint."""
        cert = x509.load_pem_x509_certificate(pem)
        der = cert.public_bytes(serialization.Encoding.DER)
        for digest in (hashlib.sha1(der).digest(), hashlib.sha256(der).digest()):  # noqa: S324 - x5t is SHA-1
            self._certificates[base64.urlsafe_b64encode(digest).rstrip(b"=").decode()] = cert.public_key()
        return hashlib.sha1(der).hexdigest()  # noqa: S324

    # --- endpoints ---------------------------------------------------------------------------------------
    def openid_configuration(self, origin: str, tenant: str) -> Response:
        base = f"{origin}/{tenant}"
        return json_response(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "NA",
        }, content_type="application/json; charset=utf-8")

    def token(self, request: Request, origin: str, tenant: str) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.body.decode("utf-8", "replace")).items()}
        basic = _basic_credentials(request.headers.get("Authorization"))
        if basic:
            form.setdefault("client_id", basic[0])
            form.setdefault("client_secret", basic[1])
        if tenant.lower() in _GENERIC_TENANTS:
            return _error(400, "invalid_request", 50059, "No tenant-identifying information found in either the "
                          "request or implied by any provided credentials.")
        for required in ("grant_type", "client_id", "scope"):
            if not form.get(required):
                return _error(400, "invalid_request", 900144,
                              f"The request body must contain the following parameter: '{required}'.")
        if form["grant_type"] != "client_credentials":
            return _error(400, "unsupported_grant_type", 70003,
                          "The app requested an unsupported grant type '" + form["grant_type"] + "'.")
        if form["client_id"] not in self._secrets:
            return _error(400, "unauthorized_client", 700016,
                          f"Application with identifier '{form['client_id']}' was not found in the directory "
                          f"'{tenant}'.")
        problem = self._check_client_credential(form, f"{origin}/{tenant}/oauth2/v2.0/token")
        if problem:
            return problem
        scope = form["scope"].split()
        if len(scope) != 1 or not scope[0].endswith("/.default"):
            return _error(400, "invalid_scope", 1002012,
                          f"The provided value for scope {form['scope']} is not valid. Client credential flows must "
                          "have a scope value with /.default suffixed to the resource identifier.")
        audience = scope[0][: -len("/.default")]
        if audience.rstrip("/").lower() != self.resource.rstrip("/").lower():
            return _error(400, "invalid_scope", 500011,
                          f"The resource principal named {audience} was not found in the tenant named {tenant}.")
        grant = self.issue(audience=audience, tenant=tenant, client_id=form["client_id"])
        return json_response(200, {"token_type": "Bearer", "expires_in": grant.expires_in,
                                   "ext_expires_in": grant.expires_in, "access_token": grant.access_token},
                             content_type="application/json; charset=utf-8")

    def _check_client_credential(self, form: dict[str, str], token_endpoint: str) -> Response | None:
        if form.get("client_assertion_type") == _ASSERTION_TYPE and form.get("client_assertion"):
            return self._check_assertion(form["client_assertion"], token_endpoint, form["client_id"])
        if not form.get("client_secret"):
            return _error(400, "invalid_client", 7000218, "The request body must contain the following parameter: "
                          "'client_assertion' or 'client_secret'.")
        expected = self._secrets.get(form["client_id"], "")
        if not secrets.compare_digest(form["client_secret"].encode(), expected.encode()):
            return _error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being "
                          "sent in the request is the client secret value, not the client secret ID.")
        return None

    def _check_assertion(self, assertion: str, token_endpoint: str, client_id: str) -> Response | None:
        try:
            header = jwt.get_unverified_header(assertion)
            # msal sends the thumbprint base64url-encoded with its "=" padding; Entra accepts it either way.
            thumbprint = str(header.get("x5t#S256") or header.get("x5t") or "").rstrip("=")
            key = self._certificates.get(thumbprint)
            if key is None:
                return _error(401, "invalid_client", 700027, "The certificate with identifier used to sign the "
                              "client assertion is not registered on application.")
            claims = jwt.decode(assertion, key, algorithms=["RS256", "PS256", "ES256"], audience=token_endpoint,
                                options={"require": ["exp", "iss", "sub", "aud"]})
        except jwt.PyJWTError as exc:
            return _error(401, "invalid_client", 700027, f"Client assertion failed signature validation: {exc}")
        if claims["iss"] != client_id or claims["sub"] != client_id:
            return _error(401, "invalid_client", 700023, "The client assertion's issuer and subject must be the "
                          "application's client id.")
        return None

    def issue(self, *, audience: str, tenant: str, client_id: str | None = None) -> TokenGrant:
        client_id = client_id or self.client_id
        now = int(time.time())
        ttl = self.token_ttl_s if self.token_ttl_s is not None else self._rng.randint(3600, 5400)
        tenant_id = tenant if _is_guid(tenant) else str(uuid.uuid5(uuid.NAMESPACE_DNS, tenant.lower()))
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "appid": client_id,
            "azp": client_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "tid": tenant_id,
            "ver": "1.0",
            "jti": uuid.uuid4().hex,
            "p2c_iat": time.time(),  # sub-second issue time, so a revocation right after issuing is exact
        }
        with self._lock:
            self.issued += 1
        return TokenGrant(jwt.encode(claims, self._signing_key, algorithm="HS256"), ttl)

    def authenticate(self, authorization: str | None) -> dict:
        """The claims of a valid bearer token; AuthError otherwise. Audience rules are the caller's."""
        if not authorization:
            raise AuthError("missing", "The request does not carry an access token.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("malformed", "The Authorization header is not a Bearer token.")
        try:
            claims = jwt.decode(token.strip(), self._signing_key, algorithms=["HS256"],
                                options={"verify_aud": False, "require": ["exp", "aud"]})
        except jwt.ExpiredSignatureError:
            expired = jwt.decode(token.strip(), self._signing_key, algorithms=["HS256"],
                                 options={"verify_aud": False, "verify_exp": False})
            raise AuthError("expired", "The access token has expired.", expired.get("tid")) from None
        except jwt.PyJWTError:
            raise AuthError("invalid", "The access token is not valid.") from None
        if claims.get("p2c_iat", 0) <= self._revoked_before:
            raise AuthError("revoked", "The access token has been revoked.", claims.get("tid"))
        return claims


def _error(status: int, error: str, code: int, description: str) -> Response:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return json_response(status, {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} "
                             f"Timestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }, content_type="application/json; charset=utf-8")


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return unquote_plus(user), unquote_plus(password)


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
