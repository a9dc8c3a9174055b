"""Processes on this machine: start them detached, recognise them again, stop them.

Every process the driver starts carries an environment variable,
`SCOOT_OBJECT=<owner>/<target>/<component>.<object>/<replica>`, which its
children inherit; scanning `/proc/*/environ` for it is how a process is found:
by an object's name, whatever scoot.lock records (it records no pid: it is
shared, a pid is a fact of one machine), after a crash as after a clean apply,
and with the children that left the process group before we stop them.
`<owner>` names the application folder's workspace (see `paths.owner`), so a
second copy of the application on this machine never takes a process of the
first for its own, even though their `scoot.lock` files say the same.

Once found, a process is held by its pid *and* its start time (field 22 of
`/proc/<pid>/stat`, in clock ticks since boot): pids are reused, the pair is
not.

Beside the marker, `SCOOT_CONFIG` holds what the process was started from (the
digests of its configuration and its source revision): what is found running
is compared with what is wanted now, not assumed to match it.

Linux only: everything here reads `/proc`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from scoot_runtime.drivers.local.paths import LocalDriverError

MARKER = "SCOOT_OBJECT"
CONFIG = "SCOOT_CONFIG"

log = logging.getLogger(__name__)

# Every process this Python process started, until it is reaped. Holding the
# Popen objects lets us reap a process we stopped (no zombie while `scoot` runs)
# and keeps Python from warning, when a Popen is dropped, that its process "is
# still running": it is meant to outlive us.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Proc:
    """A process, held by what tells it from a later one with the same pid."""

    pid: int
    start_time: int


@dataclass(frozen=True)
class Running:
    """A live process, as `/proc` shows it now."""

    pid: int
    start_time: int
    ppid: int
    pgid: int
    session: int
    # From its SCOOT_OBJECT marker and SCOOT_CONFIG, when it has them.
    address: str | None = None
    replica: int | None = None
    config: str | None = None

    @property
    def leader(self) -> bool:
        """Whether it leads its own session: the process we started, not one of its children."""
        return self.session == self.pid

    @property
    def proc(self) -> Proc:
        return Proc(self.pid, self.start_time)


@dataclass(frozen=True)
class Launch:
    """How a live process was started, read back from `/proc`: enough to start it again
    as it was. Its environment may hold secrets: kept in memory only, never shown."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path

    def __repr__(self) -> str:  # never the environment
        return f"Launch(argv[0]={self.argv[0] if self.argv else ''!r}, cwd={str(self.cwd)!r})"


def launch_of(proc: Proc) -> Launch | None:
    """How `proc` was started (its argv, environment and folder), or None if it is gone or
    does not say (a process that rewrote its argv cannot be told apart: it is read as it is).

    Blocking (reads /proc): call it in a thread."""
    base = Path(f"/proc/{proc.pid}")
    try:
        argv = (base / "cmdline").read_bytes().split(b"\0")
        environ = (base / "environ").read_bytes().split(b"\0")
        cwd = Path(os.readlink(base / "cwd"))
    except OSError:
        return None
    # Read after the reads: the pid may have been reused in between.
    if not is_running(proc) or not argv or not argv[0]:
        return None
    env = dict(v.decode("utf-8", "surrogateescape").partition("=")[::2] for v in environ if b"=" in v)
    decoded = tuple(a.decode("utf-8", "surrogateescape") for a in (argv[:-1] if argv[-1] == b"" else argv))
    return Launch(decoded, env, cwd)


def marker(owner: str, address: str, replica: int) -> str:
    """The SCOOT_OBJECT value of a replica; `owner` is `<workspace owner>/<target>`."""
    return f"{owner}/{address}/{replica}"


def inspect(pid: int) -> Running | None:
    """The process `pid` if it is alive (a zombie is not), from `/proc/<pid>/stat`."""
    try:
        text = Path(f"/proc/{pid}/stat").read_bytes().decode("utf-8", "replace")
    except OSError:
        return None
    # Field 2, the command name, is in parentheses and may itself hold spaces and
    # parentheses: the fields we want come after the last ")". fields[0] is field 3.
    fields = text[text.rindex(")") + 2 :].split()
    state, start_time = fields[0], int(fields[19])
    if state in ("Z", "X"):
        return None
    return Running(
        pid, start_time, ppid=int(fields[1]), pgid=int(fields[2]), session=int(fields[3])
    )


