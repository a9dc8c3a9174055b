"""The local driver's specifics, on real processes and files."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from scoot_model.objects import placed_outputs
from scoot_runtime import drivers
from scoot_runtime.conformance import context_for, make_spec, record
from scoot_runtime.drivers.base import Address, Created, ObjectSpec, Recorded
from scoot_runtime.drivers.local import LocalDriver, LocalDriverError
from scoot_runtime.drivers.local import processes as local_processes
from scoot_runtime.drivers.local.paths import inside, log_path, owner
from scoot_runtime.plugins import MissingDependency
from tests.ports import free_port
from tests.waiting import wait_for

T = TypeVar("T")

SERVER = """
import http.server, os
http.server.ThreadingHTTPServer(
    ("127.0.0.1", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler
).serve_forever()
"""
SECRET = "s3cret-value-that-must-not-leak"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)



def alive(pid: int) -> bool:
    """Alive in /proc: there and not a zombie."""
    local_processes.reap()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def pids(driver: LocalDriver, address: str = "api.web") -> list[int]:
    """The pids of an object's replicas, by replica, found as the driver finds them: by their
    marker (scoot.lock records no pid)."""
    found = local_processes.scan(driver.owner, address)
    return [p.pid for p in sorted(found, key=lambda p: p.replica or 0) if p.leader]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    return folder


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[LocalDriver]:
    local = LocalDriver(context_for(tmp_path, grace_period=2, health_timeout=10))
    yield local
    # Whatever a test started, even one that failed, ends here; then fail if anything was left.
    left = local_processes.scan(local.owner)
    run(local_processes.terminate(left, grace=0))
    assert not left, f"processes left running: {[p.pid for p in left]}"


def compute(source: Path, name: str = "web", **config: Any) -> ObjectSpec:
    return make_spec(Address("api", name), "compute", config, source)


def storage(engine: str, name: str = "orders") -> ObjectSpec:
    return make_spec(Address("api", name), "storage", {"engine": engine})


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# --- registration and options ----------------------------------------------------


def test_registered_under_its_entry_point() -> None:
    assert drivers.load("local") is LocalDriver
    assert LocalDriver.name == "local" and LocalDriver.parallelism is None


def test_a_driver_whose_dependency_is_missing_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin registered by an installed distribution, its own import failing (as `aws`
    without boto3): a message naming the module, not an internal error."""
    info = tmp_path / "cloudy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cloudy\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[scoot.cloud_drivers]\ncloudy = cloudy_driver:Driver\n")
    (tmp_path / "cloudy_driver.py").write_text("import cloudy_sdk_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingDependency, match=r"`cloudy` needs the Python module `cloudy_sdk_not_installed`.*install what cloudy needs"):
        drivers.load("cloudy")


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LocalDriverError, match="health_timeout"):
        LocalDriver(context_for(tmp_path, health_timeout="soon"))
    with pytest.raises(LocalDriverError, match="pass_env"):
        LocalDriver(context_for(tmp_path, pass_env="HOME"))


def test_paths_stay_inside_the_workspace(tmp_path: Path) -> None:
    assert inside(tmp_path, "logs", "a.log") == tmp_path.resolve() / "logs" / "a.log"
    for names in (("..", "x"), ("/etc/passwd",), ("data", "..", "..", "x"), ()):
        with pytest.raises(LocalDriverError):
            inside(tmp_path, *names)


# --- check and diff --------------------------------------------------------------------


def test_check_names_the_engines_it_provides(driver: LocalDriver) -> None:
    [failure] = driver.check(storage("queue"))
    assert failure.key == "engine"
    assert "`sqlite`, `directory`, `bucket` and `table`, not `queue`" in failure.message
    for engine in ("sqlite", "directory", "bucket", "table"):
        assert driver.check(storage(engine)) == []


def test_diff_says_which_outputs_an_update_changes(driver: LocalDriver) -> None:
    """A new port moves `url` and `port` (the plan shows their users as known after apply)."""
    web = Address("api", "web")
    before = make_spec(web, "compute", {"command": ["serve"], "port": 8080, "replicas": 1})
    applied = record(before, Created({}, {"url": "http://127.0.0.1:8080", "port": 8080}))
    moved = make_spec(web, "compute", {"command": ["serve"], "port": 9090, "replicas": 1})
    assert driver.diff(moved, applied).outputs == ("port", "url")
    scaled = make_spec(web, "compute", {"command": ["serve"], "port": 8080, "replicas": 2})
    assert driver.diff(scaled, applied).changed == ("replicas",) and driver.diff(scaled, applied).outputs == ()


