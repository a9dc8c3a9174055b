"""Whole-system tests of `scoot apply` on the local driver: crashes, two applies at
once, a damaged lock file, and secrets that must not leak. Real processes, the
real CLI, run as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port

pytestmark = pytest.mark.slow

SECRET = "tok-5f1c9a7e-do-not-leak"

SERVER = '''
import http.server, os, sys, time
time.sleep(float(os.environ.get("START_DELAY", "0")))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("ok " + os.environ.get("GREETING", "")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
'''


def architecture(port: int, greeting: str = "hello", delay: float = 0.0) -> str:
    return f'''
application crashy {{ owner = "acme" }}

component api {{
  source = "./app"

  compute web {{
    command = ["{sys.executable}", "server.py"]
    port    = {port}
    health  = "/"
    env = {{
      GREETING    = "{greeting}"
      START_DELAY = "{delay}"
      TOKEN       = secret("CRASHY_TOKEN")
    }}
  }}

  compute second {{
    command = ["{sys.executable}", "server.py"]
    port    = {port + 1}
    env     = {{ UPSTREAM = web.url, START_DELAY = "{delay}" }}
  }}

  storage db {{ engine = "sqlite" }}

  connection web_db {{ from = web, to = db }}
}}
'''


def scoot(app: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRASHY_TOKEN": SECRET}
    return subprocess.run(
        [sys.executable, "-m", "scoot_cli", *args, str(app)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start_scoot(app: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CRASHY_TOKEN": SECRET}
    return subprocess.Popen(
        [sys.executable, "-m", "scoot_cli", *args, str(app)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def marked_processes(prefix: str = "") -> dict[int, str]:
    """Every live process carrying a Scoot marker (SCOOT_OBJECT), by pid."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            continue
        for item in environ:
            if item.startswith(b"SCOOT_OBJECT="):
                marker = item.split(b"=", 1)[1].decode()
                if marker.startswith(prefix):
                    found[int(entry.name)] = marker
    return found


def owner(app: Path) -> str:
    """The marker prefix of the processes `app` started on target `local`."""
    token = json.loads((app / ".scoots" / "local" / "owner.json").read_text())["token"]
    return f"{token}/local/"


def recorded_markers(app: Path) -> list[str]:
    """The marker of every replica scoot.lock records (it records no pid: a replica's process
    is the one that carries its marker), sorted."""
    data = json.loads((app / "scoot.lock").read_text())
    return sorted(
        f"{owner(app)}{address}/{replica}"
        for address, state in data["targets"]["local"]["objects"].items()
        for replica in state.get("identity", {}).get("replicas", [])
    )


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "crashy"
    (root / "app").mkdir(parents=True)
    (root / "app" / "server.py").write_text(SERVER)
    yield root
    scoot(root, "destroy", "--yes", "--delete-data")
    # A safety net, so that a failing test leaves nothing running.
    if (root / ".scoots" / "local" / "owner.json").exists():
        for pid in marked_processes(owner(root)):
            os.kill(pid, signal.SIGKILL)


def test_sigkill_at_many_points_then_apply_converges(app: Path) -> None:
    port = free_port(2)  # `second` listens on port + 1
    (app / "architecture.sct").write_text(architecture(port, delay=0.3))
    for delay in (0.05, 0.2, 0.4, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0):
        (app / "architecture.sct").write_text(architecture(port, greeting=f"g{delay}", delay=0.3))
        run = start_scoot(app, "apply", "--yes")
        time.sleep(delay)
        run.send_signal(signal.SIGKILL)
        run.wait()
        if (app / "scoot.lock").exists():
            json.loads((app / "scoot.lock").read_text())  # always readable
        result = scoot(app, "apply", "--yes")
        assert result.returncode == 0, result.stdout + result.stderr
        assert get(f"http://127.0.0.1:{port}/") == f"ok g{delay}"
        # Every process Scoot started is one the state knows: no orphan.
        live = sorted(marked_processes(owner(app)).values())
        assert live == recorded_markers(app), (delay, live, recorded_markers(app))
    plan = scoot(app, "plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_a_second_apply_at_once_is_refused_naming_the_holder(app: Path) -> None:
    (app / "architecture.sct").write_text(architecture(free_port(2), delay=2.0))
    first = start_scoot(app, "apply", "--yes")
    try:
        deadline = time.monotonic() + 20
        while not (app / ".scoots" / "locks" / "local.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        second = scoot(app, "apply", "--yes")
        assert second.returncode == 1
        assert f"pid {first.pid}" in second.stderr + second.stdout
    finally:
        first.wait(timeout=60)
    assert first.returncode == 0


def test_a_damaged_lock_file_is_refused_and_left_alone(app: Path) -> None:
    (app / "architecture.sct").write_text(architecture(free_port(2)))
    assert scoot(app, "apply", "--yes").returncode == 0
    lock = app / "scoot.lock"
    damaged = lock.read_text().replace('"serial": ', '"serial": 1', 1)
    lock.write_text(damaged)
    for command in ("plan", "apply"):
        result = scoot(app, command, *(["--yes"] if command == "apply" else []))
        assert result.returncode == 1
        assert "scoot.lock" in result.stderr
        assert lock.read_text() == damaged  # never overwritten
    lock.write_text(damaged.replace('"serial": 1', '"serial": ', 1))


def test_a_secret_is_never_written_or_printed(app: Path) -> None:
    (app / "architecture.sct").write_text(architecture(free_port(2)))
    outputs = []
    for args in (["plan"], ["apply", "--yes"], ["plan", "--json"], ["status"], ["refresh"], ["graph"]):
        result = scoot(app, *args)
        outputs.append(result.stdout + result.stderr)
    outputs.append(scoot(app, "compile").stdout)
    for text in outputs:
        assert SECRET not in text
    for path in app.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    # The process got it: that is what a secret is for.
    pids = marked_processes(owner(app))
    assert any(SECRET.encode() in Path(f"/proc/{pid}/environ").read_bytes() for pid in pids)
