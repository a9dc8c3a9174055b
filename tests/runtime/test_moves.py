"""`moved` blocks applied with their data: through the CLI, on real files and processes.

A store renamed keeps its data under its new name; a component renamed moves its
objects; a compute renamed runs under its new name (a new process, the old one gone);
a move that matches nothing is a warning; one that changes the kind is an error; a
move killed half-way converges at the next apply."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.runtime.test_crash_safety import SERVER, get, marked_processes, owner, start_scoot

DATA = ".scoots/data"


def scoot(app: Path, *args: str, code: int = 0) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "scoot_cli", *args, str(app)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == code, run.stdout + run.stderr
    return run.stdout + run.stderr


def write(app: Path, body: str, moved: str = "", component: str = "api") -> None:
    (app / "architecture.sct").write_text(
        f'application moving {{ owner = "acme" }}\n\ncomponent {component} {{\n  source = "./app"\n{body}\n}}\n{moved}\n'
    )


STORES = '''
  storage {db} {{ engine = "sqlite" }}
  storage {files} {{ engine = "directory" }}
'''


COMPUTE = '''
  compute {name} {{
    command = ["{python}", "server.py"]
    port    = {port}
    health  = "/"
    env     = {{ GREETING = "{greeting}" }}
  }}
'''


def recorded(app: Path) -> dict[str, dict[str, object]]:
    objects: dict[str, dict[str, object]] = json.loads((app / "scoot.lock").read_text())["targets"]["local"]["objects"]
    return objects


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "moving"
    (root / "app").mkdir(parents=True)
    (root / "app" / "server.py").write_text(SERVER)
    yield root
    if (root / ".scoots" / "local" / "owner.json").exists():
        for pid in marked_processes(owner(root)):
            os.kill(pid, signal.SIGKILL)


def test_a_store_renamed_keeps_its_data(app: Path) -> None:
    write(app, STORES.format(db="orders", files="uploads"))
    scoot(app, "apply", "--yes")
    with sqlite3.connect(app / DATA / "api/orders.sqlite") as db:
        db.execute("create table t (v text)")
        db.execute("insert into t values ('kept')")
    (app / DATA / "api/uploads/a.txt").write_text("a file")

    moves = "moved {\n  from = api.orders\n  to = api.store\n}\nmoved {\n  from = api.uploads\n  to = api.files\n}\n"
    write(app, STORES.format(db="store", files="files"), moves)
    plan = scoot(app, "plan")
    assert "→ api.orders (storage) will be moved to api.store" in plan, plan
    assert "→ api.uploads (storage) will be moved to api.files" in plan, plan
    assert "will be deleted" not in plan and "will be created" not in plan
    assert "2 to move" in plan
    data = json.loads(scoot(app, "plan", "--json"))
    moved = {c["address"]: c["moved_from"] for c in data["changes"] if c["action"] == "move"}
    assert moved == {"api.store": "api.orders", "api.files": "api.uploads"}

    scoot(app, "apply", "--yes")
    with sqlite3.connect(app / DATA / "api/store.sqlite") as db:
        assert db.execute("select v from t").fetchall() == [("kept",)]
    assert (app / DATA / "api/files/a.txt").read_text() == "a file"
    assert not (app / DATA / "api/orders.sqlite").exists() and not (app / DATA / "api/uploads").exists()
    assert sorted(recorded(app)) == ["api.files", "api.store"]
    assert recorded(app)["api.store"]["outputs"] == {"path": f"{DATA}/api/store.sqlite"}
    # The block may stay: it matches nothing now, and says so.
    again = scoot(app, "plan", "--detailed-exitcode")
    assert "No changes" in again and "Warning: moved from `api.orders` to `api.store`" in again, again


def test_a_component_renamed_moves_its_objects_and_what_uses_them_follows(app: Path) -> None:
    port = free_port()
    body = STORES.format(db="orders", files="uploads") + f'''
  compute web {{
    command = ["{sys.executable}", "server.py"]
    port    = {port}
    health  = "/"
    env     = {{ GREETING = orders.path }}
  }}
'''
    write(app, body, component="billing")
    scoot(app, "apply", "--yes")
    (app / DATA / "billing/uploads/a.txt").write_text("a file")
    assert get(f"http://127.0.0.1:{port}/") == f"ok {DATA}/billing/orders.sqlite".replace(DATA, str(app / DATA))

    write(app, body, "moved {\n  from = billing\n  to = payments\n}\n", component="payments")
    plan = scoot(app, "plan")
    for name in ("orders", "uploads", "web"):
        assert f"billing.{name} " in plan and f"will be moved to payments.{name}" in plan, plan
    scoot(app, "apply", "--yes")
    assert (app / DATA / "payments/uploads/a.txt").read_text() == "a file"
    assert not (app / DATA / "billing").exists()
    assert sorted(recorded(app)) == ["payments.orders", "payments.uploads", "payments.web"]
    assert recorded(app)["payments.web"]["depends_on"] == ["payments.orders"]
    # The reference followed the store to its new path; the compute runs under its new name.
    assert get(f"http://127.0.0.1:{port}/") == f"ok {app / DATA}/payments/orders.sqlite"
    markers = sorted(marked_processes(owner(app)).values())
    assert markers == [f"{owner(app)}payments.web/0"], markers
    assert "No changes" in scoot(app, "plan", "--detailed-exitcode")


def test_a_compute_renamed_runs_under_its_new_name(app: Path) -> None:
    port = free_port()
    write(app, COMPUTE.format(name="web", python=sys.executable, port=port, greeting="hi"))
    scoot(app, "apply", "--yes")
    (old,) = marked_processes(owner(app))

    # Moved and updated at once: shown together, done in that order.
    moves = "moved {\n  from = api.web\n  to = api.site\n}\n"
    write(app, COMPUTE.format(name="site", python=sys.executable, port=port, greeting="moved"), moves)
    plan = scoot(app, "plan")
    assert "→ api.web (compute) will be moved to api.site and updated in place" in plan, plan
    assert '~ env.GREETING: "hi" → "moved"' in plan or "GREETING" in plan
    scoot(app, "apply", "--yes")
    assert get(f"http://127.0.0.1:{port}/") == "ok moved"
    live = marked_processes(owner(app))
    assert old not in live and sorted(live.values()) == [f"{owner(app)}api.site/0"], live
    assert sorted(recorded(app)) == ["api.site"]
    assert "No changes" in scoot(app, "plan", "--detailed-exitcode")


def test_a_move_whose_old_version_cannot_start_again_records_what_runs(app: Path) -> None:
    """Moved and updated at once, the program gone since it started: the move's new process
    fails and the old one does not start again. scoot.lock then records the object at its
    new address running nothing (nothing at the old), and the next plan creates it."""
    port = free_port()
    write(app, COMPUTE.format(name="web", python=sys.executable, port=port, greeting="hi"))
    scoot(app, "apply", "--yes")
    assert get(f"http://127.0.0.1:{port}/") == "ok hi"
    moves = "moved {\n  from = api.web\n  to = api.site\n}\n"
    write(app, COMPUTE.format(name="site", python=sys.executable, port=port, greeting="moved"), moves)
    server = app / "app" / "server.py"
    server.unlink()

    failed = scoot(app, "apply", "--yes", code=1)
    assert "did not start again either" in failed and "nothing of api.web runs now" in failed, failed
    assert not marked_processes(owner(app))
    assert recorded(app) == {"api.site": recorded(app)["api.site"]}, sorted(recorded(app))
    assert recorded(app)["api.site"]["identity"] == {"replicas": []}
    status = json.loads(scoot(app, "status", "--json"))
    assert {o["address"]: o["observed"] for o in status["objects"]} == {"api.site": "missing"}

    server.write_text(SERVER)
    plan = scoot(app, "plan")
    assert "! api.site (compute) is gone: it will be created again" in plan, plan
    scoot(app, "apply", "--yes")
    assert get(f"http://127.0.0.1:{port}/") == "ok moved"
    assert sorted(marked_processes(owner(app)).values()) == [f"{owner(app)}api.site/0"]
    assert recorded(app)["api.site"]["identity"] == {"replicas": [0]}
    assert "No changes" in scoot(app, "plan", "--detailed-exitcode")


def test_a_move_matching_nothing_is_a_warning_and_a_kind_mismatch_an_error(app: Path) -> None:
    write(app, '  storage orders { engine = "sqlite" }\n', "moved {\n  from = api.gone\n  to = api.orders\n}\n")
    plan = scoot(app, "plan")
    assert "Warning: moved from `api.gone` to `api.orders`: scoot.lock records nothing at `api.gone`" in plan
    assert "api.orders (storage) will be created" in plan
    scoot(app, "apply", "--yes")

    compute = f'  compute orders2 {{\n    command = ["{sys.executable}", "server.py"]\n  }}\n'
    write(app, compute, "moved {\n  from = api.orders\n  to = api.orders2\n}\n")
    failed = scoot(app, "plan", code=1)
    assert "api.orders2" in failed and "scoot.lock records as a storage" in failed and "is a compute" in failed, failed
    assert sorted(recorded(app)) == ["api.orders"]


def test_a_move_killed_half_way_converges(app: Path) -> None:
    port = free_port()
    compute = f'''
  compute {{name}} {{{{
    command = ["{sys.executable}", "server.py"]
    port    = {port}
    health  = "/"
    env     = {{{{ GREETING = "hi", START_DELAY = "0.5" }}}}
  }}}}
  storage {{db}} {{{{ engine = "sqlite" }}}}
'''
    write(app, compute.format(name="web", db="orders"))
    scoot(app, "apply", "--yes")
    moves = "moved {\n  from = api.web\n  to = api.site\n}\nmoved {\n  from = api.orders\n  to = api.store\n}\n"
    write(app, compute.format(name="site", db="store"), moves)
    journal = app / ".scoots" / "journal" / "local.jsonl"
    run = start_scoot(app, "apply", "--yes")
    # Killed while the compute's move waits for its new process to be healthy.
    deadline = time.monotonic() + 60
    while '"operation":"move"' not in (journal.read_text() if journal.exists() else ""):
        assert run.poll() is None and time.monotonic() < deadline, "the apply ended before moving"
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert sorted(recorded(app)) == ["api.orders", "api.web"]  # scoot.lock is not written mid-run
    scoot(app, "apply", "--yes")
    assert sorted(recorded(app)) == ["api.site", "api.store"]
    assert get(f"http://127.0.0.1:{port}/") == "ok hi"
    assert sorted(marked_processes(owner(app)).values()) == [f"{owner(app)}api.site/0"]
    assert (app / DATA / "api/store.sqlite").is_file() and not (app / DATA / "api/orders.sqlite").exists()
    assert "No changes" in scoot(app, "plan", "--detailed-exitcode")


def test_a_saved_plan_and_only_carry_the_move(app: Path, tmp_path: Path) -> None:
    write(app, STORES.format(db="orders", files="uploads"))
    scoot(app, "apply", "--yes")
    (app / DATA / "api/uploads/a.txt").write_text("a file")
    moves = "moved {\n  from = api.orders\n  to = api.store\n}\nmoved {\n  from = api.uploads\n  to = api.files\n}\n"
    write(app, STORES.format(db="store", files="files"), moves)

    # --only the new address (or the old one) plans its move, and leaves the other out.
    for named in ("api.files", "api.uploads"):
        only = scoot(app, "plan", "--only", named)
        assert "→ api.uploads (storage) will be moved to api.files" in only and "left out (api.store)" in only, only
        assert "api.orders (storage) will be moved" not in only
    saved = tmp_path / "move.plan"
    scoot(app, "plan", "--only", "api.files", "-o", str(saved))
    applied = subprocess.run(
        [sys.executable, "-m", "scoot_cli", "apply", "--yes", str(saved)], capture_output=True, text=True, timeout=120
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (app / DATA / "api/files/a.txt").read_text() == "a file"
    assert sorted(recorded(app)) == ["api.files", "api.orders"]
    assert "→ api.orders (storage) will be moved to api.store" in scoot(app, "plan")


def test_import_takes_up_an_existing_folder_and_sqlite_file(app: Path, tmp_path: Path) -> None:
    write(app, STORES.format(db="orders", files="uploads"))
    existing = tmp_path / "old-uploads"
    existing.mkdir()
    (existing / "a.txt").write_text("a file")
    database = tmp_path / "old.sqlite"
    with sqlite3.connect(database) as db:
        db.execute("create table t (v text)")
        db.execute("insert into t values ('kept')")

    imported = scoot(app, "import", "api.uploads", str(existing))
    assert "Imported api.uploads (storage)" in imported and "api.orders (storage) will be created" in imported, imported
    assert "api.uploads (storage) will be" not in imported  # recorded as it is: nothing to do
    scoot(app, "import", "api.orders", str(database))
    assert (app / DATA / "api/uploads/a.txt").read_text() == "a file" and not existing.exists()
    assert "No changes" in scoot(app, "plan", "--detailed-exitcode")
    with sqlite3.connect(app / DATA / "api/orders.sqlite") as db:
        assert db.execute("select v from t").fetchall() == [("kept",)]

    # Clear refusals: an address the architecture does not declare, a path that is not
    # there, one already recorded, a file for a folder, a running process.
    unknown = scoot(app, "import", "api.upload", str(tmp_path), code=1)
    assert "`api.upload` is not an object of the architecture (did you mean `api.uploads`?)" in unknown, unknown
    assert "is recorded in scoot.lock already" in scoot(app, "import", "api.uploads", str(tmp_path), code=1)
    write(app, STORES.format(db="orders", files="uploads") + '  storage more { engine = "directory" }\n')
    missing = scoot(app, "import", "api.more", str(tmp_path / "nowhere"), code=1)
    assert "nowhere does not exist; give the path of a folder" in missing, missing
    (tmp_path / "file.txt").write_text("x")
    assert "is not a folder" in scoot(app, "import", "api.more", str(tmp_path / "file.txt"), code=1)


def test_import_refuses_a_running_process_and_forget_leaves_what_it_names(app: Path) -> None:
    body = f'  compute web {{\n    command = ["{sys.executable}", "-c", "import time; time.sleep(600)"]\n  }}\n'
    write(app, body + '  storage orders { engine = "sqlite" }\n')
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        refused = scoot(app, "import", "api.web", str(process.pid), code=1)
        assert "cannot import a running process" in refused and "never signals a process it did not start" in refused
        assert process.poll() is None  # untouched
    finally:
        process.kill()
        process.wait()

    write(app, '  storage orders { engine = "sqlite" }\n')
    scoot(app, "apply", "--yes")
    still = scoot(app, "forget", "api.orders", code=1)
    assert "`api.orders` is still in the architecture" in still and "Take it out of the architecture first" in still
    write(app, '  storage other { engine = "directory" }\n')
    assert "Forgot api.orders (storage)" in scoot(app, "forget", "api.orders")
    assert "api.orders" not in recorded(app)
    assert "api.orders" not in scoot(app, "plan")
    scoot(app, "destroy", "--yes", "--delete-data")
    assert (app / DATA / "api/orders.sqlite").is_file()  # forgotten: not scoot's to delete any more
    assert "records no `api.nothing`" in scoot(app, "forget", "api.nothing", code=1)


def test_a_move_journalled_and_not_committed_is_replayed_whole(tmp_path: Path) -> None:
    from scoot_runtime.state import ObjectState, StateStore

    store = StateStore(tmp_path, "local", "local")
    store.load()
    store.begin()
    store.result("api.orders", ObjectState(kind="storage", config={}, outputs={"path": "old"}))
    store.result("api.web", ObjectState(kind="compute", config={}, depends_on=["api.orders"]))
    store.commit()
    store.load()
    store.begin()
    store.intent("api.store", "move", "storage")
    store.moved("api.orders", "api.store", ObjectState(kind="storage", config={}, outputs={"path": "new"}))
    store.close()  # killed before scoot.lock was written: the journal holds the move

    after = StateStore(tmp_path, "local", "local").load()
    assert sorted(after.objects) == ["api.store", "api.web"] and not after.pending
    assert after.objects["api.store"].outputs == {"path": "new"}
    assert after.objects["api.web"].depends_on == ["api.store"]