def test_check_compute(driver: LocalDriver, source: Path) -> None:
    assert driver.check(compute(source, command=["x"], port=80, health="/", env={"A": 1})) == []
    keys = {
        f.key
        for spec in (
            compute(source, command=[]),
            compute(source, command=["a", "b"], shell=True),
            compute(source, command=["x"], health="/healthz"),  # a path needs a port
            compute(source, command=["x"], health="healthz"),
            compute(source, command=["x"], port=65535, replicas=2),
            compute(source, command=["x"], env={"SCOOT_OBJECT": "x"}),
        )
        for f in driver.check(spec)
    }
    assert keys == {"command", "shell", "health", "port", "env"}  # shell: `shell = true` takes one script
    [failure] = driver.check(make_spec(Address("a", "b"), "queue", {}))
    assert "queue" in failure.message


def test_a_new_engine_needs_a_replacement(driver: LocalDriver) -> None:
    old = storage("sqlite")
    recorded = record(old, Created({}, {}))
    assert driver.diff(storage("directory"), recorded).replace == ("engine",)
    resized = make_spec(old.address, "storage", {"engine": "sqlite", "size": "1GB"})
    result = driver.diff(resized, recorded)
    assert result.changed == ("size",) and result.replace == ()


# --- compute -------------------------------------------------------------------------


def test_argv_is_never_run_through_a_shell(driver: LocalDriver, source: Path) -> None:
    hostile = ["; touch pwned", "$(touch pwned2)", "`touch pwned3`", "&& touch pwned4", "a b", "*"]
    code = "import json, sys, time; open('args.json', 'w').write(json.dumps(sys.argv[1:])); time.sleep(600)"
    spec = compute(source, command=[*python(code), *hostile])
    created = run(driver.create(spec))
    try:
        wait_for(lambda: (source / "args.json").exists() and (source / "args.json").read_text())
        assert json.loads((source / "args.json").read_text()) == hostile
        assert not list(source.glob("pwned*")) and not list(Path.cwd().glob("pwned*"))
    finally:
        run(driver.delete(spec, record(spec, created)))


def test_shell_true_runs_the_script_with_sh(driver: LocalDriver, source: Path) -> None:
    spec = compute(source, command=["echo $((1 + 2)) > out.txt; exec sleep 600"], shell=True)
    created = run(driver.create(spec))
    try:
        wait_for(lambda: (source / "out.txt").exists())
        assert (source / "out.txt").read_text() == "3\n"
    finally:
        run(driver.delete(spec, record(spec, created)))


