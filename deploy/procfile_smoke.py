"""The Procfile, run as production runs it: proof for CI that the deployment kit works where no container can.

On PostgreSQL (its own database, p2c_smoke) and the Redis service (its own key prefix), with DEBUG off and the
production settings, it collects the static files, runs the Procfile's release, web, worker and beat lines as
they are written (through `sh -c`, as honcho and foreman do), waits for /readyz, makes connections to the two
emulators and a project with `load_template`, runs a full sync through the REST API, and checks that the admin's
static files load and that /metrics counted the sync. Every process it starts is stopped, the database dropped
and the Redis keys deleted, whatever happens.

    .venv/bin/python deploy/procfile_smoke.py [--database-url postgres://postgres@127.0.0.1:5432/postgres]
                                              [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from connectors.emulators import start as start_emulator  # noqa: E402 - after the path is set

DATABASE = "p2c_smoke"
PROJECT = "smoke"
STARTED = time.monotonic()


class SmokeFailed(Exception):
    pass


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {text}", flush=True)


def procfile() -> dict[str, str]:
    lines = (BASE_DIR / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    """The Procfile's processes, each in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: str) -> None:
        with open(self.log_dir / f"{name}.log", "wb") as log:
            # `exec`: the shell expands the line's variables and becomes the process, which this script reaps.
            process = subprocess.Popen(["sh", "-c", f"exec {command}"], cwd=BASE_DIR, env=self.env, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.started.append((name, process))
        say(f"started {name} (pid {process.pid}): {command.strip()}")

    def run(self, name: str, command: list[str] | str, timeout: float = 180) -> str:
        """A one-off command (release, collectstatic, manage.py), to completion; its output."""
        args = ["sh", "-c", command] if isinstance(command, str) else command
        done = subprocess.run(args, cwd=BASE_DIR, env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=False)
        if done.returncode:
            raise SmokeFailed(f"{name} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def check_alive(self) -> None:
        for name, process in self.started:
            if process.poll() is not None:
                raise SmokeFailed(f"{name} exited with {process.returncode}")

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for name, process in reversed(self.started):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop on SIGTERM; killing it")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def logs(self) -> str:
        return "\n".join(f"----- {path.name} (last lines)\n" + path.read_text(errors="replace")[-3000:]
                         for path in sorted(self.log_dir.glob("*.log")))


def wait_for(what: str, predicate, *, timeout: float, processes: Processes):
    deadline = time.monotonic() + timeout
    while True:
        processes.check_alive()
        result = predicate()
        if result:
            say(f"ok: {what}")
            return result
        if time.monotonic() > deadline:
            raise SmokeFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


def get(url: str, **kwargs) -> requests.Response | None:
    try:
        return requests.get(url, timeout=10, **kwargs)
    except requests.RequestException:
        return None


def database_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(admin_url: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        if not drop_only:
            connection.execute(f"CREATE DATABASE {DATABASE}")


def production_env(args, var_dir: Path, port: int, key_prefix: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("P2C_", "DJANGO_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",  # gunicorn and celery of this environment
        PYTHONUNBUFFERED="1",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        P2C_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url(args.database_url, DATABASE),
        REDIS_URL=args.redis_url,
        REDIS_KEY_PREFIX=key_prefix,
        P2C_VAR_DIR=str(var_dir),
        P2C_STATIC_ROOT=str(var_dir / "static"),
        # The emulators serve their token endpoints on loopback, which DEBUG off allows only when named.
        P2C_AUTHORITY_HOSTS="127.0.0.1",
        P2C_METRICS_TOKEN=secrets.token_urlsafe(32),
        PORT=str(port),
        WEB_CONCURRENCY="2",
        P2C_WORKER_CONCURRENCY="4",
        # Plain http on loopback: no TLS proxy in front.
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
    )
    return env


def emulators(var_dir: Path) -> tuple:
    cert = var_dir / "emulator-cert.pem"  # in P2C_VAR_DIR, the directory connections may take a CA file from
    dataverse, finops = start_emulator("dataverse", cert_path=cert), start_emulator("finops", cert_path=cert)
    session = requests.Session()
    session.trust_env = False
    session.verify = str(cert)
    session.post(f"{finops.origin}/_emulator/seed", json={"SellableReleasedProducts": 8, "seed": 3},
                 timeout=60).raise_for_status()
    session.post(f"{dataverse.origin}/_emulator/seed", json={"accounts": 15, "contacts": 15, "quotes": 5, "seed": 3},
                 timeout=60).raise_for_status()
    say(f"emulators: Dataverse at {dataverse.origin}, F&O at {finops.origin}, seeded")
    return dataverse, finops, cert


CONNECTIONS = """
from integration.models import Connection
for name, system, origin in (("smoke-sales", "dataverse", {dataverse!r}), ("smoke-finops", "finops", {finops!r})):
    connection = Connection(name=name, system=system, base_url=origin, authority=origin + "/contoso",
                            client_id="p2c-emulator", client_secret="emulator-secret", ca_bundle={cert!r},
                            default_company="usmf" if system == "finops" else "")
    connection.full_clean()
    connection.save()
"""


def smoke(args, processes: Processes, var_dir: Path, port: int) -> None:
    web = f"http://127.0.0.1:{port}"
    lines = procfile()
    missing = {"release", "web", "worker", "beat"} - set(lines)
    if missing:
        raise SmokeFailed(f"the Procfile has no {', '.join(sorted(missing))} line")

    processes.run("collectstatic", [sys.executable, "manage.py", "collectstatic", "--noinput"])
    say("collectstatic done (the build step of a Procfile platform, and of the Dockerfile)")
    processes.run("release", lines["release"])
    say("release (migrate) done")
    dataverse, finops, cert = emulators(var_dir)
    try:
        processes.run("connections", [sys.executable, "manage.py", "shell", "-c", CONNECTIONS.format(
            dataverse=dataverse.origin, finops=finops.origin, cert=str(cert))])
        say(processes.run("load_template", [sys.executable, "manage.py", "load_template", "prospect_to_cash",
                                            "--project", PROJECT, "--sales-connection", "smoke-sales",
                                            "--finops-connection", "smoke-finops"]).strip())
        processes.run("createsuperuser", [sys.executable, "manage.py", "createsuperuser", "--noinput",
                                          "--username", "smoke", "--email", "smoke@example.com"])
        token = processes.run("create_api_token", [sys.executable, "manage.py", "create_api_token", "smoke",
                                                   "--days", "1"]).strip()

        for name in ("web", "worker", "beat"):
            processes.start(name, lines[name])
        wait_for("/readyz: database, broker and beat", lambda: (r := get(
            f"{web}/readyz?only=database,broker,beat")) is not None and r.status_code == 200, timeout=90,
            processes=processes)

        auth = {"Authorization": f"Token {token}"}
        response = requests.post(f"{web}/api/projects/{PROJECT}/runs/", json={"mode": "full"}, headers=auth,
                                 timeout=30)
        if response.status_code != 202:
            raise SmokeFailed(f"starting the run answered {response.status_code}: {response.text[:1000]}")
        run_url = response.json()["url"]
        say(f"full run started through the API: {run_url}")
        run = wait_for("the run to end", lambda: (r := get(run_url, headers=auth)) is not None and r.json()[
            "status"] not in ("queued", "running") and r.json(), timeout=180, processes=processes)
        if run["status"] != "succeeded" or not run["counts"]["created"]:
            raise SmokeFailed(f"the run ended {run['status']}: {json.dumps(run)[:2000]}")
        say(f"run {run['id']} succeeded: {run['counts']}")

        ready = wait_for("/readyz: every part, workers included", lambda: (r := get(
            f"{web}/readyz")) is not None and r.status_code == 200 and r.json(), timeout=120, processes=processes)
        say(f"readyz: {json.dumps(ready['checks'])}")

        login = get(f"{web}/admin/login/")
        if login is None or login.status_code != 200 or "/static/admin/css/base.css" not in login.text:
            raise SmokeFailed("the admin's login page does not load, or links no stylesheet")
        for path, kind in (("/static/admin/css/base.css", "text/css"), ("/static/admin/js/core.js",
                                                                        "text/javascript")):
            asset = get(f"{web}{path}")
            if asset is None or asset.status_code != 200 or not asset.headers["Content-Type"].startswith(kind):
                status = asset.status_code if asset is not None else "no answer"
                raise SmokeFailed(f"{path}: {status}, {asset.headers.get('Content-Type') if asset else ''}")
        say("the admin's static files load with DEBUG off (WhiteNoise)")

        metrics = get(f"{web}/metrics", headers={"Authorization": f"Bearer {processes.env['P2C_METRICS_TOKEN']}"})
        if metrics is None or metrics.status_code != 200:
            raise SmokeFailed("/metrics does not answer its token")
        requests_made = sum(sample.value for family in text_string_to_metric_families(metrics.text)
                            for sample in family.samples if sample.name == "p2c_api_requests_total"
                            and sample.labels["connection"] == "smoke-sales")
        if not requests_made:
            raise SmokeFailed("/metrics counted no request to Dataverse")
        say(f"/metrics parses and counted {requests_made:.0f} requests to Dataverse (made by the worker)")
        if get(f"{web}/metrics") is None or get(f"{web}/metrics").status_code != 403:
            raise SmokeFailed("/metrics answered without its token")
    finally:
        dataverse.stop()
        finops.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL database to connect to while creating and dropping p2c_smoke")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    key_prefix = f"p2c-smoke-{uuid.uuid4().hex[:8]}:"
    port = free_port()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up on `timeout` too
    with tempfile.TemporaryDirectory(prefix="p2c-smoke-") as tmp:
        var_dir = Path(tmp)
        (var_dir / "logs").mkdir()
        processes = Processes(production_env(args, var_dir, port, key_prefix), var_dir / "logs")
        recreate_database(args.database_url)
        try:
            smoke(args, processes, var_dir, port)
        except (SmokeFailed, requests.RequestException) as exc:
            say(f"FAILED: {exc}")
            print(processes.logs(), flush=True)
            return 1
        finally:
            processes.stop_all()
            recreate_database(args.database_url, drop_only=True)
            client = redis.Redis.from_url(args.redis_url)
            keys = list(client.scan_iter(match=f"{key_prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            say(f"cleaned up: processes stopped, database {DATABASE} dropped, {len(keys)} Redis keys deleted")
    say("OK: the Procfile's processes run p2c in production mode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
