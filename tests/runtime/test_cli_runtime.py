"""The runtime's command line on real files and real processes: init, plan, apply, destroy,
refresh, status, logs, graph, force-unlock, an update or a replacement (`--replace`) that
fails keeping the old version (a replacement on a new port starts the new one while the old
one answers), and a failed roll whose old version does not start again, which says nothing runs.

Most runs go through click's CliRunner (in this process: its stdin is no terminal); a few
through the real entry point in a new interpreter. Every test that starts processes is
marked slow and uses a fixture that destroys what it applied at teardown, then kills any
process scoot.lock recorded that is still there, whatever the test did.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scoot_cli import cli
from scoot_runtime.applylock import ApplyLock
from scoot_runtime.drivers.local import processes as local_processes
from scoot_runtime.init import starter_files
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
LOCATION = re.compile(r"architecture\.sct:(\d+)")

ARCHITECTURE = """\
application tiny {
  owner = "acme"
}

param port: number = 8080

component app {
  source = "./app"

  compute web {
    command = [PYTHON, "-u", "server.py"]
    port    = port
    health  = "/healthz"
    env = {
      PORT      = port
      DATA_PATH = db.path
    }
  }

  storage db {
    engine = "sqlite"
  }
}
"""


# -- helpers ----------------------------------------------------------------------------------


def scoot(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """Run a command in this process (stdin is not a terminal)."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def scoot_process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real entry point in a new interpreter, with no terminal on stdin."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = str(ROOT) + os.pathsep + environment.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "scoot_cli", *args],
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_app(folder: Path, port: int, architecture: str = ARCHITECTURE) -> Path:
    """A small application: a standard-library HTTP server and its SQLite storage."""
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "server.py").write_text(starter_files("tiny")["app/server.py"], encoding="utf-8")
    (folder / "architecture.sct").write_text(
        architecture.replace("PYTHON", json.dumps(sys.executable)), encoding="utf-8"
    )
    (folder / "scoot.toml").write_text(f'[architecture]\npath = "."\n\n[params]\nport = {port}\n', encoding="utf-8")
    return folder


