"""One apply at a time per target: `.scoots/locks/<target>.lock`, and the driver's shared lock.

Exclusion comes from `flock` on the open file, which the operating system
releases when the holder exits, however it exits: a `kill -9` cannot leave a
lock behind. The file also holds who took it (pid, host, since, command) so a
refused run can say who holds it, and so a later run can tell that a holder
died without releasing (the details are there, the flock is free).

`flock` is advisory and works between processes of one machine; on network
file systems it may not, which is what `force_unlock` is for.

A folder's flock does not see another clone of the application, on this machine
or another. A driver whose resources live elsewhere (aws) keeps a second lock
there, shared by every clone (`CloudDriver.shared_lock`); `TargetLock` takes the
flock, then that lock, and releases them in reverse; with a timeout, it waits for
each (polling with backoff) instead of failing at once.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import random
import re
import shlex
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import orjson

from scoot_model.objects import dumps
from scoot_runtime.errors import ScootError
from scoot_runtime.files import errors_naming, make_workspace
from scoot_runtime.state import check_target_name, utc_now

if TYPE_CHECKING:
    from scoot_runtime.drivers.base import HeldLock, SharedLock
    from scoot_runtime.workspace import Target


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) an apply lock."""

    pid: int
    host: str
    since: str  # ISO 8601, UTC
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} since {self.since}, running `{self.command}`"

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    @classmethod
    def of_this_run(cls, command: str) -> LockHolder:
        return cls(os.getpid(), socket.gethostname(), utc_now(), command)


class LockHeld(ScootError):
    """Another run holds the target's apply lock.

    `where` names a shared lock (the driver's, `s3://...`); None is the folder's own.
    `waited`: the seconds waited for it (`--lock-timeout`) before giving up."""

    def __init__(
        self, target: str, holder: LockHolder | None, where: str | None = None, waited: float = 0.0
    ) -> None:
        who = holder.describe() if holder else "another run (it has not written its details yet)"
        lock = f" (its shared lock {where}, which every clone of the application takes)" if where else ""
        waited_text = f"waited {format_duration(waited)}; " if waited else ""
        if holder is not None and where is not None and _surely_dead(holder):
            advice = (
                f"pid {holder.pid} no longer runs on this host: that run is gone without releasing "
                f"the lock. Break it with `scoot force-unlock {target}`"
            )
        else:
            wait = "wait for it" if waited else "wait for it (`--lock-timeout 5m` waits)"
            advice = f"{wait}, or run `scoot force-unlock {target}` if it is gone"
        super().__init__(f"target `{target}` is locked by {who}{lock}; {waited_text}{advice}")
        self.target = target
        self.holder = holder
        self.where = where


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
        make_workspace(self.path.parent.parent)
        self.path.parent.mkdir(exist_ok=True)
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
            self.stale_holder = parse_holder(_read_all(fd))
            self.holder = LockHolder.of_this_run(self.command)
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
        holder = parse_holder(lock_path(workspace, target).read_bytes())
    except OSError:
        return None
    return holder if holder is not None and not _surely_dead(holder) else None


class HolderAlive(ScootError):
    """force-unlock was refused: the lock is held, by a run that may well be alive."""

    def __init__(self, target: str, holder: LockHolder | None, where: str | None = None) -> None:
        who = holder.describe() if holder else "a run that has not written its details yet"
        if where is not None and holder is not None:
            super().__init__(
                f"target `{target}` is locked by {who} ({where}), and pid {holder.pid} still runs on this "
                "host: that run looks alive. Wait for it to end, or stop it. If that pid is no scoot run "
                f"any more, `scoot force-unlock --force {target}` breaks the lock."
            )
        else:
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
        holder = parse_holder(_read_all(fd))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not force:
                raise HolderAlive(target, _holder_of_held_lock(path)) from None
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)
    return holder


