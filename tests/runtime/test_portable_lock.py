"""scoot.lock is shared (committed, cloned): it holds nothing true of one machine only.

After a local apply of the examples it holds no pid, no start time and no absolute
path; the processes still get absolute paths, and `scoot status` shows them. A moved
application folder keeps its processes; a clone of an applied application starts its
own and never touches the original's. Whole-system: the real CLI, real processes, real
git (issue 14).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port
from tests.runtime.test_cli_runtime import (
    ROOT,
    app_processes,
    kill_leftovers,
    scoot,
    status_outputs,
    wait_until_gone,
)
from tests.runtime.test_git_sources import git

pytestmark = pytest.mark.slow

SECRETS = {"SHOP_ADMIN_TOKEN": "shop-token", "CATALOG_ADMIN_TOKEN": "catalog-token"}


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def assert_portable(app: Path) -> None:
    """scoot.lock names no pid, no start time and no path of this machine."""
    text = (app / "scoot.lock").read_text()
    assert str(app) not in text and str(app.resolve()) not in text, text
    found = set(strings(json.loads(text)))
    assert not found & {"pid", "start_time", "processes"}, text
    # An absolute path of this machine (a health check's `/healthz` is a URL path, not one).
    assert not [s for s in found if s.startswith("/") and len(s) > 1 and Path(s).exists()], text


def environ(pid: int) -> dict[str, str]:
    items = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in items if b"=" in item)


def marked(app: Path, address: str) -> list[dict[str, str]]:
    """The environment of each process `app` runs for `address` (found by its marker)."""
    return [
        env
        for env in (environ(pid) for pid, _ in app_processes(app))
        if env.get("SCOOT_OBJECT", "").split("/")[2:3] == [address]
    ]


@pytest.fixture
def example(tmp_path: Path) -> Iterator[list[Path]]:
    """Copies of examples to apply: every folder listed is destroyed at teardown, and what is left killed."""
    folders: list[Path] = []
    yield folders
    for folder in folders:
        if (folder / "scoot.lock").exists():
            pids = app_processes(folder)
            scoot("destroy", "--yes", str(folder), env=SECRETS)
            wait_until_gone(pids, 5)
            kill_leftovers(folder, pids)


def copy_example(name: str, to: Path, folders: list[Path]) -> Path:
    folder = to / name
    shutil.copytree(ROOT / "examples" / name, folder)
    folders.append(folder)
    return folder


def test_the_shop_records_nothing_of_this_machine_and_moves_and_clones(tmp_path: Path, example: list[Path]) -> None:
    app = copy_example("shop", tmp_path / "original", example)
    params = ("--param", f"api_port={free_port()}")
    applied = scoot("apply", "--yes", *params, str(app), env=SECRETS)
    assert applied.exit_code == 0, applied.output
    assert_portable(app)
    database = app.resolve() / ".scoots" / "data" / "api" / "orders.sqlite"
    # What uses the path has it absolute: the process, `scoot status`, the Outputs printed.
    [web] = marked(app, "api.web")
    assert web["DATABASE_PATH"] == web["ORDERS_PATH"] == str(database) and database.is_file()
    assert status_outputs(app, "api.orders")["path"] == str(database)
    assert f"api.orders  {database}" in applied.output
    theirs = app_processes(app)
    assert len(theirs) == 2

    # Committed and cloned: the clone plans to start its own, and leaves the original's alone.
    (app / ".gitignore").write_text(".scoots/\n")
    git("init", "-q", cwd=app)
    git("add", "-A", cwd=app)
    git("commit", "-q", "-m", "applied", cwd=app)
    clone = tmp_path / "clone"
    git("clone", "-q", str(app), str(clone))
    example.append(clone)
    assert (clone / "scoot.lock").read_text() == (app / "scoot.lock").read_text()
    plan = scoot("plan", *params, str(clone), env=SECRETS)
    assert plan.exit_code == 0, plan.output
    for address in ("api.web", "worker.jobs", "api.orders"):
        assert f"! {address} (" in plan.output and "it will be created again" in plan.output, plan.output
    assert "to delete" in plan.output and "0 to delete" in plan.output, plan.output
    destroyed = scoot("destroy", "--yes", str(clone), env=SECRETS)
    assert destroyed.exit_code == 0, destroyed.output
    assert app_processes(clone) == [] and app_processes(app) == theirs

    # Moved: its token, and the processes it marks, go with it; its store is found where it is now.
    moved = tmp_path / "moved"
    app.rename(moved)
    example[0] = moved
    plan = scoot("plan", "--detailed-exitcode", *params, str(moved), env=SECRETS)
    assert plan.exit_code == 0 and "No changes" in plan.output, plan.output
    assert app_processes(moved) == theirs
    assert status_outputs(moved, "api.orders")["path"] == str(moved.resolve() / ".scoots/data/api/orders.sqlite")
    assert_portable(moved)


def test_the_catalogs_bucket_and_table_are_recorded_relative(tmp_path: Path, example: list[Path]) -> None:
    app = copy_example("catalog", tmp_path, example)
    applied = scoot("apply", "--yes", "--param", f"api_port={free_port()}", str(app), env=SECRETS)
    assert applied.exit_code == 0, applied.output
    assert_portable(app)
    data = app.resolve() / ".scoots" / "data" / "api"
    [web] = marked(app, "api.web")
    assert web["PRODUCTS_URL"] == f"sqlite://{data / 'products.table.sqlite'}"
    assert web["PICTURES_URL"] == (data / "pictures.bucket").as_uri()
    assert web["PICTURES_PATH"] == str(data / "pictures.bucket") and (data / "pictures.bucket").is_dir()
    assert status_outputs(app, "api.products") == {
        "path": str(data / "products.table.sqlite"),
        "url": f"sqlite://{data / 'products.table.sqlite'}",
    }


def test_a_compute_made_again_leaves_what_uses_it_running_when_its_outputs_come_out_the_same(
    tmp_path: Path, example: list[Path]
) -> None:
    app = copy_example("shop", tmp_path, example)
    params = ("--param", f"api_port={free_port()}")
    assert scoot("apply", "--yes", *params, str(app), env=SECRETS).exit_code == 0
    [(web, _)] = [(pid, start) for pid, start in app_processes(app) if environ(pid)["SCOOT_OBJECT"].endswith("/api.web/0")]
    jobs = [pid for pid, _ in app_processes(app) if pid != web]
    os.kill(web, signal.SIGKILL)
    wait_until_gone([(web, None)])
    # The plan cannot know api.web's url before it runs again: what reads it may change.
    plan = scoot("plan", *params, str(app), env=SECRETS)
    assert "~ worker.jobs (compute) will be updated in place" in plan.output, plan.output
    assert "env: (known after apply)" in plan.output, plan.output
    # It comes out the same (the port is a param): worker.jobs is not restarted, and the
    # summary says why the planned updates were not made.
    applied = scoot("apply", "--yes", *params, str(app), env=SECRETS)
    assert applied.exit_code == 0, applied.output
    assert "1 done, 3 unneeded (known after apply, came out unchanged), 0 failed" in applied.output, applied.output
    assert "worker.jobs: update" not in applied.output, applied.output
    assert [pid for pid, _ in app_processes(app) if pid in jobs] == jobs
    again = scoot("plan", "--detailed-exitcode", *params, str(app), env=SECRETS)
    assert again.exit_code == 0 and "No changes" in again.output, again.output
