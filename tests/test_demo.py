"""`manage.py demo --once`, small: it tells the whole story and its summary agrees with what happened."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

from django.conf import settings

from p2c_project import embedded_redis


def test_demo_once_syncs_every_eligible_record_and_reports_exactly_the_bad_ones(tmp_path):
    env = {**os.environ, "DEBUG": "true", "P2C_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": "",
           "REDIS_URL": "", "REDIS_KEY_PREFIX": "", "P2C_TASK_QUEUE": "p2c"}
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "demo", "--once", "--accounts", "120", "--contacts", "120", "--products",
             "40", "--quotes", "25", "--orders", "8", "--port", "0"],
            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300)
    finally:
        embedded_redis.stop(tmp_path / "var")  # the demo stops its own; not when it was killed for taking too long

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    printed_commands_run_as_printed(result.stdout, tmp_path)
    summary = json.loads((tmp_path / "var" / "demo-summary.json").read_text())
    assert summary["ok"] is True
    full = summary["full_run"]
    assert list(full) == ["Products", "Product price list items", "Accounts", "Contacts", "Contacts to customers",
                          "Quotes", "Quote lines", "Sales orders", "Sales order lines", "Sales orders from F&O",
                          "Sales order lines from F&O", "Freight tax lines", "Sales invoices", "Sales invoice lines"]
    bad = {(b["entity_map"], b["source_key"]) for b in summary["bad_records"]}
    assert {name for name, _ in bad} == {"Accounts", "Products"}
    for name, row in full.items():
        bad_here = sum(1 for map_name, _ in bad if map_name == name)
        assert row["failed"] == bad_here
        assert row["created"] + row["updated"] + row["unchanged"] == row["eligible"] - bad_here, name
    incremental = summary["incremental_run"]
    for name, keys in summary["changed"].items():
        assert incremental[name]["created"] + incremental[name]["updated"] == len(keys)
    orders = summary["orders"]
    assert (orders["sales_orders_to_finops"], orders["finops_orders_to_sales"],
            orders["invoices_to_sales"]) == (8, 2, 8)
    to_finops, back, quiet = orders["runs"]
    assert (to_finops["Sales orders"]["created"], to_finops["Sales orders from F&O"]["created"]) == (8, 2)
    assert (back["Sales orders from F&O"]["updated"], back["Freight tax lines"]["created"],
            back["Sales invoices"]["created"]) == (8, 8, 8)
    assert sum(row["created"] + row["updated"] for row in quiet.values()) == 0  # p2c's writes do not come back
    assert "OK: every eligible record was synced" in result.stdout
    assert "the dry run foresaw exactly the changes" in result.stdout


def printed_commands_run_as_printed(stdout: str, tmp_path) -> None:
    """The retry command the demo printed, with its exact prefix (this checkout's Python and manage.py, DEBUG and
    the var directory), works in a shell with nothing set up: no virtualenv active, no variables, another cwd."""
    line = next(line.strip() for line in stdout.splitlines() if "manage.py retry " in line)
    prefix = line[:line.index(" retry ")]
    assert prefix == (f"DEBUG=true P2C_VAR_DIR={shlex.quote(str(tmp_path / 'var'))} P2C_TASK_QUEUE=p2c "
                      f"{shlex.quote(sys.executable)} {shlex.quote(str(settings.BASE_DIR / 'manage.py'))}")
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    exported = subprocess.run(["bash", "-c", f"{prefix} export_project prospect-to-cash"], env=clean,
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert json.loads(exported.stdout)["project"] == "prospect-to-cash"
    token = subprocess.run(["bash", "-c", f"{prefix} create_api_token admin --days 1"], env=clean, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert token.returncode == 0, token.stderr[-2000:]
    assert token.stdout.startswith("p2c_")
