"""`scoot console` end to end: the real command serving the example shop applied on the
local driver, driven by a real headless Chromium (Debian's, through Playwright).

With SCOOT_UPDATE_SCREENSHOTS=1 the run writes docs/console/*.png, which docs/console.md shows.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.ports import free_port
from tests.runtime.test_cli_runtime import (
    ROOT,
    app_processes,
    get,
    kill_leftovers,
    scoot,
    url_of,
    wait_until_gone,
)

CHROMIUM = Path("/usr/bin/chromium")
SECRET = "shop-admin-" + secrets.token_hex(12)
SCREENSHOTS = ROOT / "docs" / "console"
ENV = {"SHOP_ADMIN_TOKEN": SECRET}

# Never skipped: without Debian's chromium (`.ci/run` installs it) or playwright (the
# test extras) these tests fail, saying which is missing.
pytestmark = pytest.mark.slow


def pid_of(app: Path, address: str) -> int:
    """The process the local driver runs for `address`, found by its SCOOT_OBJECT marker."""
    for pid, _ in app_processes(app):
        items = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        marker = next((item.decode() for item in items if item.startswith(b"SCOOT_OBJECT=")), "")
        if marker.split("/")[2:3] == [address]:
            return pid
    raise AssertionError(f"no process of {address}")


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """The example shop applied on the local driver: its folder and its `--param`;
    destroyed at teardown, and any process left killed."""
    monkeypatch.setenv("SHOP_ADMIN_TOKEN", SECRET)
    app = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", app)
    param = f"api_port={free_port()}"
    applied = scoot("apply", "--yes", "--param", param, str(app))
    assert applied.exit_code == 0, applied.output
    try:
        yield app, param
    finally:
        pids = app_processes(app)
        scoot("destroy", "--yes", "--param", param, str(app))
        wait_until_gone(pids, 5)
        kill_leftovers(app, pids)


@contextlib.contextmanager
def running_console(app: Path, *options: str) -> Iterator[str]:
    """`scoot console` running on `app`: the address it printed."""
    environment = {**os.environ, **ENV, "PYTHONUNBUFFERED": "1"}
    environment["PYTHONPATH"] = str(ROOT) + os.pathsep + environment.get("PYTHONPATH", "")
    process = subprocess.Popen(
        [sys.executable, "-m", "scoot_cli", "console", "--port", "0", *options, str(app)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=environment,
    )
    try:
        assert process.stdout is not None
        said = ""
        for line in process.stdout:  # the command prints the address once it listens
            said += line
            found = re.search(r"http://127\.0\.0\.1:\d+/\?token=[\w-]+", line)
            if found:
                yield found.group(0)
                break
        else:
            raise AssertionError(f"scoot console printed no address:\n{said}")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def console(shop: tuple[Path, str]) -> Iterator[str]:
    """`scoot console` running on the shop: the address it printed."""
    app, param = shop
    with running_console(app, "--param", param) as url:
        yield url


def status_of(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def shoot(page: object, name: str) -> None:
    if os.environ.get("SCOOT_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name))  # type: ignore[attr-defined]


def test_the_console_shows_the_shop_live_streams_its_log_and_applies_its_plan(
    shop: tuple[Path, str], console: str
) -> None:
    app, _ = shop
    base, token = console.split("/?token=")
    bodies: list[tuple[str, bytes]] = []
    assert CHROMIUM.exists(), "Debian's chromium is not installed: `apt-get install chromium` (.ci/run does)"
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 640})
        responses: list[object] = []
        page.on("response", lambda response: responses.append(response))
        page.goto(console)

        # The picture: every object, with what the driver observes.
        for address in ("api.web", "api.orders", "worker.jobs"):
            page.wait_for_selector(f'.node[data-address="{address}"][data-status="running"]', timeout=20_000)
        assert page.locator(".edge.connection").count() == 2
        shoot(page, "picture.png")

        # An object's panel: its `.sct` line, and its log, streamed.
        page.click('.node[data-address="api.web"]')
        link = page.wait_for_selector("#source-link")
        assert link is not None
        href = link.get_attribute("href") or ""
        assert href.startswith("vscode://file/") and href.endswith("architecture.sct:21"), href
        assert "api_port" not in (page.text_content("#panel-body") or "")  # folded: its value shows
        assert '${secret(\\"SHOP_ADMIN_TOKEN\\")}' in (page.text_content("#panel-body") or "") or (
            'secret("SHOP_ADMIN_TOKEN")' in (page.text_content("#panel-body") or "")
        )
        marker = "console-test-" + secrets.token_hex(6)
        # The shop logs each request's path: this one carries the secret's value too.
        with pytest.raises(urllib.error.HTTPError):
            get(f"{url_of(app, 'api.web')}/{marker}?token={SECRET}")
        page.wait_for_function(
            "marker => document.querySelector('#log').textContent.includes(marker)", arg=marker, timeout=15_000
        )
        log = page.text_content("#log") or ""
        assert SECRET not in log and "***" in log, log
        shoot(page, "object.png")

        # Killed behind Scoot's back: missing, without a reload.
        os.kill(pid_of(app, "api.web"), signal.SIGKILL)
        page.wait_for_selector('.node[data-address="api.web"][data-status="missing"]', timeout=10_000)
        assert page.locator('.node[data-address="api.web"]').get_attribute("data-action") == "create"

        # The plan, then its apply, confirmed, with per-object progress: repaired.
        page.click("#plan-button")
        page.wait_for_selector('#changes .change[data-address="api.web"][data-action="create"]', timeout=20_000)
        # Each change with the `.sct` line `scoot plan` shows beside it, opening the editor there.
        change_link = page.get_attribute('#changes .change[data-address="api.web"] a.change-source', "href") or ""
        assert change_link.startswith("vscode://file/") and change_link.endswith("architecture.sct:21"), change_link
        shoot(page, "plan.png")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#apply-button")
        result = page.wait_for_selector("#apply-result", timeout=60_000)
        assert result is not None and result.get_attribute("data-state") == "done", result.text_content()
        assert page.locator('#progress [data-address="api.web"][data-status="done"]').count() == 1
        page.wait_for_selector('.node[data-address="api.web"][data-status="running"]', timeout=20_000)
        assert get(url_of(app, "api.web") + "/healthz")

        for response in responses:
            kind = response.headers.get("content-type", "")  # type: ignore[attr-defined]
            if "event-stream" not in kind:
                bodies.append((response.url, response.body()))  # type: ignore[attr-defined]
        bodies.append(("#log", log.encode()))
        browser.close()

    # Without the token, or with another, or for another Host: refused.
    assert status_of(base + "/") == 401
    assert status_of(base + "/?token=wrong") == 401
    assert status_of(base + "/api/picture") == 401
    assert status_of(base + "/api/picture?token=" + token) == 401  # the API takes it in the header only
    assert status_of(base + "/api/plan", "POST") == 401
    assert status_of(base + "/api/plan", "POST", {"X-Scoot-Token": "wrong"}) == 401
    assert status_of(base + "/api/picture", headers={"X-Scoot-Token": token, "Host": "evil.example:80"}) == 403
    for path in ("/api/picture?since=-1", "/api/object?address=api.web", "/api/job"):
        request = urllib.request.Request(base + path, headers={"X-Scoot-Token": token})
        with urllib.request.urlopen(request, timeout=30) as response:
            bodies.append((path, response.read()))

    assert len(bodies) > 5
    for url, body in bodies:
        assert SECRET.encode() not in body, url
