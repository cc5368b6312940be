"""Production settings are safe by default; the knobs come from the environment."""

import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

PRINT_SETTINGS = (
    "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'p2c_project.settings'); django.setup(); "
    "from django.conf import settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
)


def clean_environment(**env) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"} and not k.startswith("P2C_")}
    return {**clean, **env}


def run_settings(**env):
    return subprocess.run([sys.executable, "-c", PRINT_SETTINGS], env=clean_environment(**env),
                          cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60)


def production(**env) -> dict[str, str]:
    return {"SECRET_KEY": secrets.token_urlsafe(60), "P2C_ENCRYPTION_KEYS": Fernet.generate_key().decode(), **env}


def test_debug_is_off_and_a_secret_key_is_required_by_default():
    result = run_settings()
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_settings_come_from_the_environment():
    result = run_settings(**production(DATABASE_URL="postgres://u:p@db.example:5433/p2c",
                                       REDIS_URL="redis://cache.example:6380/2"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "django.db.backends.postgresql", "redis://cache.example:6380/2"]


def test_embedded_defaults_are_sqlite_and_a_redis_socket_under_var():
    result = run_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    debug, engine, broker = result.stdout.split()
    assert (debug, engine) == ("True", "django.db.backends.sqlite3")
    assert broker.startswith("redis+socket://")
    assert broker.endswith("redis.sock")


def test_production_needs_an_encryption_key_of_its_own():
    key = secrets.token_urlsafe(60)
    result = run_settings(SECRET_KEY=key)
    assert "P2C_ENCRYPTION_KEYS must be set when DEBUG is off" in result.stderr
    for keys in (key, f"{Fernet.generate_key().decode()},short"):
        result = run_settings(SECRET_KEY=key, P2C_ENCRYPTION_KEYS=keys)
        assert "none may be SECRET_KEY" in result.stderr, keys
    assert run_settings(DEBUG="true").returncode == 0  # development derives one from SECRET_KEY


def check_deploy(**env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy"], env=clean_environment(**env),
                          cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)


def test_check_deploy_has_no_warnings_with_the_https_flags():
    result = check_deploy(**production(P2C_HTTPS="true", P2C_BEHIND_TLS_PROXY="true"))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    plain = check_deploy(**production())
    assert "security.W004" in plain.stdout + plain.stderr  # the flag is what turns HSTS on
    assert "security.W008" in plain.stdout + plain.stderr


def test_a_malformed_boolean_is_refused_with_its_name():
    result = run_settings(DEBUG="maybe")
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_sqlite_runs_in_wal_mode(db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("WAL is an SQLite setting")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
