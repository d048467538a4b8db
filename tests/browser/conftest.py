"""A real server (threaded WSGI, CSRF on, SQLite file), the provider simulator and Chromium."""

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, build_app
from webapp.extensions import db
from webapp.simulator import start_simulator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser_simulator():
    handle = start_simulator("127.0.0.1", 0)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app served over HTTP on 127.0.0.1 with CSRF enabled and an administrator."""
    folder = tmp_path_factory.mktemp("live")
    app = build_app(f"sqlite:///{folder / 'browser.sqlite3'}", folder / "instance",
                    WTF_CSRF_ENABLED=True, TESTING=False)
    with app.app_context():
        from webapp.services.accounts import create_admin

        db.create_all()
        create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    server.app = app
    yield server
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(chromium, live_server):
    """One signed-in browser tab shared by a module's steps (they build on each other)."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1400,
                                                                       "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors = []
    tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
    tab.console_errors = errors
    tab.goto("/login")
    tab.fill("input[name=email]", ADMIN_EMAIL)
    tab.fill("input[name=password]", ADMIN_PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(live_server.url + "/")
    yield tab
    context.close()


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name):
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
