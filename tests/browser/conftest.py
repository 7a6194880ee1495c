"""Fixtures of the browser test: Debian's chromium through the playwright package, the app on 127.0.0.1.

No browser is downloaded: playwright launches /usr/bin/chromium (``apt-get install -y chromium``).
Without it the browser tests are skipped, unless CI=true, where a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TEXTURECMP_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]
#: Screenshots go to out/ (ignored by git).
SCREENSHOTS = REPO / "out" / "browser"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _need(cond: bool, why: str) -> None:
    if cond:
        return
    if _in_ci():
        pytest.fail(f"{why} (CI=true: the browser test must run; see .ci/run)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    _need(Path(CHROMIUM).exists(), f"{CHROMIUM} not found: install it with 'apt-get install -y chromium'")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _need(False, "the playwright Python package is not installed")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(chromium_path):
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port", str(port),
           "--server.headless", "true", "--server.address", "127.0.0.1"]
    log = open(REPO / "out" / "browser-app.log", "w") if (REPO / "out").is_dir() else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start (exit code {proc.poll()})")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log is not subprocess.DEVNULL:
            log.close()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh 1280-px-wide page on the app; every request URL is recorded in ``page.requests``."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = ctx.new_page()
    pg.requests = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.set_default_timeout(60_000)
    pg.goto(app_url)
    pg.get_by_role("button", name="Try the sample images").wait_for()
    yield pg
    ctx.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