def test_env_reaches_the_process_and_scoot_env_does_not(
    driver: LocalDriver, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCOOT_TEST_PRIVATE", "not for the process")
    port = free_port()
    code = "import json, os, time; open('env.json', 'w').write(json.dumps(dict(os.environ))); time.sleep(600)"
    env = {"TOKEN": SECRET, "COUNT": 3, "RATIO": 0.5, "ON": True, "OFF": False, "PORT": 1}
    spec = compute(source, command=python(code), env=env, port=port, health=["true"])
    created = run(driver.create(spec))
    try:
        wait_for(lambda: (source / "env.json").exists() and (source / "env.json").read_text())
        seen = json.loads((source / "env.json").read_text())
        assert {k: seen[k] for k in ("TOKEN", "COUNT", "RATIO", "ON", "OFF")} == {
            "TOKEN": SECRET,
            "COUNT": "3",
            "RATIO": "0.5",
            "ON": "true",
            "OFF": "false",
        }
        assert seen["PORT"] == str(port)  # the port wins over an env PORT
        assert seen["SCOOT_OBJECT"] == f"{driver.owner}/api.web/0"
        assert "SCOOT_TEST_PRIVATE" not in seen and seen["PATH"]
        assert created.outputs == {
            "host": "127.0.0.1",
            "port": port,
            "url": f"http://127.0.0.1:{port}",
        }
    finally:
        run(driver.delete(spec, record(spec, created)))
    # The secret is in the process's environment only: in no log, no state.
    for file in driver.context.workspace.rglob("*"):
        if file.is_file():
            assert SECRET not in file.read_text(errors="replace")
    assert SECRET not in json.dumps(created.identity) + json.dumps(created.outputs)


def test_pass_env_option_passes_named_variables(
    tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCOOT_TEST_SHARED", "shared")
    local = LocalDriver(context_for(tmp_path, pass_env=["SCOOT_TEST_SHARED"]))
    code = "import os, time; open('v', 'w').write(os.environ['SCOOT_TEST_SHARED']); time.sleep(600)"
    spec = compute(source, command=python(code))
    created = run(local.create(spec))
    try:
        wait_for(lambda: (source / "v").exists() and (source / "v").read_text() == "shared")
    finally:
        run(local.delete(spec, record(spec, created)))


def test_output_goes_to_a_private_log(driver: LocalDriver, source: Path) -> None:
    spec = compute(
        source, command=python("import time; print('hello log', flush=True); time.sleep(600)")
    )
    created = run(driver.create(spec))
    log = log_path(driver.context.workspace, driver.context.target, spec.address, 0)
    try:
        wait_for(lambda: "hello log" in log.read_text())
        assert log.stat().st_mode & 0o777 == 0o600
    finally:
        run(driver.delete(spec, record(spec, created)))


def test_a_process_outlives_its_starter_in_its_own_session(
    driver: LocalDriver, source: Path
) -> None:
    spec = compute(source, command=python("import time; time.sleep(600)"))
    created = run(driver.create(spec))
    try:
        [pid] = pids(driver)
        found = local_processes.inspect(pid)
        assert found is not None and found.leader and found.pgid == pid
        assert Path(f"/proc/{pid}/cwd").resolve() == source.resolve()
    finally:
        run(driver.delete(spec, record(spec, created)))


def test_workdir_may_not_leave_the_source(
    driver: LocalDriver, source: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (source / "link").symlink_to(outside)
    spec = compute(source, command=["true"], workdir="link")
    with pytest.raises(LocalDriverError, match="leaves the component's source"):
        run(driver.create(spec))


def test_workdir_inside_the_source(driver: LocalDriver, source: Path) -> None:
    (source / "sub").mkdir()
    spec = compute(source, command=python("import time; time.sleep(600)"), workdir="sub")
    created = run(driver.create(spec))
    try:
        assert Path(f"/proc/{pids(driver)[0]}/cwd").resolve() == (source / "sub").resolve()
    finally:
        run(driver.delete(spec, record(spec, created)))


def test_killed_out_of_band_is_drift(driver: LocalDriver, source: Path) -> None:
    spec = compute(source, command=python("import time; time.sleep(600)"), replicas=2)
    created = run(driver.create(spec))
    recorded = record(spec, created)
    try:
        assert created.identity == {"replicas": [0, 1]}
        first, second = pids(driver)
        os.kill(second, signal.SIGKILL)
        wait_for(lambda: not alive(second))
        observed = run(driver.read(spec, recorded))
        assert observed is not None
        assert observed.drift == ("replica 1 is not running",)
        assert observed.identity == {"replicas": [0]} and pids(driver) == [first]
        # Nothing runs at all: the object is gone.
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: not alive(first))
        assert run(driver.read(spec, recorded)) is None
    finally:
        run(driver.delete(spec, recorded))


def test_delete_leaves_no_process(tmp_path: Path, source: Path) -> None:
    """Children in the group, a grandchild that left it, a leader that ignores SIGTERM: all end."""
    local = LocalDriver(context_for(tmp_path, grace_period=0.5))
    code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen(['sleep', '600'])\n"
        "subprocess.Popen(['sleep', '601'], start_new_session=True)\n"
        "open('ready', 'w').close()\n"
        "time.sleep(600)\n"
    )
    spec = compute(source, command=python(code), replicas=2)
    created = run(local.create(spec))
    wait_for(lambda: (source / "ready").exists())
    family = local_processes.scan(local.owner, "api.web")
    assert len(family) == 6  # two replicas, each with two children carrying the marker
    # The child that started a session of its own is not taken for a replica.
    found = run(local.read(spec, None))
    assert found is not None and found.identity == created.identity and not found.drift
    started = time.monotonic()
    run(local.delete(spec, record(spec, created)))
    assert time.monotonic() - started < 5
    assert not [p.pid for p in family if alive(p.pid)]
    assert local_processes.scan(local.owner) == []


def test_update_replaces_replicas_one_by_one(driver: LocalDriver, source: Path) -> None:
    port = free_port(2)
    spec = compute(source, command=python(SERVER), port=port, replicas=2, env={"V": 1})
    created = run(driver.create(spec))
    before = pids(driver)
    changed = compute(source, command=python(SERVER), port=port, replicas=2, env={"V": 2})
    updated = run(driver.update(changed, record(spec, created)))
    try:
        after = pids(driver)
        assert len(after) == 2 and set(after).isdisjoint(before)
        assert not any(alive(pid) for pid in before)
        # Each replica listens on its own port: port + replica.
        for replica in (0, 1):
            socket.create_connection(("127.0.0.1", port + replica), timeout=2).close()
    finally:
        run(driver.delete(changed, record(changed, updated)))


def test_a_second_create_takes_over_by_name(driver: LocalDriver, source: Path) -> None:
    """A create repeated after a crash (no record of the first) leaves one set of processes."""
    spec = compute(source, command=python("import time; time.sleep(600)"))
    run(driver.create(spec))
    [first] = pids(driver)
    second = run(driver.create(spec))
    try:
        assert not alive(first) and pids(driver) != [first] and len(pids(driver)) == 1
    finally:
        run(driver.delete(spec, record(spec, second)))


def test_health_timeout_kills_the_process_and_shows_its_log(tmp_path: Path, source: Path) -> None:
    local = LocalDriver(context_for(tmp_path, health_timeout=1))
    code = "import time; print('booting, but never listening', flush=True); time.sleep(600)"
    spec = compute(
        source, command=python(code), port=free_port(), health="/healthz", env={"TOKEN": SECRET}
    )
    with pytest.raises(LocalDriverError) as failure:
        run(local.create(spec))
    message = str(failure.value)
    assert "not healthy within 1 s" in message and "GET /healthz" in message
    assert "booting, but never listening" in message and "api.web.0.log" in message
    assert SECRET not in message
    assert local_processes.scan(local.owner) == []


def test_a_process_that_exits_early_fails_with_its_log(driver: LocalDriver, source: Path) -> None:
    spec = compute(
        source,
        command=python("import sys; print('bad configuration'); sys.exit(3)"),
        port=free_port(),
    )
    with pytest.raises(LocalDriverError) as failure:
        run(driver.create(spec))
    assert "exited with code 3" in str(failure.value) and "bad configuration" in str(failure.value)


def test_a_missing_program_is_a_clear_error(driver: LocalDriver, source: Path) -> None:
    with pytest.raises(LocalDriverError, match="cannot start `no-such-program-here`"):
        run(driver.create(compute(source, command=["no-such-program-here"])))


def test_health_command(driver: LocalDriver, source: Path) -> None:
    port = free_port()
    # The probe runs in the process's folder, with its environment, and says it ran.
    probe = python(
        "import os, pathlib, socket; socket.create_connection(('127.0.0.1', int(os.environ['PORT'])), 1);"
        "pathlib.Path('probed').write_text(os.environ['PORT'])"
    )
    spec = compute(source, command=python(SERVER), port=port, health=probe)
    created = run(driver.create(spec))
    try:
        assert (source / "probed").read_text() == str(port)
    finally:
        run(driver.delete(spec, record(spec, created)))


def test_a_health_command_that_fails_fails_the_create(tmp_path: Path, source: Path) -> None:
    impatient = LocalDriver(context_for(tmp_path, grace_period=2, health_timeout=1))
    spec = compute(source, command=python(SERVER), port=free_port(), health=python("raise SystemExit(1)"))
    with pytest.raises(LocalDriverError, match=r"healthy means the health command `.*` exiting 0"):
        run(impatient.create(spec))
    assert local_processes.scan(impatient.owner) == []  # stopped, not left running


def test_a_port_already_taken_is_refused(driver: LocalDriver, source: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LocalDriverError, match=f"port {port} is already in use"):
            run(driver.create(compute(source, command=python(SERVER), port=port)))


def test_a_pid_in_a_record_is_never_taken_for_ours(driver: LocalDriver, source: Path) -> None:
    """A record of an earlier version named pids: one that is alive, even with its very start
    time, is not this folder's (its marker says whose a process is), and is never signalled."""
    stranger = subprocess.Popen(["sleep", "600"])
    try:
        found = local_processes.inspect(stranger.pid)
        assert found is not None
        old = Recorded(
            "compute",
            {},
            {},
            {"processes": [{"replica": 0, "pid": stranger.pid, "start_time": found.start_time}]},
            {},
        )
        spec = compute(source, command=["sleep", "600"])
        assert run(driver.read(spec, old)) is None
        run(driver.delete(spec, old))
        assert stranger.poll() is None and local_processes.is_running(found.proc)
    finally:
        stranger.kill()
        stranger.wait()


def test_read_goes_by_the_marker(driver: LocalDriver, source: Path) -> None:
    """What runs is found by its marker: a record is compared by its replicas, and no pid is recorded."""
    spec = compute(source, command=python("import time; time.sleep(600)"))
    created = run(driver.create(spec))
    [pid] = pids(driver)
    assert created.identity == {"replicas": [0]}

    def recorded(identity: dict[str, Any]) -> Recorded:
        return Recorded("compute", {}, dict(spec.digests), identity, {}, spec.revision)

    try:
        # An earlier version's record, its pid long gone: read by its replicas.
        old = run(driver.read(spec, recorded({"processes": [{"replica": 0, "pid": pid + 1, "start_time": 1}]})))
        assert old is not None and old.identity == created.identity and not old.drift
        unknown = run(driver.read(spec, recorded({"replicas": []})))
        assert unknown is not None and unknown.identity == created.identity
        assert unknown.drift == (f"replica 0 runs as pid {pid}, which the state does not record",)
    finally:
        run(driver.delete(spec, record(spec, created)))


# --- storage --------------------------------------------------------------------------


def test_a_store_replaced_is_made_before_the_old_one_goes_and_its_data_deleted_only_if_asked(
    driver: LocalDriver,
) -> None:
    old = storage("sqlite")
    made = run(driver.create(old))
    path = driver.context.root / made.outputs["path"]
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders (id INTEGER)")
    db.close()
    recorded = record(old, made)

    # The same engine is the same file: taken up as it is.
    assert run(driver.replace(old, recorded)) == made
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("orders",)]
    db.close()

    # Another engine: the new store is made, the old one's data stays.
    folder = storage("directory")
    replaced = run(driver.replace(folder, recorded))
    assert (driver.context.root / replaced.outputs["path"]).is_dir() and path.is_file()
    assert run(driver.read(folder, record(folder, replaced))) is not None

    # Back, with --delete-data: the folder's data goes, once the new file exists.
    again = run(driver.replace(old, record(folder, replaced), delete_data=True))
    assert again == made and path.is_file()
    assert not (driver.context.root / replaced.outputs["path"]).exists()

    # The same engine with --delete-data: a store started empty, as asked.
    run(driver.replace(old, recorded, delete_data=True))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == []
    db.close()


