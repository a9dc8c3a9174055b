"""What the local driver's processes wrote: `.scoots/logs/<component>.<object>.<replica>.log`
(`.scoots/targets/<target>/logs/...` for a target other than `local`).

Read as `tail -F` does: a file that is replaced (a new process, after an
update) is finished and then followed anew, and a truncated one is read again
from its start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from scoot_runtime.drivers.base import Address, LogLine
from scoot_runtime.drivers.local.paths import LocalDriverError, log_path

POLL_SECONDS = 0.2


def log_files(workspace: Path, target: str, address: Address, replica: int | None) -> list[tuple[int, Path]]:
    """The log file of each replica that has one (or of `replica`, whether or not it exists yet)."""
    if replica is not None:
        return [(replica, log_path(workspace, target, address, replica))]
    folder = log_path(workspace, target, address, 0).parent
    prefix = f"{address}."
    found = []
    if folder.is_dir():
        for file in folder.iterdir():
            middle = file.name[len(prefix) : -len(".log")] if file.name.startswith(prefix) else ""
            if file.name.endswith(".log") and middle.isdigit():
                found.append((int(middle), log_path(workspace, target, address, int(middle))))
    return sorted(found)


class _Tail:
    """One replica's log file, read as it grows."""

    def __init__(self, replica: int, path: Path) -> None:
        self.replica, self.path = replica, path
        self.handle: BinaryIO | None = None
        self.inode = 0
        self.pending = b""

    def lines(self, final: bool) -> list[str]:
        """The whole lines written since the last call (and, when `final`, an unfinished last one)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        lines: list[str] = []
        if self.handle is None or self.inode != stat.st_ino:
            if self.handle is not None:
                lines += self._split(self.handle.read(), final=True)  # the replaced file ends here
                self.handle.close()
            self.handle, self.inode = open(self.path, "rb"), stat.st_ino  # noqa: SIM115 (kept open to follow)
        elif stat.st_size < self.handle.tell():
            self.handle.seek(0)
        return lines + self._split(self.handle.read(), final)

    def _split(self, data: bytes, final: bool) -> list[str]:
        *whole, self.pending = (self.pending + data).split(b"\n")
        if final and self.pending:
            whole.append(self.pending)
            self.pending = b""
        return [line.decode("utf-8", "replace") for line in whole]

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


async def read_logs(
    workspace: Path, target: str, address: Address, replica: int | None, follow: bool
) -> AsyncIterator[LogLine]:
    """Each replica's lines; with `follow`, wait for more, and for replicas that start later."""
    files = log_files(workspace, target, address, replica)
    if not follow and not any(path.exists() for _, path in files):
        expected = files[0][1] if files else log_path(workspace, target, address, 0)
        shown = expected.relative_to(workspace.parent)  # the application folder's `.scoots/`
        raise LocalDriverError(f"no logs of `{address}` yet ({shown} does not exist): run `scoot apply` to start it")
    tails = {number: _Tail(number, path) for number, path in files}
    try:
        while True:
            if follow and replica is None:
                for number, path in log_files(workspace, target, address, None):
                    tails.setdefault(number, _Tail(number, path))
            grew = False
            for _, tail in sorted(tails.items()):
                for text in tail.lines(final=not follow):
                    grew = True
                    yield LogLine(str(tail.replica), text)
            if not follow:
                return
            if not grew:
                await asyncio.sleep(POLL_SECONDS)
    finally:
        for tail in tails.values():
            tail.close()
