"""The overview page in a real browser (Debian's headless Chromium): it loads for a logged-in user, shows the runs,
and logs no console errors. CI installs Chromium and sets P2C_REQUIRE_BROWSER, so there a missing browser fails the
test; on a developer's fresh machine without Chromium the test says so and is skipped."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import sync_playwright

from integration.models import RecordStatus, RunStatus
from tests.support import factories

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def session_cookie(transactional_db) -> str:
    """History to show, and a logged-in session for a staff user allowed to see it."""
    project = factories.project()
    factories.run(project, status=RunStatus.WARNING, age=timedelta(days=1),
                  records=[("Accounts", RecordStatus.SUCCEEDED), ("Contacts", RecordStatus.FAILED)])
    factories.run(project, status=RunStatus.SUCCEEDED, records=[("Accounts", RecordStatus.SUCCEEDED)])
    factories.run(project, status=RunStatus.RUNNING,
                  records=[("Accounts", RecordStatus.SUCCEEDED), ("Accounts", RecordStatus.PENDING)])
    client = Client()
    client.force_login(factories.user("browser", perms=factories.ALL))
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_the_overview_loads_shows_the_runs_and_logs_no_console_errors(session_cookie, live_server, tmp_path):
    if not CHROMIUM.exists():
        message = "Chromium is missing: apt-get install -y chromium (.ci/run does this)"
        if os.environ.get("P2C_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        context = browser.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie,
                              "url": live_server.url}])
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        response = page.goto(f"{live_server.url}/admin/overview/")
        page.wait_for_load_state("networkidle")
        status, title = response.status, page.title()
        runs = page.locator(".p2c-run").count()
        running = page.locator(".p2c-active").inner_text()
        bars = page.locator(".p2c-chart rect.bar").count()
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
        browser.close()
    assert (status, title) == (200, "Project overview | p2c")
    assert runs == 3
    assert "1 / 2" in running
    assert bars == 1
    assert problems == []