class HolderUnknown(ScootError):
    """force-unlock of a shared lock was refused: its holder runs elsewhere, or cannot be read,
    so whether it is alive cannot be told from here."""

    def __init__(self, target: str, held: HeldLock, where: str) -> None:
        if held.holder is None:
            who = f"a lock that names no scoot run ({where})"
        else:
            who = (
                f"{held.holder.describe()} ({where}); pid {held.holder.pid} is on another host, so "
                "whether it still runs cannot be checked from here"
            )
        super().__init__(
            f"target `{target}` is locked by {who}. If you are sure that run is gone (it crashed, or "
            f"its machine is), run `scoot force-unlock --force {target}`."
        )
        self.holder = held.holder


def force_unlock_shared(shared: SharedLock, target: str, *, force: bool = False) -> HeldLock | None:
    """Break `shared`, the driver's lock of `target`, left by a run that is gone; what it was.

    Broken at once when its holder is a pid of this host that no longer runs. Refused
    while the holder is a live pid of this host (`HolderAlive`), or is on another host,
    where its pid cannot be checked (`HolderUnknown`), unless `force`.
    """

    async def breaking() -> HeldLock | None:
        try:
            held = await shared.read()
            if held is None:
                return None
            if not force:
                if held.holder is not None and held.holder.on_this_host and not _surely_dead(held.holder):
                    raise HolderAlive(target, held.holder, shared.where)
                if held.holder is None or not held.holder.on_this_host:
                    raise HolderUnknown(target, held, shared.where)
            if not await shared.break_lock(held):
                # Released, or broken and taken by another run, between the read and now.
                again = await shared.read()
                if again is not None:
                    raise LockHeld(target, again.holder, shared.where)
            return held
        finally:
            await shared.close()

    return asyncio.run(breaking())


# -- waiting, and both locks together -------------------------------------------------------

FIRST_POLL = 0.2  # seconds before the first look again while waiting for a lock
MAX_POLL = 5.0  # ... doubling up to this
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """`30s`, `5m`, `1h`, `1m30s`, `250ms` or plain seconds (`0`) as seconds."""
    written = text.strip()
    try:
        return _nonnegative(float(written))
    except ValueError:
        pass
    parts = _DURATION.findall(written)
    if not parts or "".join(number + unit for number, unit in parts) != written:
        raise ValueError(f"`{text}` is not a duration: write it as 30s, 5m, 1h or 1m30s (0: do not wait)")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def _nonnegative(seconds: float) -> float:
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"a duration is a number of seconds from 0, not {seconds:g}")
    return seconds


def format_duration(seconds: float) -> str:
    """`30s`, `5m`, `1m30s`: how long, as `parse_duration` reads it."""
    if seconds < 60:
        return f"{round(seconds, 1):g}s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{rest}s" if rest else "")
    return text or "0s"


@dataclass(frozen=True)
class LockWait:
    """A run starts waiting for a target's lock (told once per lock): who holds it, and
    for how long the run waits at most. `where` names a shared lock; None: the folder's."""

    target: str
    holder: LockHolder | None
    where: str | None
    timeout: float


