"""One apply at a time per target: `.scoots/locks/<target>.lock`.

Exclusion comes from `flock` on the open file, which the operating system
releases when the holder exits, however it exits: a `kill -9` cannot leave a
lock behind. The file also holds who took it (pid, host, since, command) so a
refused run can say who holds it, and so a later run can tell that a holder
died without releasing (the details are there, the flock is free).

`flock` is advisory and works between processes of one machine; on network
file systems it may not, which is what `force_unlock` is for.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from scoot_model.objects import dumps
from scoot_runtime.errors import ScootError
from scoot_runtime.files import errors_naming
from scoot_runtime.state import check_target_name, utc_now


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) an apply lock."""

    pid: int
    host: str
    since: str  # ISO 8601, UTC
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} since {self.since}, running `{self.command}`"


class LockHeld(ScootError):
    """Another run holds the target's apply lock."""

    def __init__(self, target: str, holder: LockHolder | None) -> None:
        who = holder.describe() if holder else "another run (it has not written its details yet)"
        super().__init__(
            f"target `{target}` is locked by {who}; wait for it, "
            f"or run `scoot force-unlock {target}` if it is gone"
        )
        self.target = target
        self.holder = holder


def lock_path(workspace: Path, target: str) -> Path:
    """The lock file of `target` in `workspace` (the `.scoots/` folder)."""
    return workspace / "locks" / f"{check_target_name(target)}.lock"


class ApplyLock:
    """Hold the apply lock of `target` for the length of a `with` block.

    Raises `LockHeld` on entry if another run holds it. If a previous holder died
    without releasing it, the lock is taken and `stale_holder` tells who that was.
    """

    def __init__(self, workspace: Path, target: str, command: str | None = None) -> None:
        self.path = lock_path(workspace, target)
        self.target = target
        self.command = command if command is not None else _current_command()
        self.stale_holder: LockHolder | None = None
        self.holder: LockHolder | None = None
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            # os.open makes the descriptor non-inheritable, so processes the run starts
            # (the local driver's detached servers) do not keep the lock alive after it.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise LockHeld(self.target, _holder_of_held_lock(self.path)) from None
            except BaseException:
                os.close(fd)
                raise
            # force_unlock may have removed the file between open and flock: then this
            # lock is on a name no one else will open; start again on the new file.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        try:
            self.stale_holder = _parse_holder(_read_all(fd))
            self.holder = LockHolder(os.getpid(), socket.gethostname(), utc_now(), self.command)
            data = dumps(asdict(self.holder)).encode()
            with errors_naming(self.path):
                os.ftruncate(fd, 0)
                os.pwrite(fd, data, 0)
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Release the lock. The file stays, emptied: removing it would race with the next run."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            with errors_naming(self.path):
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing releases the flock

    def __enter__(self) -> ApplyLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def running_holder(workspace: Path, target: str) -> LockHolder | None:
    """Who is applying `target` now, if anyone: read only, so a reader never gets in
    the way of an apply starting (a released lock file is empty; a crashed holder is dead)."""
    try:
        holder = _parse_holder(lock_path(workspace, target).read_bytes())
    except OSError:
        return None
    return holder if holder is not None and not _surely_dead(holder) else None


class HolderAlive(ScootError):
    """force-unlock was refused: the lock is held, by a run that may well be alive."""

    def __init__(self, target: str, holder: LockHolder | None) -> None:
        who = holder.describe() if holder else "a run that has not written its details yet"
        super().__init__(
            f"target `{target}` is locked by {who}, and the lock is held: that run is alive. "
            "Wait for it to end, or stop it. Only if locks do not work on this file system "
            f"(some network file systems) and you are sure no run is applying, use "
            f"`scoot force-unlock --force {target}`."
        )
        self.holder = holder


def force_unlock(workspace: Path, target: str, *, force: bool = False) -> LockHolder | None:
    """Remove the lock file of `target`; returns who it named, if anyone.

    Refused (`HolderAlive`) while a run holds the lock, unless `force`: a run still
    holding it would go on unaware and overlap the next one. With `force`, the
    overlap is the caller's choice; the state store keeps the loser's records.
    """
    path = lock_path(workspace, target)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        holder = _parse_holder(_read_all(fd))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not force:
                raise HolderAlive(target, _holder_of_held_lock(path)) from None
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)
    return holder


def _holder_of_held_lock(path: Path) -> LockHolder | None:
    # The holder writes its details just after taking the flock: for a moment the file
    # is empty, or still names a dead previous holder. Wait briefly for the real one.
    holder: LockHolder | None = None
    deadline = time.monotonic() + 0.5
    while True:
        try:
            holder = _parse_holder(path.read_bytes())
        except FileNotFoundError:
            holder = None
        if holder is not None and not _surely_dead(holder):
            return holder
        if time.monotonic() > deadline:
            return holder
        time.sleep(0.01)


def _surely_dead(holder: LockHolder) -> bool:
    """True only for a holder on this host whose process no longer exists."""
    if holder.host != socket.gethostname():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, as another user
    return False


def _parse_holder(data: bytes) -> LockHolder | None:
    try:
        raw: Any = orjson.loads(data)
        holder = LockHolder(raw["pid"], raw["host"], raw["since"], raw["command"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if not isinstance(holder.pid, int) or not all(
        isinstance(value, str) for value in (holder.host, holder.since, holder.command)
    ):
        return None
    return holder


def _read_all(fd: int) -> bytes:
    return os.pread(fd, os.fstat(fd).st_size, 0)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _current_command() -> str:
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "scoot"
    return shlex.join([program, *sys.argv[1:]])
