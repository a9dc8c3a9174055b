"""What runs is this folder's, and is what scoot.lock says: attacks on the local driver's
recognition of its own processes (issue 12). Whole-system: the real CLI, real processes,
their configuration read back from `/proc/PID/environ` and `/proc/PID/cmdline`."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SLEEPER = "import time; time.sleep(3600)"


def architecture(
    tag: str, value: str, *, replicas: int = 1, extra: str = "", health: float = 0.0, web: str = "web"
) -> str:
    """Two computes and a storage; every process carries TAG (to find it) and V (what it was given)."""
    check = f'health = ["{sys.executable}", "-c", "import time; time.sleep({health})"]' if health else ""
    return f'''
application owned {{ owner = "acme" }}

component api {{
  source = "./app"

  compute {web} {{
    command  = ["{sys.executable}", "-c", "{SLEEPER}", "{value}{extra}"]
    replicas = {replicas}
    env      = {{ TAG = "{tag}", V = "{value}" }}
    {check}
  }}

  compute jobs {{
    command = ["{sys.executable}", "-c", "{SLEEPER}", "jobs-{value}"]
    env     = {{ TAG = "{tag}", V = "{value}" }}
    {check}
  }}

  storage db {{ engine = "sqlite" }}
}}
'''


def scoot(app: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoot_cli", *args, str(app)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def tagged(tag: str) -> dict[int, dict[str, str]]:
    """Every live process whose environment holds TAG=tag: its environment and `argv` (as ARGV)."""
    found: dict[int, dict[str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or f"TAG={tag}".encode() not in environ:
            continue
        env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        env["ARGV"] = json.dumps([a.decode() for a in cmdline.split(b"\0")[:-1]])
        found[int(entry.name)] = env
    return found


def recorded_replicas(app: Path) -> dict[str, str]:
    """The marker → address of every replica scoot.lock records. It records no pid: a
    replica's process is the one carrying its marker, which names the folder's owner token."""
    data = json.loads((app / "scoot.lock").read_text())
    token = json.loads((app / ".scoots" / "local" / "owner.json").read_text())["token"]
    return {
        f"{token}/local/{address}/{replica}": address
        for address, state in data["targets"]["local"]["objects"].items()
        for replica in state.get("identity", {}).get("replicas", [])
    }


def recorded(app: Path) -> dict[int, str]:
    """pid → address of every process that runs as a replica scoot.lock records."""
    replicas = recorded_replicas(app)
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        for item in environ:
            name, _, value = item.decode(errors="replace").partition("=")
            if name == "SCOOT_OBJECT" and value in replicas:
                found[int(entry.name)] = replicas[value]
    return found


def kill_tagged(tag: str) -> None:
    for pid in tagged(tag):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def make_app(root: Path, tag: str, value: str, *, replicas: int = 1, health: float = 0.0) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "architecture.sct").write_text(architecture(tag, value, replicas=replicas, health=health))
    return root


@pytest.fixture
def tag() -> Iterator[str]:
    tag = uuid.uuid4().hex
    yield tag
    kill_tagged(tag)  # whatever a failing test left running


def assert_runs_as_recorded(app: Path, tag: str, value: str) -> None:
    """Every running process is one scoot.lock records, started with V=value; and each
    recorded one runs, as one process."""
    live, runs = tagged(tag), recorded(app)
    leaders = {pid: env for pid, env in live.items() if pid in runs}
    assert set(leaders) == set(runs) and set(live) == set(leaders), (live.keys(), runs)
    assert sorted(runs.values()) == sorted(recorded_replicas(app).values()), (runs, recorded_replicas(app))
    for env in leaders.values():
        assert env["V"] == value, env
        assert json.loads(env["ARGV"])[-1].rpartition("-")[2] == value, env["ARGV"]


def start_apply(app: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scoot_cli", "apply", "--yes", str(app)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )


def kill_apply_once_a_process_starts(app: Path, tag: str, before: set[int]) -> None:
    """Start `scoot apply`, and SIGKILL it as soon as it has started a new process."""
    run = start_apply(app)
    try:
        deadline = time.monotonic() + 60
        while not set(tagged(tag)) - before:
            assert run.poll() is None, "apply ended before starting a process"
            assert time.monotonic() < deadline, "no process started"
            time.sleep(0.01)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()


# -- 1. a crash, then a change --------------------------------------------------------------------


def test_a_process_found_after_a_crash_is_compared_with_what_is_wanted_now(tmp_path: Path, tag: str) -> None:
    # The health check takes a second: the apply is killed while it waits on a process it started.
    app = make_app(tmp_path / "app", tag, "old", health=1.0)
    kill_apply_once_a_process_starts(app, tag, set())
    (app / "architecture.sct").write_text(architecture(tag, "new", health=1.0))
    plan = ok(scoot(app, "plan"))
    assert "No changes" not in plan
    ok(scoot(app, "apply", "--yes"))
    assert_runs_as_recorded(app, tag, "new")
    assert "No changes" in ok(scoot(app, "plan"))


def test_a_replica_left_by_an_interrupted_update_is_seen_as_drift(tmp_path: Path, tag: str) -> None:
    app = make_app(tmp_path / "app", tag, "one", replicas=2, health=1.0)
    ok(scoot(app, "apply", "--yes"))
    before = set(tagged(tag))
    # The update replaces replica 0, then dies: replica 0 runs "two", replica 1 "one".
    (app / "architecture.sct").write_text(architecture(tag, "two", replicas=2, health=1.0))
    kill_apply_once_a_process_starts(app, tag, before)
    # Back to "one": scoot.lock says "one" is applied, yet one replica runs "two".
    (app / "architecture.sct").write_text(architecture(tag, "one", replicas=2, health=1.0))
    plan = ok(scoot(app, "plan"))
    assert "No changes" not in plan, plan
    ok(scoot(app, "apply", "--yes"))
    assert_runs_as_recorded(app, tag, "one")


@pytest.mark.parametrize("seed", [12])
def test_sigkill_at_random_points_then_a_change_always_converges(tmp_path: Path, tag: str, seed: int) -> None:
    """The torture test: 20 rounds of SIGKILL at a random moment of an apply, a change, an apply.

    Each round renames `web` (a create and a delete) and changes `jobs` (an update), so
    the kill lands in creates, updates and deletes alike."""
    rng = random.Random(seed)
    app = make_app(tmp_path / "app", tag, "v0", replicas=2, health=0.3)
    ok(scoot(app, "apply", "--yes"))
    for round_ in range(1, 21):
        killed, wanted = f"k{round_}", f"w{round_}"
        replicas, web = rng.choice([1, 2, 3]), f"web{round_}"
        (app / "architecture.sct").write_text(architecture(tag, killed, replicas=replicas, health=0.3, web=web))
        run = start_apply(app)
        try:
            run.wait(timeout=rng.uniform(0.2, 2.5))  # a random point; it may also finish
        except subprocess.TimeoutExpired:
            run.send_signal(signal.SIGKILL)
            run.wait()
        replicas = rng.choice([1, 2, 3])
        (app / "architecture.sct").write_text(architecture(tag, wanted, replicas=replicas, health=0.3, web=web))
        ok(scoot(app, "apply", "--yes"))
        assert_runs_as_recorded(app, tag, wanted)
        assert sorted(recorded(app).values()) == sorted(["api.jobs", *[f"api.{web}"] * replicas])
    assert "No changes" in ok(scoot(app, "plan"))


# -- 2. two copies of an application on one machine -----------------------------------------------


def copy_app(app: Path, to: Path, *, workspace: bool) -> Path:
    shutil.copytree(app, to, ignore=None if workspace else shutil.ignore_patterns(".scoots"))
    return to


@pytest.mark.parametrize("workspace", [False, True], ids=["clone", "copy-with-workspace"])
def test_a_copy_never_takes_the_processes_of_the_original(tmp_path: Path, tag: str, workspace: bool) -> None:
    app = make_app(tmp_path / "first", tag, "v")
    ok(scoot(app, "apply", "--yes"))
    theirs = set(tagged(tag))
    copy = copy_app(app, tmp_path / "second", workspace=workspace)

    plan = ok(scoot(copy, "plan"))
    assert "No changes" not in plan
    assert "api.web (compute) is gone: it will be created again" in plan, plan
    status = scoot(copy, "status").stdout
    [web] = [line.split() for line in status.splitlines() if line.startswith("api.web ")]
    assert web[2] != "ok", status  # the first copy's process is not this copy's
    ok(scoot(copy, "destroy", "--yes"))
    assert set(tagged(tag)) == theirs  # not one of the first copy's processes was touched
    assert "No changes" in ok(scoot(app, "plan"))

    # The copy runs its own; each sees only its own, and destroys only its own.
    ok(scoot(copy, "apply", "--yes"))
    mine = set(tagged(tag)) - theirs
    assert len(mine) == len(theirs) and set(recorded(copy)) <= mine
    assert "No changes" in ok(scoot(app, "plan")) and "No changes" in ok(scoot(copy, "plan"))
    ok(scoot(app, "destroy", "--yes"))
    assert set(tagged(tag)) == mine
    assert "No changes" in ok(scoot(copy, "plan"))


def test_a_moved_application_keeps_its_processes(tmp_path: Path, tag: str) -> None:
    app = make_app(tmp_path / "here", tag, "v")
    ok(scoot(app, "apply", "--yes"))
    running = set(tagged(tag))
    moved = tmp_path / "there"
    app.rename(moved)
    assert "No changes" in ok(scoot(moved, "plan"))
    ok(scoot(moved, "destroy", "--yes"))
    assert not set(tagged(tag)) & running


# -- 6. a lost scoot.lock -------------------------------------------------------------------------


def test_a_lost_lock_file_finds_what_runs_instead_of_starting_it_twice(tmp_path: Path, tag: str) -> None:
    app = make_app(tmp_path / "app", tag, "v")
    ok(scoot(app, "apply", "--yes"))
    running = set(tagged(tag))
    (app / "scoot.lock").unlink()
    plan = ok(scoot(app, "plan"))
    assert "found running that scoot.lock does not record" in plan, plan
    assert "api.web (compute) found running, though scoot.lock does not record it" in plan
    ok(scoot(app, "apply", "--yes"))
    assert set(tagged(tag)) == running  # adopted, not started a second time
    assert_runs_as_recorded(app, tag, "v")

    # Lost again, and changed meanwhile: what runs is updated to what is wanted.
    (app / "scoot.lock").unlink()
    (app / "architecture.sct").write_text(architecture(tag, "w"))
    plan = ok(scoot(app, "plan"))
    assert "api.web (compute) will be updated in place" in plan, plan
    ok(scoot(app, "apply", "--yes"))
    assert_runs_as_recorded(app, tag, "w")
    assert len(tagged(tag)) == len(running)


def test_what_runs_unrecorded_and_unwanted_is_left_alone(tmp_path: Path, tag: str) -> None:
    """Not recorded, not wanted: another branch's or clone's, perhaps. Listed, never stopped."""
    app = make_app(tmp_path / "app", tag, "v")
    ok(scoot(app, "apply", "--yes"))
    [jobs] = [pid for pid, env in tagged(tag).items() if json.loads(env["ARGV"])[-1] == "jobs-v"]
    (app / "scoot.lock").unlink()
    (app / "architecture.sct").write_text(
        architecture(tag, "v").replace("compute jobs", "compute gone_jobs").replace("jobs-", "gone-")
    )
    plan = ok(scoot(app, "plan"))
    assert "= api.jobs (compute) found, not recorded in scoot.lock and not in the architecture: left alone" in plan
    assert "api.jobs (compute) will be deleted" not in plan, plan
    ok(scoot(app, "apply", "--yes"))
    assert jobs in tagged(tag)
    assert set(recorded(app)) == set(tagged(tag)) - {jobs}  # the rest runs as recorded, jobs beside it
    ok(scoot(app, "destroy", "--yes"))
    assert set(tagged(tag)) == {jobs}