def is_running(proc: Proc) -> bool:
    """Whether this very process (same pid, same start time) is alive."""
    found = inspect(proc.pid)
    return found is not None and found.start_time == proc.start_time


def _marked(pid: int, environ: bytes, owner: str, address: str | None) -> Running | None:
    """The live process `pid` if its environment carries a marker of `owner` (and `address`)."""
    needle = f"{MARKER}={owner}/".encode()
    mark: list[str] | None = None
    config: str | None = None
    for variable in environ.split(b"\0"):
        if variable.startswith(needle):
            # An owner and a target hold no "/", an address and a replica number neither.
            mark = variable[len(needle) :].decode("utf-8", "replace").split("/")
        elif variable.startswith(f"{CONFIG}=".encode()):
            config = variable[len(CONFIG) + 1 :].decode("utf-8", "replace")
    if (
        mark is None
        or len(mark) != 2
        or (address is not None and mark[0] != address)
        or not mark[1].isdigit()
    ):
        return None
    process = inspect(pid)
    if process is None:
        return None
    return replace(process, address=mark[0], replica=int(mark[1]), config=config)


def scan(owner: str, address: str | None = None) -> list[Running]:
    """The live processes of this user whose marker names `owner` (and `address`, if given).

    Blocking (reads every `/proc/<pid>/environ` we may read): call it in a thread.
    """
    uid, me = os.getuid(), os.getpid()
    found: list[Running] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        process = _marked(int(entry.name), environ, owner, address)
        if process is not None:
            found.append(process)
    return found


def spawn(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], log_file: Path
) -> subprocess.Popen[bytes]:
    """Start `argv` detached (its own session), its output appended to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    # 0600: what an application prints may be private.
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        child = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            # Its own session and process group: it outlives `scoot`, a Ctrl-C
            # in the terminal does not reach it, and stopping it signals the group.
            start_new_session=True,
        )
    finally:
        os.close(fd)
    _children[child.pid] = child
    return child


def reap() -> None:
    """Collect the exit status of the processes we started that have ended."""
    for pid, child in list(_children.items()):
        if child.poll() is not None:
            del _children[pid]


def _live(targets: Sequence[Running], groups: set[int]) -> list[Running]:
    """What is still alive among `targets` and the members of `groups` (blocking: reads /proc)."""
    alive = {p.pid: p for p in targets if is_running(p.proc)}
    if groups:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                process = inspect(int(entry.name))
                if process is not None and process.pgid in groups:
                    alive[process.pid] = process
    return list(alive.values())


def _signal(processes: Iterable[Running], groups: set[int], signum: signal.Signals) -> None:
    """Send `signum` to each of `groups`, and to each process outside them."""
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)
    for process in processes:
        if process.pgid not in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(process.pid, signum)


async def _wait_gone(targets: Sequence[Running], groups: set[int], seconds: float) -> list[Running]:
    """Wait up to `seconds` for `targets` and their groups to end; what is still alive."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        reap()
        alive = await asyncio.to_thread(_live, targets, groups)
        if not alive or loop.time() >= deadline:
            return alive
        await asyncio.sleep(min(0.05, max(0.0, deadline - loop.time())))


async def terminate(processes: Iterable[Running], grace: float) -> None:
    """SIGTERM each process (its whole group if it leads one), SIGKILL what is left after `grace`.

    Every process given must have been verified as ours (its marker) by the
    caller a moment before. A group is
    signalled only while it has a live member, and a group id is not reused
    while it has one.
    """
    targets = [p for p in processes if is_running(p.proc)]
    if not targets:
        return
    groups = {p.pgid for p in targets if p.leader}
    remaining = targets
    if grace > 0:
        _signal(targets, groups, signal.SIGTERM)
        remaining = await _wait_gone(targets, groups, grace)
    if remaining:
        log.info("%d process(es) still running after %g s: killing them", len(remaining), grace)
        _signal(remaining, {p.pgid for p in remaining if p.pgid in groups}, signal.SIGKILL)
        stuck = await _wait_gone(targets, groups, 5.0)
        if stuck:
            pids = ", ".join(str(p.pid) for p in stuck)
            raise LocalDriverError(
                f"process {pids} did not end after SIGKILL (stuck in the kernel?)"
            )
