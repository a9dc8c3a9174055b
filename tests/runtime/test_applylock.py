"""One apply at a time per target, checked with real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoot_runtime.applylock import ApplyLock, HolderAlive, LockHeld, force_unlock

REPO = Path(__file__).resolve().parents[2]

HOLD = """
import sys, time
from pathlib import Path
from scoot_runtime.applylock import ApplyLock
with ApplyLock(Path(sys.argv[1]), "local", command="scoot apply"):
    print("locked", flush=True)
    time.sleep(60)
"""

TRY = """
import sys
from pathlib import Path
from scoot_runtime.applylock import ApplyLock, LockHeld
try:
    with ApplyLock(Path(sys.argv[1]), "local", command="scoot apply --yes"):
        print("acquired")
except LockHeld as error:
    print(error)
    sys.exit(3)
"""


def python(script: str, workspace: Path, **options: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        [sys.executable, "-c", script, str(workspace)], env=env, text=True, **options
    )


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of target `local`."""
    process = python(HOLD, tmp_path, stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    yield process
    process.kill()
    process.wait()


def test_lock_records_its_holder_and_releases(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "local.lock"
    with ApplyLock(tmp_path, "local", command="scoot apply") as lock:
        info = json.loads(path.read_text())
        assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
        assert info["command"] == "scoot apply" and info["since"].endswith("Z")
        assert lock.stale_holder is None
        # Processes the run starts (the local driver's servers) must not inherit the lock.
        assert lock._fd is not None and not os.get_inheritable(lock._fd)
    assert path.read_text() == ""  # released cleanly: nothing stale for the next run
    with ApplyLock(tmp_path, "local") as again:
        assert again.stale_holder is None


def test_second_lock_in_the_same_process_is_refused(tmp_path: Path) -> None:
    with ApplyLock(tmp_path, "local", command="scoot apply"), pytest.raises(LockHeld) as caught:
        ApplyLock(tmp_path, "local").acquire()
    assert f"pid {os.getpid()} on host {socket.gethostname()}" in str(caught.value)
    # Other targets are independent.
    with ApplyLock(tmp_path, "local"), ApplyLock(tmp_path, "prod"):
        pass


def test_another_process_is_refused_naming_the_holder(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    second = python(TRY, tmp_path, stdout=subprocess.PIPE)
    out, _ = second.communicate(timeout=30)
    assert second.returncode == 3, out
    assert out.startswith(f"target `local` is locked by pid {holder.pid} on host {socket.gethostname()} since ")
    assert "running `scoot apply`; wait for it (`--lock-timeout 5m` waits), or run `scoot force-unlock local` if it is gone" in out

    with pytest.raises(LockHeld) as caught:
        ApplyLock(tmp_path, "local").acquire()
    assert caught.value.holder is not None and caught.value.holder.pid == holder.pid


def test_a_killed_holder_leaves_a_stale_lock_that_is_taken(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with ApplyLock(tmp_path, "local", command="scoot apply") as lock:
        assert lock.stale_holder is not None
        assert lock.stale_holder.pid == holder.pid and lock.stale_holder.command == "scoot apply"
        assert json.loads((tmp_path / "locks" / "local.lock").read_text())["pid"] == os.getpid()


def test_force_unlock_refuses_while_the_holder_is_alive(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(HolderAlive) as refused:
        force_unlock(tmp_path, "local")
    assert f"pid {holder.pid}" in str(refused.value) and "--force" in str(refused.value)
    assert (tmp_path / "locks" / "local.lock").exists()
    second = python(TRY, tmp_path, stdout=subprocess.PIPE)  # still held: still refused
    assert second.communicate(timeout=30)[0] and second.returncode == 3


def test_force_unlock_once_the_holder_is_gone(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    removed = force_unlock(tmp_path, "local")
    assert removed is not None and removed.pid == holder.pid
    assert not (tmp_path / "locks" / "local.lock").exists()
    assert force_unlock(tmp_path, "local") is None


def test_force_unlock_with_force(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    removed = force_unlock(tmp_path, "local", force=True)
    assert removed is not None and removed.pid == holder.pid
    assert not (tmp_path / "locks" / "local.lock").exists()
    assert force_unlock(tmp_path, "local") is None
    with ApplyLock(tmp_path, "local") as lock:  # a fresh file, no stale holder
        assert lock.stale_holder is None


def test_a_reader_sees_who_is_applying_without_taking_the_lock(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    from scoot_runtime.applylock import running_holder

    found = running_holder(tmp_path, "local")
    assert found is not None and found.pid == holder.pid
    # Looking did not get in the way: the holder still holds it.
    assert python(TRY, tmp_path, stdout=subprocess.PIPE).wait() == 3
    holder.kill()
    holder.wait()
    assert running_holder(tmp_path, "local") is None  # a dead holder applies nothing
    with ApplyLock(tmp_path, "local"):
        pass
    assert running_holder(tmp_path, "local") is None  # released: the file is empty
