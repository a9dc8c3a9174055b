"""What the console's tests share: the browsers' paths, the shop's secret, `scoot console`
run as a real process, and the screenshots docs/console.md shows."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Page

from tests.runtime.test_cli_runtime import ROOT, app_processes

CHROMIUM = Path("/usr/bin/chromium")
SECRET = "shop-admin-" + secrets.token_hex(12)
SCREENSHOTS = ROOT / "docs" / "console"
ENV = {"SHOP_ADMIN_TOKEN": SECRET}


def pid_of(app: Path, address: str) -> int:
    """The process the local driver runs for `address`, found by its SCOOT_OBJECT marker."""
    for pid, _ in app_processes(app):
        items = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        marker = next((item.decode() for item in items if item.startswith(b"SCOOT_OBJECT=")), "")
        if marker.split("/")[2:3] == [address]:
            return pid
    raise AssertionError(f"no process of {address}")


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


def status_of(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def shoot(page: Page, name: str) -> None:
    if os.environ.get("SCOOT_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name))
