"""Environments through the command line: a target's own params ([targets.NAME.params]),
--param-file and --param over them, each value's source in what plan, apply and status
say, and two local targets of one application folder running side by side."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoot_runtime.drivers.local import processes
from scoot_runtime.drivers.local.paths import owner
from tests.ports import free_port
from tests.runtime.test_cli_runtime import (
    ARCHITECTURE as BASE,
)
from tests.runtime.test_cli_runtime import (
    app_processes,
    get,
    kill_leftovers,
    scoot,
    status_outputs,
    wait_until_gone,
)

# test_cli_runtime's application, with a greeting each target sets.
ARCHITECTURE = BASE.replace(
    "param port: number = 8080\n", 'param port: number = 8080\nparam greeting: string = "hello"\n'
).replace("      PORT      = port\n", "      PORT      = port\n      GREETING  = greeting\n")
assert ARCHITECTURE.count("greeting") == 2

SERVER = """\
import os, sqlite3
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GREETING = os.environ["GREETING"]
print("starting:", GREETING, flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            body = "ok"
        else:
            with sqlite3.connect(os.environ["DATA_PATH"]) as db:
                db.execute("CREATE TABLE IF NOT EXISTS visits (n INTEGER)")
                db.execute("INSERT INTO visits VALUES (1)")
                visits = db.execute("SELECT count(*) FROM visits").fetchone()[0]
            body = f"{GREETING} ({visits})"
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def make_duo(folder: Path, settings: str) -> Path:
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "server.py").write_text(SERVER, encoding="utf-8")
    architecture = ARCHITECTURE.replace("PYTHON", json.dumps(sys.executable))
    (folder / "architecture.sct").write_text(architecture, encoding="utf-8")
    (folder / "scoot.toml").write_text(textwrap.dedent(settings), encoding="utf-8")
    return folder


def still_running(app: Path) -> list[processes.Running]:
    """The live processes marked as this folder's, of any target (whatever scoot.lock says)."""
    token = owner(app / ".scoots")
    return [p for target in ("local", "staging") for p in processes.scan(f"{token}/{target}")]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def duo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, int, int]]:
    """An application with two local targets on two ports; both destroyed at teardown."""
    local_port, staging_port = free_port(), free_port()
    while staging_port == local_port:
        staging_port = free_port()
    folder = make_duo(
        tmp_path / "duo",
        f"""\
        [params]
        port = {local_port}
        greeting = "hello from local"

        [targets.staging]
        cloud = "local"
        health_timeout = 20

        [targets.staging.params]
        port = {staging_port}
        greeting = "hello from staging"
        """,
    )
    monkeypatch.chdir(folder)
    try:
        yield folder, local_port, staging_port
    finally:
        pids = [*app_processes(folder), *app_processes(folder, "staging")]
        for target in ("local", "staging"):
            scoot("destroy", "--yes", "--target", target, str(folder))
        wait_until_gone(pids, 5)
        kill_leftovers(folder, pids)
        for process in still_running(folder):
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGKILL)


@pytest.mark.slow
def test_two_targets_run_side_by_side_with_their_own_values(duo: tuple[Path, int, int]) -> None:
    app, local_port, staging_port = duo
    local = scoot("apply", "--yes", str(app))
    assert local.exit_code == 0, local.output
    assert f'Params: greeting = "hello from local", port = {local_port} (scoot.toml [params])' in local.output
    staging = scoot("apply", "--yes", "--target", "staging", str(app))
    assert staging.exit_code == 0, staging.output
    assert (
        f'Params: greeting = "hello from staging", port = {staging_port} (scoot.toml [targets.staging.params])'
        in staging.output
    )
    # Both answer at once, each with its own values and its own store (a first visit each).
    assert get(f"http://127.0.0.1:{local_port}/") == "hello from local (1)"
    assert get(f"http://127.0.0.1:{staging_port}/") == "hello from staging (1)"
    assert get(f"http://127.0.0.1:{staging_port}/") == "hello from staging (2)"
    assert get(f"http://127.0.0.1:{local_port}/") == "hello from local (2)"
    local_db = Path(status_outputs(app, "app.db")["path"])
    staging_db = Path(status_outputs(app, "app.db", "staging")["path"])
    assert local_db != staging_db and local_db.is_file() and staging_db.is_file()
    # Each target's logs are its own.
    local_logs = scoot("logs", "app.web", str(app))
    staging_logs = scoot("logs", "app.web", "--target", "staging", str(app))
    assert "starting: hello from local" in local_logs.output and "staging" not in local_logs.output
    assert "starting: hello from staging" in staging_logs.output and "from local" not in staging_logs.output
    # A plain plan of each finds nothing to do: the other target's objects are not its own.
    for args in ((), ("--target", "staging")):
        plan = scoot("plan", "--detailed-exitcode", *args, str(app))
        assert plan.exit_code == 0, plan.output
        assert "No changes." in plan.output
    status = scoot("status", "--target", "staging", str(app))
    assert status.exit_code == 0, status.output
    assert "(scoot.toml [targets.staging.params])" in status.output
    assert json.loads(scoot("status", "--json", "--target", "staging", str(app)).stdout)["params"]["port"] == {
        "value": str(staging_port), "source": "scoot.toml [targets.staging.params]", "in_settings": True,
    }

    # A one-off value: the apply says it is not scoot.toml's; a plain plan plans it back.
    once = scoot("apply", "--yes", "--target", "staging", "--param", "greeting=just-once", str(app))
    assert once.exit_code == 0, once.output
    assert (
        "greeting = just-once  (from --param, not scoot.toml: a plain `scoot plan` will plan it back)"
        in once.output
    )
    port_line = f"  port = {staging_port}".ljust(len("  greeting = just-once"))
    assert f"{port_line}  (scoot.toml [targets.staging.params])" in once.output.splitlines()
    assert get(f"http://127.0.0.1:{staging_port}/") == "just-once (3)"
    assert get(f"http://127.0.0.1:{local_port}/") == "hello from local (3)"
    back = scoot("plan", "--detailed-exitcode", "--target", "staging", str(app))
    assert back.exit_code == 2, back.output
    assert "~ app.web (compute) will be updated" in back.output and "just-once" in back.output
    assert "from --param" not in back.output
    untouched = scoot("plan", "--detailed-exitcode", str(app))
    assert untouched.exit_code == 0 and "No changes." in untouched.output

    # Destroying one leaves the other running; destroying both leaves nothing.
    assert scoot("destroy", "--yes", "--target", "staging", str(app)).exit_code == 0
    assert not listening(staging_port)
    assert get(f"http://127.0.0.1:{local_port}/") == "hello from local (4)"
    assert scoot("destroy", "--yes", str(app)).exit_code == 0
    assert still_running(app) == []
    assert not listening(local_port) and not listening(staging_port)
    assert local_db.is_file() and staging_db.is_file()  # the data is kept, each its own