@pytest.mark.parametrize("engine", ["sqlite", "directory"])
def test_storage_data_survives_delete_unless_asked(driver: LocalDriver, engine: str) -> None:
    spec = storage(engine)
    created = run(driver.create(spec))
    # Recorded relative to the application folder: scoot.lock holds no path of one machine.
    relative = Path(created.outputs["path"])
    assert not relative.is_absolute() and relative.is_relative_to(Path(".scoots", "targets", "test", "data", "api"))
    assert created.identity == {"engine": engine}
    path = driver.context.root / relative
    if engine == "sqlite":
        assert path.name == "orders.sqlite" and path.read_bytes().startswith(b"SQLite format 3\0")
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE orders (id INTEGER)")
            db.execute("INSERT INTO orders VALUES (7)")
        db.close()
    else:
        assert path.is_dir() and path.name == "orders"
        (path / "kept.txt").write_text("data")
    recorded = record(spec, created)

    run(driver.delete(spec, recorded))
    assert path.exists()
    # Created again, it takes up the data that was kept.
    again = run(driver.create(spec))
    assert again.identity == created.identity
    if engine == "sqlite":
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT id FROM orders").fetchall() == [(7,)]
        db.close()
    else:
        assert (path / "kept.txt").read_text() == "data"

    run(driver.delete(spec, recorded, delete_data=True))
    assert not path.exists()
    assert run(driver.read(spec, None)) is None


