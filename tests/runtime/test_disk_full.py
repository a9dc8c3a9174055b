"""A full disk: every write Scoot makes that fails says which file it was writing.

The disk is real and really full: a small tmpfs (the tests run as root, as CI does),
filled up before Scoot writes; nothing is simulated. A write through a file descriptor
fails with ENOSPC and no file name of its own, so each of these checks that the error
(or the message `scoot` prints) names the file.
"""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scoot_runtime.applylock import ApplyLock
from scoot_runtime.conformance import context_for, make_spec
from scoot_runtime.drivers.base import Address
from scoot_runtime.drivers.local.driver import LocalDriver
from scoot_runtime.drivers.local.paths import LocalDriverError, owner
from scoot_runtime.files import make_workspace, write_atomic
from scoot_runtime.secrets import Secrets
from scoot_runtime.state import Journal
from tests.ports import free_port
from tests.runtime.test_cli_runtime import make_app, scoot_process


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB file system of its own, unmounted at the end."""
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def fill(disk: Path) -> None:
    """Take every free block of `disk`: from now on, a write that needs one fails."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_apply_and_init_name_the_file_the_full_disk_refused(disk: Path) -> None:
    app = make_app(disk / "tiny", free_port())
    # The apply lock is written first: give it the block it held, so that the journal,
    # written next, is what the full disk refuses.
    (app / ".scoots" / "locks").mkdir(parents=True)
    (app / ".scoots" / "locks" / "local.lock").write_bytes(b" " * 4096)
    owner(app / ".scoots")  # and the local driver's owner file, read by the plan
    make_workspace(app / ".scoots")  # and the workspace's own .gitignore
    fill(disk)
    applied = scoot_process("apply", "--yes", str(app), cwd=disk.parent)
    assert applied.returncode == 1, applied.stdout + applied.stderr
    journal = app / ".scoots" / "journal" / "local.jsonl"
    assert f"Error: cannot use {journal}: No space left on device" in applied.stderr, applied.stderr
    fill(disk)  # the block the released lock gave back
    started = scoot_process("init", str(disk / "shop"), cwd=disk.parent)
    assert started.returncode == 1
    assert f"Error: cannot use {disk / 'shop' / 'scoot.toml'}: No space left on device" in started.stderr


def _compute(root: Path) -> None:
    (root / "app").mkdir()
    os.unlink(root.parent / "filler")  # room for the owner file the driver writes first
    driver = LocalDriver(context_for(root))
    assert driver.owner
    fill(root.parent)
    spec = make_spec(Address("app", "web"), "compute", {"command": [sys.executable, "-c", "pass"]}, root / "app")
    asyncio.run(driver.create(spec))


# What writes, and the file it writes (relative to the application folder).
WRITERS: dict[str, tuple[Callable[[Path], object], str]] = {
    "a file written whole (scoot.lock)": (lambda root: write_atomic(root / "scoot.lock", "{}"), "scoot.lock"),
    "the workspace's own .gitignore": (lambda root: make_workspace(root / ".scoots"), ".scoots/.gitignore"),
    "the apply lock": (lambda root: ApplyLock(root / ".scoots", "local").acquire(), ".scoots/locks/local.lock"),
    "the journal": (lambda root: Journal(root / ".scoots", "local").open("l", "local"), ".scoots/journal/local.jsonl"),
    "the digests' key": (lambda root: Secrets(root / ".scoots", root, None, {}).key, ".scoots/secret.key"),
    # The conformance context's target is `test`, which keeps its logs and stores apart.
    "a local process's log": (_compute, ".scoots/targets/test/logs/app.web.0.log"),
}


@pytest.mark.parametrize(("write", "written"), WRITERS.values(), ids=WRITERS.keys())
def test_a_write_the_full_disk_refuses_names_its_file(
    disk: Path, write: Callable[[Path], object], written: str
) -> None:
    root = disk / "app"
    root.mkdir()
    if written != ".scoots/.gitignore":
        make_workspace(root / ".scoots")  # the first write into `.scoots/` makes it: its own case
    fill(disk)
    with pytest.raises(OSError) as raised:
        write(root)
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(root / written)
    assert f"No space left on device: '{root / written}'" in str(raised.value)


def test_a_local_store_the_full_disk_refuses_names_its_file(disk: Path) -> None:
    root = disk / "app"
    root.mkdir()
    fill(disk)
    spec = make_spec(Address("app", "db"), "storage", {"engine": "sqlite"})
    store = root / ".scoots" / "targets" / "test" / "data" / "app" / "db.sqlite"
    with pytest.raises(LocalDriverError, match=f"^cannot create {store}: database or disk is full$"):
        asyncio.run(LocalDriver(context_for(root)).create(spec))