def test_precedence_of_values_and_their_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_duo(
        tmp_path / "duo",
        """\
        [params]
        port = 9101
        greeting = "top"

        [targets.staging]
        cloud = "local"

        [targets.staging.params]
        port = 9102
        """,
    )
    monkeypatch.chdir(app)
    (app / "dev.toml").write_text('greeting = "from the file"\nport = 9103\n', encoding="utf-8")

    def params(*args: str) -> dict[str, dict[str, object]]:
        result = scoot("plan", "--json", *args)
        assert result.exit_code == 0, result.output
        found: dict[str, dict[str, object]] = json.loads(result.stdout)["params"]
        return found

    toml, target = "scoot.toml [params]", "scoot.toml [targets.staging.params]"
    assert params() == {
        "greeting": {"value": "top", "source": toml, "in_settings": True},
        "port": {"value": "9101", "source": toml, "in_settings": True},
    }
    assert params("--target", "staging") == {
        "greeting": {"value": "top", "source": toml, "in_settings": True},
        "port": {"value": "9102", "source": target, "in_settings": True},
    }
    assert params("--target", "staging", "--param-file", "dev.toml") == {
        "greeting": {"value": "from the file", "source": "--param-file dev.toml", "in_settings": False},
        "port": {"value": "9103", "source": "--param-file dev.toml", "in_settings": False},
    }
    assert params("--target", "staging", "--param-file", "dev.toml", "--param", "port=9104") == {
        "greeting": {"value": "from the file", "source": "--param-file dev.toml", "in_settings": False},
        "port": {"value": "9104", "source": "--param", "in_settings": False},
    }
    # All from scoot.toml: one compact line.
    text = scoot("plan", "--target", "staging").output
    assert text.splitlines()[0] == (
        'Params: greeting = top (scoot.toml [params]); port = 9102 (scoot.toml [targets.staging.params])'
    )
    # From a file: a line each, the file's values marked as not scoot.toml's.
    text = scoot("plan", "--target", "staging", "--param-file", "dev.toml").output
    assert text.splitlines()[:3] == [
        "Params:",
        '  greeting = "from the file"  (from --param-file dev.toml, not scoot.toml: '
        "a plain `scoot plan` will plan it back)",
        "  port = 9103                 (from --param-file dev.toml, not scoot.toml: "
        "a plain `scoot plan` will plan it back)",
    ]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("port = \n", "--param-file bad.toml: Invalid value (at line 1, column 8); write one `NAME = value`"),
        ('greeting = "hi"\nport = 9000\nport = 9001\n', "--param-file bad.toml: Cannot overwrite a value (at line 3"),
        ("[params]\nport = 9000\n", "it holds a [params] table; a param file is the table's contents"),
        (
            "prot = 9000\n",
            "SCT504: --param-file bad.toml: the architecture declares no param `prot` (did you mean `port`?); "
            "remove `prot` there",
        ),
        ('port = "nine"\n', "SCT502: --param-file bad.toml: port='nine' is not a number"),
    ],
)
def test_a_bad_param_file_names_the_file_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, expected: str
) -> None:
    app = make_duo(tmp_path / "duo", "")
    monkeypatch.chdir(app)
    (app / "bad.toml").write_text(written, encoding="utf-8")
    result = scoot("plan", "--param-file", "bad.toml")
    assert result.exit_code == 1
    assert expected in result.stderr
    assert not (app / "scoot.lock").exists()


def test_bad_target_params_name_their_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_duo(tmp_path / "duo", '[targets.staging]\ncloud = "local"\n\n[targets.staging.params]\nprot = 1\n')
    monkeypatch.chdir(app)
    result = scoot("plan", "--target", "staging")
    assert result.exit_code == 1
    assert (
        "SCT504: scoot.toml [targets.staging.params]: the architecture declares no param `prot` "
        "(did you mean `port`?); remove `prot` there, or declare the param in the architecture"
    ) in result.stderr
    # The default target does not take staging's values.
    assert scoot("plan").exit_code == 0
    (app / "scoot.toml").write_text('[targets.staging]\ncloud = "local"\nparams = 3\n', encoding="utf-8")
    result = scoot("plan", "--target", "staging")
    assert result.exit_code == 1
    assert "`params` of [targets.staging] must be a table ([targets.staging.params]) of NAME = value" in result.stderr
    (app / "scoot.toml").write_text("", encoding="utf-8")
    missing = scoot("plan", "--param-file", "nowhere.toml")
    assert missing.exit_code == 1
    assert "--param-file nowhere.toml: cannot read it: No such file or directory" in missing.stderr