def lock_file(app: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((app / "scoot.lock").read_text(encoding="utf-8"))
    return data


def recorded(app: Path, target: str = "local") -> dict[str, Any]:
    if not (app / "scoot.lock").exists():
        return {}
    objects: dict[str, Any] = lock_file(app)["targets"].get(target, {}).get("objects", {})
    return objects


def app_processes(app: Path, target: str = "local") -> list[tuple[int, int | None]]:
    """(pid, start time) of every process `app` runs for `target`, found as the local driver
    finds them: by the marker naming the folder's owner token (scoot.lock records no pid)."""
    owner_file = app / ".scoots" / "local" / "owner.json"
    if not owner_file.exists():
        return []
    token = json.loads(owner_file.read_text())["token"]
    return [(p.pid, p.start_time) for p in local_processes.scan(f"{token}/{target}")]


def status_outputs(app: Path, address: str, target: str = "local") -> dict[str, Any]:
    """An object's outputs as `scoot status --json` shows them (local paths absolute)."""
    report = json.loads(scoot("status", "--json", "--target", target, str(app)).stdout)
    outputs: dict[str, Any] = next(o["outputs"] for o in report["objects"] if o["address"] == address)
    return outputs


def running(pid: int, start_time: int | None = None) -> bool:
    """Whether the process exists and is not a zombie (nothing reaps them in some containers)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return False
    return start_time is None or int(fields[19]) == start_time


def wait_until_gone(pids: list[tuple[int, int | None]], seconds: float = 15) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [pid for pid, start in pids if running(pid, start)]
        if not alive:
            return []
        time.sleep(0.1)
    return [pid for pid, start in pids if running(pid, start)]


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode()
        return text


def kill_leftovers(app: Path, pids: list[tuple[int, int | None]]) -> None:
    """Kill the processes `pids` still running in `app` (checked by their working folder)."""
    for pid, start in pids:
        if not running(pid, start):
            continue
        try:
            if not Path(os.readlink(f"/proc/{pid}/cwd")).resolve().is_relative_to(app.resolve()):
                continue
            os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An application folder, not applied; the current folder (so locations read `architecture.sct:N`)."""
    folder = make_app(tmp_path / "tiny", free_port())
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def applied(app: Path) -> Iterator[Path]:
    """The application, applied; destroyed at teardown, and any process left is killed."""
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


def url_of(app: Path, address: str = "app.web") -> str:
    url: str = recorded(app)[address]["outputs"]["url"]
    return url


# -- init -------------------------------------------------------------------------------------


def test_init_writes_an_application_that_validates(tmp_path: Path) -> None:
    folder = tmp_path / "hello"
    result = scoot("init", str(folder))
    assert result.exit_code == 0, result.output
    for name in ("scoot.toml", "architecture.sct", "app/server.py", ".gitignore"):
        assert (folder / name).is_file(), name
    assert ".scoots/" in (folder / ".gitignore").read_text().splitlines()
    assert "application hello" in (folder / "architecture.sct").read_text()
    validated = scoot("validate", str(folder))
    assert validated.exit_code == 0, validated.output
    assert "1 component, 3 objects" in validated.output
    assert scoot("fmt", "--check", str(folder)).exit_code == 0
    # scoot.toml shows every table, all but [architecture] commented out.
    settings = (folder / "scoot.toml").read_text()
    for table in ("[architecture]", "# [params]", "# [secrets]", "# [repositories]", "# [targets.", "# [watch]"):
        assert table in settings
    from scoot_runtime import workspace

    loaded = workspace.load(folder)
    assert loaded.architecture == folder.resolve() and loaded.params == {}
    # The plan of a fresh application: everything to create.
    planned = scoot("plan", "--detailed-exitcode", str(folder))
    assert planned.exit_code == 2, planned.output
    assert "Plan: 3 to create, 0 to update, 0 to replace, 0 to delete." in planned.output


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    folder = tmp_path / "hello"
    folder.mkdir()
    (folder / "architecture.sct").write_text("// mine\n")
    (folder / ".gitignore").write_text("build/\n")
    result = scoot("init", str(folder))
    assert result.exit_code == 1
    assert "architecture.sct" in result.output and ".gitignore" in result.output and "--force" in result.output
    assert (folder / "architecture.sct").read_text() == "// mine\n"
    assert not (folder / "scoot.toml").exists()
    forced = scoot("init", "--force", str(folder))
    assert forced.exit_code == 0, forced.output
    assert "[architecture]" in (folder / "scoot.toml").read_text()
    # A .gitignore keeps what it had and gains the line.
    assert (folder / ".gitignore").read_text().splitlines() == ["build/", ".scoots/"]


def test_init_refuses_a_folder_name_that_is_not_a_name(tmp_path: Path) -> None:
    folder = tmp_path / "my app"
    result = scoot("init", str(folder))
    assert result.exit_code == 1
    assert "`my app` cannot be the application's name" in result.output
    assert "--name my-app" in result.output
    assert not folder.exists() or not any(folder.iterdir())
    named = scoot("init", "--name", "my-app", str(folder))
    assert named.exit_code == 0, named.output
    assert "application my-app" in (folder / "architecture.sct").read_text()
    keyword = scoot("init", "--name", "component", str(tmp_path / "other"))
    assert keyword.exit_code == 1 and "keyword" in keyword.output


def test_init_port_is_the_starters_port(tmp_path: Path) -> None:
    folder = tmp_path / "hello"
    result = scoot("init", "--port", "9123", str(folder))
    assert result.exit_code == 0, result.output
    assert "param port: number = 9123" in (folder / "architecture.sct").read_text()
    assert 'os.environ.get("PORT", "9123")' in (folder / "app" / "server.py").read_text()
    assert scoot("validate", str(folder)).exit_code == 0
    refused = scoot("init", "--port", "0", str(tmp_path / "other"))
    assert refused.exit_code == 2 and "--port" in refused.output
    assert not (tmp_path / "other").exists()


@pytest.mark.slow
def test_the_starter_application_runs(tmp_path: Path) -> None:
    folder = tmp_path / "hello"
    assert scoot("init", str(folder)).exit_code == 0
    port = str(free_port())
    pids: list[tuple[int, int | None]] = []
    try:
        result = scoot("apply", "--yes", "--param", f"port={port}", str(folder))
        pids = app_processes(folder)
        assert result.exit_code == 0, result.output
        url = url_of(folder)
        assert url.endswith(f":{port}") and url in result.output
        assert get(url + "/") == "Hello from hello! Visit number 1.\n"
        again = scoot("apply", "--yes", "--param", f"port={port}", str(folder))
        assert again.exit_code == 0 and "Nothing to do." in again.output, again.output
    finally:
        scoot("destroy", "--yes", "--param", f"port={port}", str(folder))
        kill_leftovers(folder, pids)
    assert wait_until_gone(pids) == []


# -- plan -------------------------------------------------------------------------------------


def test_plan_of_a_fresh_application(app: Path) -> None:
    result = scoot("plan", "--detailed-exitcode", str(app))
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    web = next(line for line in lines if "app.web" in line)
    assert web.lstrip().startswith("+ app.web (compute) will be created")
    assert LOCATION.search(web) and LOCATION.search(web).group(1) == "10"  # type: ignore[union-attr]
    assert any(line.lstrip().startswith("+ app.db (storage)") for line in lines)
    assert "Plan: 2 to create, 0 to update, 0 to replace, 0 to delete." in result.output
    assert scoot("plan", str(app)).exit_code == 0
    # A plan touches nothing: no state is written.
    assert not (app / "scoot.lock").exists()


def test_plan_json(app: Path) -> None:
    result = scoot("plan", "--json", str(app))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["target"] == "local" and data["has_changes"] is True and data["destroy"] is False
    assert data["summary"] == {"create": 2, "update": 0, "replace": 0, "delete": 0, "move": 0, "no-op": 0}
    changes = {c["address"]: c for c in data["changes"]}
    assert set(changes) == {"app.web", "app.db"}
    web = changes["app.web"]
    assert web["action"] == "create" and web["kind"] == "compute"
    assert set(web) >= {"keys", "replace", "unknown", "drift", "found", "location", "key_locations"}
    assert web["location"] == {"file": "architecture.sct", "line": 10, "column": 3}


def test_plan_shows_diagnostics_and_touches_nothing(app: Path) -> None:
    (app / "architecture.sct").write_text(ARCHITECTURE.replace("PYTHON", '"python3"').replace("port    = port", "port = nope"))
    result = scoot("plan", str(app))
    assert result.exit_code == 1
    assert re.search(r"architecture\.sct:\d+:\d+: error SCT\d{3}: ", result.output), result.output
    assert not (app / ".scoots").exists() and not (app / "scoot.lock").exists()


def test_plan_problems_name_their_object(app: Path) -> None:
    text = (app / "architecture.sct").read_text().replace("DATA_PATH = db.path", 'TOKEN = secret("TINY_TOKEN")')
    (app / "architecture.sct").write_text(text)
    result = scoot("plan", str(app), env={"TINY_TOKEN": None})
    assert result.exit_code == 1
    assert "the plan cannot be made" in result.output and "TINY_TOKEN" in result.output
    assert "Traceback" not in result.output
    (app / "architecture.sct").write_text(text.replace('engine = "sqlite"', 'engine = "queue"'))
    result = scoot("plan", "--json", str(app), env={"TINY_TOKEN": "set"})
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["address"], p["key"]) for p in problems] == [("app.db", "engine")]
    assert problems[0]["location"] == {"file": "architecture.sct", "line": 21, "column": 5}