def test_a_clouds_stores_have_local_stand_ins_that_report_a_url(driver: LocalDriver) -> None:
    bucket = run(driver.create(storage("bucket", "pictures")))
    table = run(driver.create(storage("table", "products")))
    assert bucket.outputs["url"] == "file:.scoots/targets/test/data/api/pictures.bucket"
    assert table.outputs["url"] == "sqlite:.scoots/targets/test/data/api/products.table.sqlite"
    # Where they are used (`placed`, by the runtime), the paths and URLs are absolute.
    root = driver.context.root
    used = placed_outputs("storage", bucket.outputs, root), placed_outputs("storage", table.outputs, root)
    pictures, products = Path(used[0]["path"]), Path(used[1]["path"])
    assert pictures.is_dir() and pictures.name == "pictures.bucket"
    assert used[0]["url"] == pictures.as_uri()
    assert products.read_bytes().startswith(b"SQLite format 3\0")
    assert products.name == "products.table.sqlite"
    assert used[1]["url"] == f"sqlite://{products}"
    run(driver.delete(storage("bucket", "pictures"), record(storage("bucket", "pictures"), bucket), delete_data=True))
    run(driver.delete(storage("table", "products"), record(storage("table", "products"), table), delete_data=True))
    assert not pictures.exists() and not products.exists()


