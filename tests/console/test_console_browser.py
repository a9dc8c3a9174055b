"""`scoot console` end to end: the real command serving the example shop applied on the
local driver, driven by a real headless Chromium (Debian's, through Playwright).

With SCOOT_UPDATE_SCREENSHOTS=1 the run writes docs/console/*.png, which docs/console.md shows.
"""

from __future__ import annotations

import os
import secrets
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Response, sync_playwright

from tests.console.harness import CHROMIUM, SECRET, pid_of, shoot, status_of
from tests.runtime.test_cli_runtime import get, url_of

# Never skipped: without Debian's chromium (`.ci/run` installs it) or playwright (the
# test extras) these tests fail, saying which is missing.
pytestmark = pytest.mark.slow


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
        responses: list[Response] = []
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
        # By selector, not wait_for_function: the page's CSP forbids the eval it polls with.
        page.locator("#log", has_text=marker).wait_for(timeout=15_000)
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
            kind = response.headers.get("content-type", "")
            if "event-stream" not in kind:
                bodies.append((response.url, response.body()))
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
