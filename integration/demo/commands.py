"""The commands the demo prints, exactly as they run in a fresh shell: this checkout's Python (its .venv, which
`make demo` runs on), this checkout's manage.py, and the settings the demo ran with that a new shell would lack
(DEBUG, where the files are). A secret is never printed: a database or Redis URL the demo used is named, not
shown."""

from __future__ import annotations

import os
import shlex
import sys

from django.conf import settings

_PASSED_ON = ("P2C_VAR_DIR", "REDIS_KEY_PREFIX", "P2C_TASK_QUEUE")
_NAMED_ONLY = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "P2C_ENCRYPTION_KEYS")


def command_line(*args: str) -> str:
    """`DEBUG=true /path/.venv/bin/python /path/manage.py <args>`, quoted for a POSIX shell."""
    assignments = ["DEBUG=true"] if settings.DEBUG else []
    assignments += [f"{name}={shlex.quote(os.environ[name])}" for name in _PASSED_ON if os.environ.get(name)]
    program = [shlex.quote(sys.executable), shlex.quote(str(settings.BASE_DIR / "manage.py"))]
    return " ".join([*assignments, *program, *(shlex.quote(arg) for arg in args)])


def environment_note() -> str:
    """What the printed commands also need from the shell, by name: '' when nothing."""
    names = [name for name in _NAMED_ONLY if os.environ.get(name)]
    return f"   (these commands also need the same {', '.join(names)} as this demo)\n" if names else ""
