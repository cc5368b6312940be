"""Production settings are safe by default; the knobs come from the environment."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

PRINT_SETTINGS = (
    "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'p2c_project.settings'); django.setup(); "
    "from django.conf import settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
)


def run_settings(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    clean.update(env)
    return subprocess.run([sys.executable, "-c", PRINT_SETTINGS], env=clean, cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=60)


def test_debug_is_off_and_a_secret_key_is_required_by_default():
    result = run_settings()
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_settings_come_from_the_environment():
    result = run_settings(SECRET_KEY="s" * 50, DATABASE_URL="postgres://u:p@db.example:5433/p2c",
                          REDIS_URL="redis://cache.example:6380/2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "django.db.backends.postgresql", "redis://cache.example:6380/2"]


def test_embedded_defaults_are_sqlite_and_a_redis_socket_under_var():
    result = run_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    debug, engine, broker = result.stdout.split()
    assert (debug, engine) == ("True", "django.db.backends.sqlite3")
    assert broker.startswith("redis+socket://")
    assert broker.endswith("redis.sock")


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
