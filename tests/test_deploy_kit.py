"""The deployment kit, checked where no container runs: the Dockerfile linted (hadolint, from its wheel) and held
to p2c's rules, compose.yaml's services and health checks, and the Procfile, compose and systemd starting the same
three processes. deploy/procfile_smoke.py (in .ci/run) runs the Procfile for real."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [tuple(line.split(None, 1)) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.skip("hadolint is not installed (requirements-dev.txt installs it on Linux and macOS)")
    return found


def test_the_dockerfile_passes_hadolint():
    done = subprocess.run([hadolint(), "--no-color", "-"], input=DOCKERFILE, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dockerfile_is_slim_pinned_non_root_and_holds_no_secret():
    steps = instructions()
    (base,) = [argument for name, argument in steps if name == "FROM"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base
    users = [argument for name, argument in steps if name == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    assert [name for name, _ in steps].index("USER") > max(i for i, (name, _) in enumerate(steps) if name == "RUN")
    assert "ADD" not in [name for name, _ in steps]
    for name, argument in steps:
        if name in ("ENV", "ARG"):
            assert not re.search(r"SECRET|PASSWORD|TOKEN|ENCRYPTION_KEYS", argument), argument
    assert any(name == "RUN" and "collectstatic --noinput" in argument for name, argument in steps)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv", "var"} <= set(ignored)


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: command.strip() for name, command in (line.split(":", 1) for line in lines
                                                        if line.strip() and not line.startswith("#"))}


def program(command: str) -> list[str]:
    """The program and its first arguments, which say what runs (gunicorn p2c_project.wsgi, celery ... worker)."""
    words = [word for word in shlex.split(command) if not word.startswith("$")]
    words = [Path(words[0]).name, *words[1:]]
    return words[:4] if words[0] == "celery" else words[:2]


def test_the_procfile_runs_web_worker_and_beat_and_migrates_on_release():
    processes = procfile()
    assert set(processes) == {"release", "web", "worker", "beat"}
    assert program(processes["web"]) == ["gunicorn", "p2c_project.wsgi"]
    assert program(processes["worker"]) == ["celery", "-A", "p2c_project", "worker"]
    assert program(processes["beat"]) == ["celery", "-A", "p2c_project", "beat"]
    assert processes["release"] == "python manage.py migrate --noinput"
    assert "-Q" not in processes["worker"]  # the queues the settings define


def test_compose_runs_the_same_processes_with_health_checks():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    processes = procfile()
    for name in ("web", "worker", "beat"):
        assert program(" ".join(services[name]["command"])) == program(processes[name])
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["healthcheck"]["test"]
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "readiness" in services["beat"]["healthcheck"]["test"]
    for service in services.values():
        image = service.get("image", "")
        assert image == "p2c:local" or re.fullmatch(r"[a-z]+:\d+\.\d+(\.\d+)?(-\w+)?", image), image


@pytest.mark.parametrize(("unit", "process"), [("p2c-web.service", "web"), ("p2c-worker@.service", "worker"),
                                               ("p2c-beat.service", "beat")])
def test_the_systemd_units_run_the_same_processes_as_a_dedicated_user(unit, process):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(ROOT / "deploy" / "systemd" / unit)
    service = parser["Service"]
    command = service["ExecStart"]
    if command.startswith("/bin/sh -c "):
        command = shlex.split(command)[2].removeprefix("exec ")
    assert program(command) == program(procfile()[process])
    assert service["User"] == "p2c"
    assert service["EnvironmentFile"] == "/etc/p2c/p2c.env"
    assert service["Restart"] == "always"
    assert service["NoNewPrivileges"] == "true"
