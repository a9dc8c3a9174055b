"""A real headless Firefox (Debian's `firefox-esr`, which `.ci/run` installs), driven over
WebDriver BiDi, the W3C protocol Firefox speaks itself on `--remote-debugging-port`.

Why this small client rather than a library: Playwright's Firefox is a patched build
downloaded from a CDN this machine cannot reach, and its BiDi channel (`moz-firefox`)
sends commands ESR does not know (`emulation.setMediaFeaturesOverride`); Selenium needs
geckodriver, which neither apt nor PyPI ship. The client covers what the console tests
need: navigate, evaluate, wait for a condition inside the page, click with real pointer
input, and collect the page's console errors and uncaught exceptions.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

FIREFOX = Path("/usr/bin/firefox-esr")

# A quiet profile: no first-run pages, no updates, and no calls to Mozilla's services
# (this machine reaches none, and a test browser has no business calling out).
PREFS: dict[str, object] = {
    "app.normandy.enabled": False,
    "app.update.auto": False,
    "app.update.checkInstallTime": False,
    "app.update.disabledForTesting": True,
    "browser.aboutwelcome.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.search.update": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "browser.tabs.warnOnClose": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.update.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.predictor.enabled": False,
    "network.prefetch-next": False,
    "services.settings.server": "data:,",
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "toolkit.telemetry.server": "",
}

LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")


class BidiError(AssertionError):
    """Firefox answered a command with an error, or not in time."""


class Firefox:
    """Headless Firefox with one tab, its profile in `profile`; use it as a context manager."""

    def __init__(self, profile: Path, width: int = 1200, height: int = 640) -> None:
        self.errors: list[str] = []  # console.error calls and uncaught exceptions, in order
        self._said: deque[str] = deque(maxlen=40)  # Firefox's last words, for a failure's message
        self._next = 0
        self._open = contextlib.ExitStack()  # the WebSocket, once connected
        assert FIREFOX.exists(), f"Debian's Firefox ESR is not installed at {FIREFOX}: `apt-get install firefox-esr` (.ci/run does)"
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "user.js").write_text(
            "".join(f"user_pref({json.dumps(name)}, {json.dumps(value)});\n" for name, value in PREFS.items())
        )
        self._process = subprocess.Popen(
            [str(FIREFOX), "--headless", "--no-remote", "--profile", str(profile), "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            self._socket = self._open.enter_context(connect(self._address() + "/session", max_size=None, open_timeout=30))
            self.send("session.new", {"capabilities": {}})
            self.send("session.subscribe", {"events": ["log.entryAdded"]})
            self._context: str = self.send("browsingContext.getTree", {})["contexts"][0]["context"]
            self.send("browsingContext.setViewport", {"context": self._context, "viewport": {"width": width, "height": height}})
        except BaseException:
            self.close()
            raise

    def _address(self) -> str:
        """The WebSocket address Firefox prints once it listens (it picks the port itself)."""
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:  # keeps draining stderr for the browser's whole life
            assert self._process.stderr is not None
            for line in self._process.stderr:
                self._said.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + 60
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            found = LISTENING.search(line)
            if found:
                return found.group(1)
        raise AssertionError(f"{FIREFOX} did not start WebDriver BiDi; it said:\n{self._last_words()}")

    def _last_words(self) -> str:
        return "".join(self._said)

    def send(self, method: str, params: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        """Send one command; return its result, noting the events that arrive meanwhile."""
        self._next += 1
        number = self._next
        self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BidiError(f"Firefox did not answer {method} within {timeout:.0f} s")
            try:
                message = json.loads(self._socket.recv(timeout=left))
            except TimeoutError:
                continue
            except ConnectionClosed:
                raise BidiError(f"Firefox closed the connection during {method}; it said:\n{self._last_words()}") from None
            if message.get("type") == "event":
                self._note(message)
            elif message.get("id") == number:
                if message.get("type") == "error":
                    raise BidiError(f"{method}: {message.get('error')}: {message.get('message')}")
                result: dict[str, Any] = message["result"]
                return result

    def _note(self, event: dict[str, Any]) -> None:
        entry = event.get("params", {})
        if event.get("method") == "log.entryAdded" and entry.get("level") == "error":
            frames = entry.get("stackTrace", {}).get("callFrames", [])
            where = f" at {frames[0]['url'].split('?')[0]}:{frames[0]['lineNumber']}" if frames else ""  # no token
            self.errors.append(f"{entry.get('type')}: {entry.get('text')}{where}")

    def navigate(self, url: str) -> None:
        self.send("browsingContext.navigate", {"context": self._context, "url": url, "wait": "complete"})

    def _evaluate(self, expression: str, timeout: float = 60) -> dict[str, Any]:
        answer = self.send(
            "script.evaluate",
            {"expression": expression, "target": {"context": self._context}, "awaitPromise": True, "resultOwnership": "none"},
            timeout,
        )
        if answer["type"] == "exception":
            raise BidiError(f"{expression!r} threw: {answer['exceptionDetails']['text']}")
        value: dict[str, Any] = answer["result"]
        return value

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited), through JSON."""
        value = self._evaluate(f"Promise.resolve({expression}).then((value) => JSON.stringify(value) ?? null)")
        return None if value["type"] == "null" else json.loads(value["value"])

    def wait_for(self, condition: str, timeout: float = 20) -> None:
        """Wait until a JavaScript expression is truthy in the page, checked there every
        50 ms (so the page's own timers and requests go on meanwhile)."""
        milliseconds = int(timeout * 1000)
        met = self._evaluate(
            "new Promise((resolve) => { const start = performance.now(); const check = () => {"
            f" let met = false; try {{ met = Boolean({condition}); }} catch (error) {{}}"
            f" if (met) resolve(true); else if (performance.now() - start > {milliseconds}) resolve(false);"
            " else setTimeout(check, 50); }; check(); })",
            timeout + 30,
        )
        if not met.get("value"):
            raise AssertionError(f"not within {timeout:.0f} s in Firefox: {condition}")

    def click(self, selector: str) -> None:
        """A real mouse click (pointer input, as a person's) in the middle of the element."""
        self.wait_for(f"document.querySelector({json.dumps(selector)})")
        node = self._evaluate(
            f"(() => {{ const node = document.querySelector({json.dumps(selector)});"
            " node.scrollIntoView({block: 'center', inline: 'center'}); return node; })()"
        )
        origin = {"type": "element", "element": {"sharedId": node["sharedId"]}}
        mouse = [
            {"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]
        self.send("input.performActions", {
            "context": self._context,
            "actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": mouse}],
        })

    def close(self) -> None:
        if hasattr(self, "_socket"):
            with contextlib.suppress(Exception):  # Firefox may drop the connection before it answers
                self.send("browser.close", {}, timeout=10)
        self._open.close()
        try:
            self._process.wait(15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(15)

    def __enter__(self) -> Firefox:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()