def test_storage_that_is_not_what_it_should_be_is_drift(driver: LocalDriver) -> None:
    spec = storage("sqlite")
    created = run(driver.create(spec))
    path = driver.context.root.resolve() / created.outputs["path"]
    path.write_bytes(b"not a database at all")
    observed = run(driver.read(spec, record(spec, created)))
    assert observed is not None and observed.drift == (f"{path} is not a SQLite database",)
    run(driver.delete(spec, record(spec, created), delete_data=True))


# --- connection -------------------------------------------------------------------------


def test_connection_reports_the_names_injected(driver: LocalDriver) -> None:
    spec = make_spec(
        Address("api", "web_orders"),
        "connection",
        {"from": "${api.web}", "to": "${api.orders}", "injected": ["ORDERS_PATH", "ORDERS_URL"]},
    )
    created = run(driver.create(spec))
    assert created == Created({}, {"env": "ORDERS_PATH,ORDERS_URL"})
    assert run(driver.read(spec, record(spec, created))) is not None
    assert run(driver.read(spec, None)) is None
    run(driver.delete(spec, record(spec, created)))


def test_an_interrupted_store_no_longer_wanted_is_found_without_its_configuration(tmp_path: Path) -> None:
    from scoot_runtime.conformance import context_for
    from scoot_runtime.drivers.base import Address, ObjectSpec
    from scoot_runtime.drivers.local import LocalDriver

    driver = LocalDriver(context_for(tmp_path))
    made = ObjectSpec(Address("app", "files"), "storage", {"engine": "directory"})
    asyncio.run(driver.create(made))
    bare = ObjectSpec(Address("app", "files"), "storage", {})
    found = asyncio.run(driver.read(bare, None))
    assert found is not None and found.identity["engine"] == "directory"
    assert asyncio.run(driver.read(ObjectSpec(Address("app", "other"), "storage", {}), None)) is None


# --- whose processes ------------------------------------------------------------------


def test_the_owner_token_is_the_folders_own(tmp_path: Path) -> None:
    first = tmp_path / "first" / ".scoots"
    token = owner(first)
    assert owner(first) == token and token.isalnum()
    assert owner(tmp_path / "other" / ".scoots") != token  # a clone makes its own
    # A copy with its workspace: the original still holds the token, so the copy takes another.
    shutil.copytree(first, tmp_path / "copy" / ".scoots")
    copied = owner(tmp_path / "copy" / ".scoots")
    assert copied != token and owner(first) == token
    # A move: the token goes with the folder.
    (tmp_path / "first").rename(tmp_path / "moved")
    assert owner(tmp_path / "moved" / ".scoots") == token


@pytest.mark.parametrize("content", ["", "{", '{"token": "../x", "folder": "/"}', "[]"])
def test_a_damaged_owner_file_is_refused(tmp_path: Path, content: str) -> None:
    workspace = tmp_path / ".scoots"
    (workspace / "local").mkdir(parents=True)
    (workspace / "local" / "owner.json").write_text(content)
    with pytest.raises(LocalDriverError, match=r"owner\.json is damaged"):
        owner(workspace)
    assert (workspace / "local" / "owner.json").read_text() == content  # left as it was
