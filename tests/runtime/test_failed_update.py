"""A failed update never takes the healthy old version down: through the CLI, on real processes.

The application is test_cli_runtime's: a standard-library HTTP server on a port, with
its SQLite storage. It is updated to a program that does not exist, then to one that
starts and never answers its health check: both times the old server answers before
and after, scoot.lock and `scoot status` say the old version runs, the apply exits 1
saying so, and the next plan plans the update again. A correct update then succeeds.
"""

from __future__ import annotations

import json
import sys
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.runtime.test_cli_runtime import (
    app_processes,
    get,
    kill_leftovers,
    make_app,
    recorded,
    scoot,
    url_of,
    wait_until_gone,
)

KEPT = "app.web: the new version failed to start ("
STILL_RUNNING = "): the previous version is still running"


@pytest.fixture
def running_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The application, applied and answering; destroyed at teardown, any process left killed."""
    app = make_app(tmp_path / "tiny", free_port())
    monkeypatch.chdir(app)
    pids: list[tuple[int, int | None]] = []
    try:
        result = scoot("apply", "--yes", str(app))
        pids = app_processes(app)
        assert result.exit_code == 0, result.output
        yield app
    finally:
        pids = list({*pids, *app_processes(app)})
        scoot("destroy", "--yes", str(app))
        wait_until_gone(pids, 5)
        kill_leftovers(app, pids)


def set_command(app: Path, *command: str) -> None:
    """Give app.web another `command`."""
    sct = app / "architecture.sct"
    lines = sct.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if line.lstrip().startswith("command = "))
    lines[at] = f"    command = {json.dumps(list(command))}\n"
    sct.write_text("".join(lines), encoding="utf-8")


def assert_the_old_version_serves(app: Path, before: dict[str, object], url: str, output: str) -> None:
    """After a failed update: the old server answers, scoot.lock records it, status agrees,
    the Outputs name its URL, and the next plan plans the update again."""
    assert get(url + "/healthz") == "ok\n"
    assert recorded(app)["app.web"] == before
    status = json.loads(scoot("status", "--json", str(app)).stdout)
    assert {o["address"]: o["observed"] for o in status["objects"]} == {"app.db": "ok", "app.web": "ok"}
    assert "Outputs:" in output and f"app.web  {url}" in output
    plan = scoot("plan", "--detailed-exitcode", str(app))
    assert plan.exit_code == 2, plan.output
    assert "~ app.web (compute) will be updated in place" in plan.output


@pytest.mark.slow
def test_an_update_to_a_missing_program_keeps_the_old_version_serving(running_app: Path) -> None:
    app = running_app
    url, before = url_of(app), recorded(app)["app.web"]
    assert get(url + "/healthz") == "ok\n"
    set_command(app, "scoot-no-such-program")
    result = scoot("apply", "--yes", str(app))
    assert result.exit_code == 1, result.output
    assert KEPT in result.output and STILL_RUNNING in result.output, result.output
    assert "cannot start `scoot-no-such-program`" in result.output
    assert "Traceback" not in result.output
    assert_the_old_version_serves(app, before, url, result.output)


@pytest.mark.slow
def test_an_update_that_never_becomes_healthy_keeps_the_old_version_then_a_good_one_applies(
    running_app: Path,
) -> None:
    app = running_app
    url, before = url_of(app), recorded(app)["app.web"]
    # A short wait for health, set only now: the first start had the default.
    toml = app / "scoot.toml"
    toml.write_text(toml.read_text() + "\n[targets.local]\nhealth_timeout = 1\n", encoding="utf-8")
    # It starts, and never answers on its port.
    set_command(app, sys.executable, "-c", "import time; time.sleep(600)")
    result = scoot("apply", "--yes", str(app))
    assert result.exit_code == 1, result.output
    assert KEPT in result.output and STILL_RUNNING in result.output, result.output
    assert "was not healthy within 1 s" in result.output
    assert_the_old_version_serves(app, before, url, result.output)

    # A correct update, on another port: it starts beside the old one, which then stops.
    set_command(app, sys.executable, "-u", "server.py")
    port = free_port()
    toml.write_text(toml.read_text().replace("port = ", f"port = {port}\n# was "), encoding="utf-8")
    good = scoot("apply", "--yes", str(app))
    assert good.exit_code == 0, good.output
    assert url_of(app) == f"http://127.0.0.1:{port}" and url_of(app) in good.output
    assert get(url_of(app) + "/healthz") == "ok\n"
    with pytest.raises(urllib.error.URLError):
        get(url + "/healthz")
    assert recorded(app)["app.web"]["config"]["command"][-1] == "server.py"
    assert scoot("plan", "--detailed-exitcode", str(app)).exit_code == 0
