"""`scoot console` in a real headless Firefox (Debian's ESR, over WebDriver BiDi): the
page's essentials, on the example shop applied on the local driver. Chromium runs the
whole journey (tests/console/test_console_browser.py); this file holds Firefox to the same
page: refused without the token, it loads with it, shows every object with its status,
opens an object's panel and streams its log, follows a killed process without a reload,
and logs no error.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.console.firefox import Firefox
from tests.console.harness import SECRET, pid_of
from tests.runtime.test_cli_runtime import get, url_of

# Never skipped: without Debian's firefox-esr (`.ci/run` installs it) or websockets (the
# test extras) this fails, saying which is missing.
pytestmark = pytest.mark.slow


def picture_of(base: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(base + "/api/picture?since=-1", headers={"X-Scoot-Token": token})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
    picture = answer["picture"]
    assert isinstance(picture, dict)
    return picture


def node(address: str, status: str = "") -> str:
    """A JavaScript expression: the picture's node of `address` (with that status)."""
    selector = f'.node[data-address="{address}"]' + (f'[data-status="{status}"]' if status else "")
    return f"document.querySelector({json.dumps(selector)})"


def test_the_console_works_in_firefox(shop: tuple[Path, str], console: str, tmp_path: Path) -> None:
    app, _ = shop
    base, token = console.split("/?token=")
    objects = picture_of(base, token)["objects"]
    assert isinstance(objects, list)
    addresses = sorted(str(entry["address"]) for entry in objects)
    assert addresses == ["api.orders", "api.web", "worker.jobs"], addresses

    with Firefox(tmp_path / "firefox-profile") as firefox:
        # Without the token, the address shows no page, only what to open instead.
        firefox.navigate(base + "/")
        assert "no or wrong token" in firefox.evaluate("document.body.textContent")
        assert firefox.evaluate("document.getElementById('graph')") is None

        # Loaded with the token: every object, with what the driver observes.
        firefox.navigate(console)
        for address in addresses:
            firefox.wait_for(node(address, "running"))
        shown = firefox.evaluate("[...document.querySelectorAll('.node')].map((n) => [n.dataset.address, n.dataset.status])")
        assert sorted(shown) == [[address, "running"] for address in addresses], shown
        assert firefox.evaluate("document.querySelectorAll('.edge.connection').length") == 2
        assert firefox.evaluate("document.getElementById('error').hidden") is True

        # The page's requests carry the token in a header; without it the server refuses.
        assert firefox.evaluate("fetch('/api/picture?since=-1').then((r) => r.status)") == 401
        with_token = f"fetch('/api/picture?since=-1', {{headers: {{'X-Scoot-Token': {json.dumps(token)}}}}}).then((r) => r.status)"
        assert firefox.evaluate(with_token) == 200

        # An object's panel, opened by a click: its `.sct` line, and its log, streamed.
        firefox.click('.node[data-address="api.web"]')
        firefox.wait_for("document.getElementById('source-link')")
        assert firefox.evaluate("document.getElementById('panel').hidden") is False
        href = firefox.evaluate("document.getElementById('source-link').getAttribute('href')")
        assert href.startswith("vscode://file/") and "architecture.sct:" in href, href
        marker = "firefox-test-" + secrets.token_hex(6)
        with pytest.raises(urllib.error.HTTPError):  # the shop logs each request's path
            get(f"{url_of(app, 'api.web')}/{marker}?token={SECRET}")
        firefox.wait_for(f"document.getElementById('log').textContent.includes({json.dumps(marker)})", timeout=15)
        log = firefox.evaluate("document.getElementById('log').textContent")
        assert SECRET not in log and "***" in log, log

        # Killed behind Scoot's back: missing, without a reload (the page's own mark stays).
        firefox.evaluate("window.scootTestMark = 'not reloaded'")
        os.kill(pid_of(app, "api.web"), signal.SIGKILL)
        firefox.wait_for(node("api.web", "missing"), timeout=10)
        assert firefox.evaluate("window.scootTestMark") == "not reloaded"
        assert firefox.evaluate(f"{node('api.web')}.dataset.action") == "create"

        assert firefox.errors == [], "the page logged errors in Firefox:\n" + "\n".join(firefox.errors)