def test_unknown_target_and_missing_folder(app: Path, tmp_path: Path) -> None:
    result = scoot("plan", "--target", "staging", str(app))
    assert result.exit_code == 1
    assert "[targets.staging]" in result.output and "Traceback" not in result.output
    missing = scoot("plan", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "does not exist" in missing.output
    usage = scoot("plan", "--param", "oops", str(app))
    assert usage.exit_code == 2


# -- apply ------------------------------------------------------------------------------------


def test_apply_without_a_terminal_and_without_yes_refuses(app: Path) -> None:
    result = scoot_process("apply", str(app), cwd=app.parent)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Plan: 2 to create" in result.stdout
    assert "--yes" in result.stderr and "no terminal" in result.stderr
    assert "Traceback" not in result.stderr
    assert recorded(app) == {}
    # CliRunner's stdin is no terminal either.
    assert scoot("apply", str(app)).exit_code == 1


def test_apply_is_refused_while_another_holds_the_lock(app: Path) -> None:
    with ApplyLock(app / ".scoots", "local", "scoot apply (the other one)"):
        result = scoot("apply", "--yes", str(app))
        assert result.exit_code == 1
        assert "is locked by pid" in result.output and "scoot apply (the other one)" in result.output
        assert "force-unlock" in result.output
    assert recorded(app) == {}


HOLD_UNTIL_TOLD = (
    "import sys\n"
    "from pathlib import Path\n"
    "from scoot_runtime.applylock import ApplyLock\n"
    "with ApplyLock(Path(sys.argv[1]), 'local', command='scoot apply (the other one)'):\n"
    "    print('locked', flush=True)\n"
    "    sys.stdin.readline()\n"
)


def test_lock_timeout_waits_for_the_local_lock_then_takes_it(app: Path) -> None:
    """--lock-timeout: the flock held by another process is waited for (said once, naming
    the holder), then taken when it is released; too short a wait fails naming the holder."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_UNTIL_TOLD, str(app / ".scoots")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        short = scoot("refresh", "--lock-timeout", "700ms", str(app))
        assert time.monotonic() - started >= 0.7
        assert short.exit_code == 1
        assert f"is locked by pid {holder.pid}" in short.output and "scoot apply (the other one)" in short.output
        assert "; waited " in short.output and "force-unlock" in short.output

        environment = {**os.environ, "PYTHONPATH": str(ROOT)}
        waiting = subprocess.Popen(
            [sys.executable, "-m", "scoot_cli", "refresh", "--lock-timeout", "2m", str(app)],
            env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert waiting.stderr is not None
            said = waiting.stderr.readline()
            assert f"is locked by pid {holder.pid}" in said and "waiting up to 2m for it" in said, said
            assert waiting.poll() is None  # still waiting: the lock is held
            assert holder.stdin is not None
            holder.stdin.write("go\n")
            holder.stdin.close()
            out, err = waiting.communicate(timeout=60)
        finally:
            waiting.kill()
            waiting.wait()
        assert waiting.returncode == 0, out + err
        assert "nothing to refresh" in out
        assert "waiting" not in err  # said once
    finally:
        holder.kill()
        holder.wait()


def test_lock_timeout_must_be_a_duration(app: Path) -> None:
    result = scoot("apply", "--yes", "--lock-timeout", "5x", str(app))
    assert result.exit_code == 2
    assert "`5x` is not a duration: write it as 30s, 5m, 1h or 1m30s" in result.output


@pytest.mark.slow
def test_apply_runs_the_application_and_a_second_apply_does_nothing(applied: Path) -> None:
    url = url_of(applied)
    assert get(url + "/healthz") == "ok\n"
    assert "Visit number 1" in get(url + "/")
    again = scoot("apply", "--yes", str(applied))
    assert again.exit_code == 0, again.output
    assert "No changes. The infrastructure matches the architecture." in again.output
    assert "Nothing to do." in again.output
    assert "Visit number 2" in get(url + "/")  # the same process, the same database
    plain = scoot("plan", "--detailed-exitcode", str(applied))
    assert plain.exit_code == 0, plain.output


@pytest.mark.slow
def test_apply_prints_events_and_where_the_application_answers(app: Path) -> None:
    pids: list[tuple[int, int | None]] = []
    try:
        result = scoot_process("apply", "--yes", str(app), cwd=app.parent)
        pids = app_processes(app)
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        assert re.search(r"^app\.db: create done \(\d+\.\ds\)$", out, re.MULTILINE), out
        assert re.search(r"^app\.web: create done \(\d+\.\ds\)$", out, re.MULTILINE), out
        assert "Apply complete: 2 done, 0 failed, 0 skipped" in out
        url = url_of(app)
        assert re.search(rf"^\s+app\.web\s+{re.escape(url)}$", out, re.MULTILINE), out
    finally:
        scoot("destroy", "--yes", str(app))
        kill_leftovers(app, pids)


@pytest.mark.slow
def test_changing_one_attribute_changes_one_object(applied: Path) -> None:
    sct = applied / "architecture.sct"
    text = sct.read_text()
    sct.write_text(text.replace('health  = "/healthz"', 'health  = "/"'))
    line = next(n for n, row in enumerate(sct.read_text().splitlines(), 1) if 'health  = "/"' in row)
    result = scoot("plan", "--detailed-exitcode", str(applied))
    assert result.exit_code == 2, result.output
    changed = [row for row in result.output.splitlines() if re.match(r"^\s*(\+|~|-/\+|-|!) ", row)]
    assert changed[0].lstrip().startswith("~ app.web (compute) will be updated in place"), result.output
    assert changed[1].split() == ["~", "health:", '"/healthz"', "→", '"/"', f"architecture.sct:{line}"]
    assert len(changed) == 2, result.output
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in result.output
    data = json.loads(scoot("plan", "--json", str(applied)).stdout)
    assert [(c["address"], c["keys"]) for c in data["changes"] if c["action"] != "no-op"] == [("app.web", ["health"])]
    assert data["changes"][1]["key_locations"]["health"]["line"] == line
    # A param given on the command line wins over scoot.toml's.
    overridden = scoot("plan", "--param", f"port={free_port()}", str(applied))
    assert "~ port:" in overridden.output and "~ env.PORT:" in overridden.output
    applied_again = scoot("apply", "--yes", str(applied))
    assert applied_again.exit_code == 0, applied_again.output
    assert "app.web: update done" in applied_again.output and "app.db:" not in applied_again.output
    assert get(url_of(applied) + "/healthz") == "ok\n"


@pytest.mark.slow
def test_status_and_destroy_go_by_the_lock_when_the_architecture_is_broken(applied: Path) -> None:
    """A broken `.sct` (a merge gone wrong) must not keep anyone from seeing or removing what runs."""
    pids = app_processes(applied)
    (applied / "architecture.sct").write_text("application app {\n  owner = \n")
    assert scoot("plan", str(applied)).exit_code == 1  # what needs the architecture still stops
    status = scoot("status", str(applied))
    assert status.exit_code == 0, status.output
    assert "goes by what scoot.lock records" in status.output and "app.web" in status.output
    destroyed = scoot("destroy", "--yes", str(applied))
    assert destroyed.exit_code == 0, destroyed.output
    assert "- app.web (compute) will be deleted" in destroyed.output
    assert wait_until_gone(pids) == [] and recorded(applied) == {}


def test_destroy_stops_every_process_and_keeps_the_data(app: Path) -> None:
    pids: list[tuple[int, int | None]] = []
    try:
        assert scoot("apply", "--yes", str(app)).exit_code == 0
        pids = app_processes(app)
        assert pids and all(running(pid, start) for pid, start in pids)
        database = Path(status_outputs(app, "app.db")["path"])
        assert database.is_absolute() and not Path(recorded(app)["app.db"]["outputs"]["path"]).is_absolute()
        get(url_of(app) + "/")  # writes a row
        refused = scoot_process("destroy", str(app), cwd=app.parent)
        assert refused.returncode == 1 and "--yes" in refused.stderr
        result = scoot("destroy", "--yes", str(app))
        assert result.exit_code == 0, result.output
        assert "- app.web (compute) will be deleted" in result.output
        assert "- app.db (storage) will be deleted; its data is kept" in result.output
        assert "Storage data was kept (pass --delete-data to delete it):" in result.output
        assert wait_until_gone(pids) == []
        assert database.is_file() and database.stat().st_size > 0
        assert recorded(app) == {}
        nothing = scoot("destroy", "--yes", str(app))
        assert nothing.exit_code == 0 and "Nothing to destroy" in nothing.output
        status = scoot("status", str(app))
        assert "has no recorded objects" in status.output
    finally:
        kill_leftovers(app, pids)


@pytest.mark.slow
def test_drift_is_shown_refreshed_and_repaired(applied: Path) -> None:
    (pid, start), *_ = app_processes(applied)
    os.kill(pid, signal.SIGKILL)
    wait_until_gone([(pid, start)])
    planned = scoot("plan", str(applied))
    assert "! app.web (compute) is gone: it will be created again" in planned.output, planned.output
    status = scoot("status", str(applied))
    assert re.search(r"^app\.web\s+compute\s+missing", status.output, re.MULTILINE), status.output
    refreshed = scoot("refresh", str(applied))
    assert refreshed.exit_code == 0, refreshed.output
    assert "app.web: gone" in refreshed.output
    assert "app.web" not in recorded(applied) and "app.db" in recorded(applied)
    repaired = scoot("apply", "--yes", str(applied))
    assert repaired.exit_code == 0, repaired.output
    assert "app.web: create done" in repaired.output
    assert get(url_of(applied) + "/healthz") == "ok\n"
    quiet = scoot("refresh", str(applied))
    assert "Nothing to record" in quiet.output


@pytest.mark.slow
def test_a_failed_apply_lists_every_failure_and_exits_1(app: Path) -> None:
    (app / "scoot.toml").write_text(
        (app / "scoot.toml").read_text() + "\n[targets.local]\nhealth_timeout = 5\n", encoding="utf-8"
    )
    sct = app / "architecture.sct"
    sct.write_text(sct.read_text().replace('"-u", "server.py"', '"-c", "import sys; sys.exit(3)"'))
    pids: list[tuple[int, int | None]] = []
    try:
        result = scoot("apply", "--yes", str(app))
        pids = app_processes(app)
        assert result.exit_code == 1, result.output
        assert re.search(r"^app\.web: create failed \(\d+\.\ds\): .+", result.output, re.MULTILINE), result.output
        assert "app.db: create done" in result.output  # an independent branch goes on
        assert "Apply failed: 1 done, 1 failed, 0 skipped" in result.output
        assert "Error: 1 object failed:\n  app.web: " in result.output
        assert "Traceback" not in result.output
        assert set(recorded(app)) == {"app.db"}
    finally:
        scoot("destroy", "--yes", str(app))
        kill_leftovers(app, pids)


@pytest.mark.slow
def test_plan_finds_what_an_interrupted_run_made(applied: Path) -> None:
    from scoot_runtime.state import StateStore

    # As if `apply` were killed after starting the server and before recording it.
    store = StateStore(applied, "local", "local")
    store.load()
    store.begin()
    store.result("app.web", None)
    store.intent("app.web", "create", "compute")
    store.close()
    status = scoot("status", str(applied))
    assert "Interrupted operations" in status.output and "app.web: create started" in status.output
    planned = scoot("plan", str(applied))
    assert "found after an interrupted run (adopted by its name)" in planned.output, planned.output
    assert "1 found after an interrupted run to record." in planned.output
    result = scoot("apply", "--yes", str(applied))
    assert result.exit_code == 0, result.output
    assert "app.web" in recorded(applied)
    assert scoot("plan", "--detailed-exitcode", str(applied)).exit_code == 0
    assert get(url_of(applied) + "/healthz") == "ok\n"


# -- status, logs, graph ----------------------------------------------------------------------


@pytest.mark.slow
def test_status(applied: Path) -> None:
    result = scoot("status", str(applied))
    assert result.exit_code == 0, result.output
    web = next(row for row in result.output.splitlines() if row.startswith("app.web"))
    revision = recorded(applied)["app.web"]["revision"].rpartition(":")[2][:12]
    assert web.split() == ["app.web", "compute", "ok", revision, url_of(applied)]
    db = next(row for row in result.output.splitlines() if row.startswith("app.db"))
    assert db.split()[:3] == ["app.db", "storage", "ok"] and db.endswith("db.sqlite")
    data = json.loads(scoot("status", "--json", str(applied)).stdout)
    assert {o["address"]: o["observed"] for o in data["objects"]} == {"app.db": "ok", "app.web": "ok"}


@pytest.mark.slow
def test_logs(applied: Path) -> None:
    get(url_of(applied) + "/")
    result = scoot("logs", "app.web", str(applied))
    assert result.exit_code == 0, result.output
    assert "tiny listening on" in result.output and '"GET / HTTP/1.1" 200' in result.output
    assert scoot("logs", "app.web", str(applied), "--replica", "0").output == result.output
    # Following: new lines arrive until Ctrl-C, which ends it quietly; even when it starts
    # with SIGINT ignored, as a shell starts its background jobs (and they, theirs).
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    follower = subprocess.Popen(
        [sys.executable, "-m", "scoot_cli", "logs", "app.web", str(applied), "-f"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(follower.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while not any("tiny listening on" in line for line in seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(urllib.error.HTTPError):  # 404, and a line in the log
            get(url_of(applied) + "/followed")
        while not any("/followed" in line for line in seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any("/followed" in line for line in seen), seen
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=10) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_logs_takes_names_never_paths(app: Path) -> None:
    for bad in ("../etc", "app/web", "app", "app.web.0", "/etc/passwd"):
        result = scoot("logs", bad, str(app))
        assert result.exit_code == 2, (bad, result.output)
        assert "component.object" in result.output
    unknown = scoot("logs", "app.nope", str(app))
    assert unknown.exit_code == 1 and "app.web" in unknown.output
    storage = scoot("logs", "app.db", str(app))
    assert storage.exit_code == 1 and "only compute objects" in storage.output
    not_yet = scoot("logs", "app.web", str(app))
    assert not_yet.exit_code == 1 and "scoot apply" in not_yet.output


def test_graph_of_the_starter_application(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    assert scoot("init", str(folder)).exit_code == 0
    dot = scoot("graph", str(folder))
    assert dot.exit_code == 0, dot.output
    text = dot.output
    assert text.startswith('digraph "shop" {')
    assert 'subgraph "cluster_app" {' in text
    assert '"app.web" [label="web\\ncompute", shape=box]' in text
    assert '"app.data" [label="data\\nstorage", shape=cylinder]' in text
    assert '"app.web" -> "app.data" [label="web_data", style=dashed' in text
    assert "app.web_data" not in text  # a connection is an edge, not a node
    mermaid = scoot("graph", "--format", "mermaid", str(folder))
    assert mermaid.exit_code == 0, mermaid.output
    lines = mermaid.output.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  subgraph c0["app"]' in lines and "  end" in lines
    assert '    n0[("data<br/><small>storage</small>")]' in lines
    assert "  n1 -.->|web_data| n0" in lines
    assert "classDef" not in mermaid.output  # nothing applied: nothing to colour
    assert scoot("graph", "--format", "svg", str(folder)).exit_code == 2


@pytest.mark.slow
def test_graph_is_coloured_by_the_plan(applied: Path) -> None:
    sct = applied / "architecture.sct"
    sct.write_text(sct.read_text().replace('health  = "/healthz"', 'health  = "/"'))
    dot = scoot("graph", str(applied)).output
    assert re.search(r'"app\.web" \[.*fillcolor="#fff1b8".*tooltip="update"', dot), dot
    assert re.search(r'"app\.db" \[.*tooltip="no-op"', dot), dot
    assert '"app.web" -> "app.db" [label="path"];' in dot  # a reference: a plain edge
    mermaid = scoot("graph", "--format", "mermaid", str(applied)).output
    assert "classDef update" in mermaid and "class n1 update" in mermaid


# -- force-unlock -----------------------------------------------------------------------------


def test_force_unlock(app: Path) -> None:
    locks = app / ".scoots" / "locks"
    locks.mkdir(parents=True)
    holder = {"pid": 4_000_000, "host": socket.gethostname(), "since": "2026-01-01T00:00:00Z", "command": "scoot apply"}
    (locks / "local.lock").write_text(json.dumps(holder))
    result = scoot("force-unlock", "local", str(app))
    assert result.exit_code == 0, result.output
    assert "held by pid 4000000" in result.output and "scoot apply" in result.output
    assert not (locks / "local.lock").exists()
    again = scoot("force-unlock", "local", str(app))
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert scoot("force-unlock", "../x", str(app)).exit_code == 2


def test_force_unlock_refuses_a_live_holder_unless_forced(app: Path) -> None:
    hold = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from scoot_runtime.applylock import ApplyLock\n"
        "with ApplyLock(Path(sys.argv[1]), 'local', command='scoot apply'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(app / ".scoots")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        refused = scoot("force-unlock", "local", str(app))
        assert refused.exit_code == 1
        assert f"pid {holder.pid}" in refused.output and "--force" in refused.output
        assert (app / ".scoots" / "locks" / "local.lock").exists()
        forced = scoot("force-unlock", "--force", "local", str(app))
        assert forced.exit_code == 0, forced.output
        assert f"held by pid {holder.pid}" in forced.output and "still runs" in forced.output
        assert not (app / ".scoots" / "locks" / "local.lock").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over_by_apply(app: Path) -> None:
    locks = app / ".scoots" / "locks"
    locks.mkdir(parents=True)
    holder = {"pid": 4_000_000, "host": socket.gethostname(), "since": "2026-01-01T00:00:00Z", "command": "scoot apply"}
    (locks / "local.lock").write_text(json.dumps(holder))
    result = scoot("apply", str(app))  # refused (no terminal), after taking the lock
    assert "the previous holder (pid 4000000" in result.output.lower()
    assert "is gone; taking over" in result.output


# -- secrets ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_secret_value_is_never_printed_or_written(tmp_path: Path) -> None:
    secret = "s3cret-" + os.urandom(8).hex()
    app = make_app(
        tmp_path / "tiny",
        free_port(),
        ARCHITECTURE.replace("DATA_PATH = db.path", 'DATA_PATH = db.path\n      TOKEN     = secret("TINY_TOKEN")'),
    )
    environment = {"TINY_TOKEN": secret}
    outputs: list[str] = []
    pids: list[tuple[int, int | None]] = []
    try:
        for args in (("plan",), ("apply", "--yes"), ("status",), ("graph",), ("plan", "--json")):
            result = scoot(*args, str(app), env=environment)
            pids = pids or app_processes(app)
            assert result.exit_code == 0, result.output
            outputs.append(result.output)
        changed = scoot("plan", str(app), env={"TINY_TOKEN": secret + "x"})
        outputs.append(changed.output)
        assert '~ env.TOKEN = secret("TINY_TOKEN") (the secret\'s value may have changed)' in changed.output
        outputs.append(scoot("destroy", "--yes", str(app), env=environment).output)
    finally:
        kill_leftovers(app, pids)
    assert all(secret not in text for text in outputs)
    for file in app.rglob("*"):
        if file.is_file():
            assert secret.encode() not in file.read_bytes(), file


# -- a failed update: the old version keeps serving ------------------------------------------

KEPT = "app.web: the new version failed to start ("
STILL_RUNNING = "): the previous version is still running"


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
@pytest.mark.parametrize(
    ("options", "planned"),
    [
        ((), "~ app.web (compute) will be updated in place"),
        # A replacement on the same port: the old one was stopped for the new one, and put back.
        (("--replace", "app.web"), "+/- app.web (compute) must be replaced, the new one first"),
    ],
    ids=["update", "replace"],
)
def test_an_update_or_replacement_to_a_missing_program_keeps_the_old_version_serving(
    applied: Path, options: tuple[str, ...], planned: str
) -> None:
    app = applied
    url, before = url_of(app), recorded(app)["app.web"]
    assert get(url + "/healthz") == "ok\n"
    set_command(app, "scoot-no-such-program")
    result = scoot("apply", "--yes", *options, str(app))
    assert result.exit_code == 1, result.output
    assert planned in result.output
    assert KEPT in result.output and STILL_RUNNING in result.output, result.output
    assert "cannot start `scoot-no-such-program`" in result.output
    assert "Traceback" not in result.output
    assert_the_old_version_serves(app, before, url, result.output)


@pytest.mark.slow
def test_an_update_that_never_becomes_healthy_keeps_the_old_version_then_a_good_one_applies(applied: Path) -> None:
    app = applied
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


# -- a replacement: create before destroy; a roll whose old version does not start again -------

# The new version: before it serves, it asks the old one (on OLD_URL) and writes down what
# it answered (in ANSWERED, outside the source), so the test knows the old one served while
# the new one started.
CHECKS_THE_OLD = """\
import os, urllib.request
with urllib.request.urlopen(os.environ["OLD_URL"] + "/healthz", timeout=5) as answer:
    open(os.environ["ANSWERED"], "w").write(answer.read().decode())
exec(open("server.py").read())
"""


def set_port(app: Path, port: int) -> None:
    toml = app / "scoot.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("port = ", f"port = {port}\n# was "), encoding="utf-8")


def observed(app: Path) -> dict[str, str]:
    status = json.loads(scoot("status", "--json", str(app)).stdout)
    return {o["address"]: o["observed"] for o in status["objects"]}


@pytest.mark.slow
def test_a_replacement_on_a_new_port_starts_the_new_one_while_the_old_one_answers(
    applied: Path,
) -> None:
    app = applied
    url, old = url_of(app), app_processes(app)
    answered = app.parent / "old-answered.txt"
    sct = app / "architecture.sct"
    extra = f'      OLD_URL   = "{url}"\n      ANSWERED  = "{answered}"\n'
    sct.write_text(
        sct.read_text().replace("      PORT      = port\n", "      PORT      = port\n" + extra)
    )
    port = free_port()
    set_port(app, port)

    # A new version that cannot start: the old one was never stopped.
    set_command(app, "scoot-no-such-program")
    bad = scoot("apply", "--yes", "--replace", "app.web", str(app))
    assert bad.exit_code == 1 and KEPT in bad.output and STILL_RUNNING in bad.output, bad.output
    assert all(running(pid, start) for pid, start in old), "the old version was stopped"
    assert get(url + "/healthz") == "ok\n"
    assert observed(app) == {"app.db": "ok", "app.web": "ok"}

    (app / "app" / "checks_the_old.py").write_text(CHECKS_THE_OLD, encoding="utf-8")
    set_command(app, sys.executable, "-u", "checks_the_old.py")
    result = scoot("apply", "--yes", "--replace", "app.web", str(app))
    assert result.exit_code == 0, result.output
    assert "+/- app.web (compute) must be replaced, the new one first" in result.output
    # The new one found the old one answering when it started: no gap.
    assert answered.read_text() == "ok\n"
    new = url_of(app)
    assert new == f"http://127.0.0.1:{port}" and get(new + "/healthz") == "ok\n"
    with pytest.raises(urllib.error.URLError):
        get(url + "/healthz")
    assert not any(running(pid, start) for pid, start in old)
    assert observed(app) == {"app.db": "ok", "app.web": "ok"}
    plan = scoot("plan", "--detailed-exitcode", str(app))
    assert plan.exit_code == 0, plan.output


@pytest.mark.slow
def test_a_failed_update_whose_old_version_cannot_start_again_says_nothing_runs(
    applied: Path,
) -> None:
    app = applied
    url = url_of(app)
    assert get(url + "/healthz") == "ok\n"
    set_command(app, "scoot-no-such-program")
    # Between the two applies the old program goes away: relaunched, it exits at once.
    server = app / "app" / "server.py"
    code = server.read_text(encoding="utf-8")
    server.unlink()
    result = scoot("apply", "--yes", str(app))
    assert result.exit_code == 1, result.output
    assert (
        "app.web: the new version failed to start, and the previous version's replica 0 did not start"
        in result.output
    )
    assert "nothing of app.web runs now" in result.output
    assert STILL_RUNNING not in result.output and "Traceback" not in result.output
    assert f"app.web  {url}" not in result.output  # Outputs: only what answers
    with pytest.raises(urllib.error.URLError):
        get(url + "/healthz")
    assert not app_processes(app)
    assert recorded(app)["app.web"]["identity"] == {"replicas": []}
    assert observed(app) == {"app.db": "ok", "app.web": "missing"}

    # Put right, the next apply starts it again.
    server.write_text(code, encoding="utf-8")
    set_command(app, sys.executable, "-u", "server.py")
    plan = scoot("plan", str(app))
    assert "! app.web (compute) is gone: it will be created again" in plan.output, plan.output
    again = scoot("apply", "--yes", str(app))
    assert again.exit_code == 0, again.output
    assert get(url + "/healthz") == "ok\n"
    assert recorded(app)["app.web"]["identity"] == {"replicas": [0]}