class _Patience:
    """When to look again at a held lock: backoff (doubling, with jitter) until a deadline."""

    def __init__(self, lock: TargetLock, deadline: float, shared: SharedLock | None) -> None:
        self.lock, self.deadline, self.shared = lock, deadline, shared
        self.poll = FIRST_POLL
        self.told = False

    def delay(self, holder: LockHolder | None) -> float | None:
        """Seconds to sleep before the next try, or None: the time is up."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return None
        if not self.told:
            self.told = True
            where = self.shared.where if self.shared is not None else None
            self.lock.on_wait(LockWait(self.lock.target, holder, where, self.lock.timeout))
        delay = min(self.poll * random.uniform(0.75, 1.25), left)
        self.poll = min(self.poll * 2, MAX_POLL)
        return delay


class TargetLock:
    """The apply lock of a target: the folder's flock, then `shared` (the driver's lock, kept
    where the target's resources are) when the driver keeps one; released in reverse.

    With `timeout` (seconds), a held lock is waited for, polling with backoff: `on_wait`
    is told once per lock when the wait starts; `LockHeld` names the holder when the time
    is up (at once, with no timeout). A shared lock that could not be released is not
    an error of the run: `release_problem` says what is left and how to break it.
    """

    def __init__(
        self,
        workspace: Path,
        target: str,
        shared: SharedLock | None = None,
        *,
        command: str | None = None,
        timeout: float = 0.0,
        on_wait: Callable[[LockWait], None] = lambda wait: None,
    ) -> None:
        self.local = ApplyLock(workspace, target, command)
        self.target = target
        self.shared = shared
        self.timeout = timeout
        self.on_wait = on_wait
        self.release_problem: str | None = None
        self._runner: asyncio.Runner | None = None

    @property
    def stale_holder(self) -> LockHolder | None:
        """The folder lock's previous holder, gone without releasing it (taken over)."""
        return self.local.stale_holder

    def acquire(self) -> None:
        started = time.monotonic()
        deadline = started + self.timeout
        patience = _Patience(self, deadline, None)
        while True:
            try:
                self.local.acquire()
                break
            except LockHeld as held:
                delay = patience.delay(held.holder)
                if delay is None:
                    raise LockHeld(self.target, held.holder, waited=self._waited(started)) from None
                time.sleep(delay)
        if self.shared is None:
            return
        try:
            self._runner = asyncio.Runner()
            self._runner.run(self._acquire_shared(self.shared, started, deadline))
        except BaseException:
            # Interrupted (Ctrl-C) after S3 wrote the lock but before the answer came: the
            # lock knows its token, and removes it only if it is this run's.
            self._release_shared()
            self.local.release()
            raise

    async def _acquire_shared(self, shared: SharedLock, started: float, deadline: float) -> None:
        holder = self.local.holder or LockHolder.of_this_run(self.local.command)
        patience = _Patience(self, deadline, shared)
        while True:
            held = await shared.acquire(holder)
            if held is None:
                return
            delay = patience.delay(held.holder)
            if delay is None:
                raise LockHeld(self.target, held.holder, shared.where, self._waited(started))
            await asyncio.sleep(delay)

    def _waited(self, started: float) -> float:
        return time.monotonic() - started if self.timeout else 0.0

    def release(self) -> None:
        try:
            self._release_shared()
        finally:
            self.local.release()

    def _release_shared(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None or self.shared is None:
            return
        shared = self.shared
        try:
            runner.run(shared.release())
        except Exception as error:
            self.release_problem = (
                f"the shared lock of target `{self.target}` ({shared.where}) could not be released: "
                f"{error}. It names this run; once it has ended, `scoot force-unlock {self.target}` breaks it"
            )
        finally:
            try:
                runner.run(shared.close())
            finally:
                runner.close()


def target_lock(
    workspace: Path,
    application: str,
    target: Target,
    *,
    command: str | None = None,
    timeout: float = 0.0,
    on_wait: Callable[[LockWait], None] = lambda wait: None,
) -> TargetLock:
    """The apply lock of `target` in `workspace` (`.scoots/`), with its driver's shared lock if it keeps one."""
    return TargetLock(
        workspace, target.name, shared_lock(application, target), command=command, timeout=timeout, on_wait=on_wait
    )


def shared_lock(application: str, target: Target) -> SharedLock | None:
    """The driver's lock of `target`, shared by every clone of `application`; None if it keeps none."""
    from scoot_runtime import drivers
    from scoot_runtime.drivers.base import LockScope

    return drivers.load(target.cloud).shared_lock(LockScope(application, target.name, dict(target.options)))


def _holder_of_held_lock(path: Path) -> LockHolder | None:
    # The holder writes its details just after taking the flock: for a moment the file
    # is empty, or still names a dead previous holder. Wait briefly for the real one.
    holder: LockHolder | None = None
    deadline = time.monotonic() + 0.5
    while True:
        try:
            holder = parse_holder(path.read_bytes())
        except FileNotFoundError:
            holder = None
        if holder is not None and not _surely_dead(holder):
            return holder
        if time.monotonic() > deadline:
            return holder
        time.sleep(0.01)


def _surely_dead(holder: LockHolder) -> bool:
    """True only for a holder on this host whose process no longer exists."""
    if not holder.on_this_host:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, as another user
    return False


def parse_holder(data: bytes) -> LockHolder | None:
    """The holder a lock's JSON names (other keys ignored); None if it names none."""
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
    if program == "__main__.py":  # python -m scoot_cli
        program = "scoot"
    return shlex.join([program, *sys.argv[1:]])
