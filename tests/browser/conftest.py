"""Real-browser tests: Debian's Chromium driven by Playwright against a live server.

Never a downloaded browser. Where Chromium cannot run the tests skip loudly — unless
``CLERKSHIP_REQUIRE_BROWSER=1`` (set by .ci/run), where that is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import flask_migrate
import pytest

from clerkship import create_app, demo
from clerkship.extensions import db
from tests.conftest import serving, test_config
from tests.databases import fresh_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LIVE: dict[str, str] = {}  # the live server's database, for workers started by a test


def _cannot_run(reason: str):
    message = f"BROWSER TESTS NOT RUN: {reason}"
    if os.environ.get("CLERKSHIP_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (CLERKSHIP_REQUIRE_BROWSER=1 makes this a failure)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def live_server():
    """The app with CSRF on, on a throw-away database holding a small demo year."""
    with fresh_database("browser") as url:
        LIVE["database_url"] = url
        app = create_app(test_config(url, WTF_CSRF_ENABLED=True))
        with app.app_context():
            flask_migrate.upgrade()
            demo.build_demo_year(students=2)
            db.session.commit()
        try:
            with serving(app) as base:
                # Links in e-mails and QR codes come from BASE_URL only: this server's address.
                app.config["BASE_URL"] = base
                yield base
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


# Package scope: Playwright's sync API keeps an asyncio loop running in this thread while it
# lives, and code that calls asyncio.run() (pyHanko's validator in the PDF tests) refuses to
# run inside it; so it stops when the browser tests are done.
@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists():
        _cannot_run(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _cannot_run("Playwright for Python is not installed (pip install -e '.[dev]')")
    try:
        playwright = sync_playwright().start()
    except Exception as error:  # the driver itself failed to start
        _cannot_run(f"Playwright could not start: {error}")
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as error:
        playwright.stop()
        _cannot_run(f"Chromium could not be launched: {error}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def new_page(browser, live_server):
    """``new_page(width=1280)`` opens a fresh, signed-out browser context."""
    contexts = []

    def make(width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page, base: str, email: str, password: str = demo.DEMO_PASSWORD):
    page.goto(f"{base}/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")


def axe_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
