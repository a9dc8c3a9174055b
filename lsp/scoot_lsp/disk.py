"""The one way the server reads a file from disk: only a regular file, bounded in size.

The client names the files (a hover on any `file://` URI, a folder it opens), so a
name may be a FIFO (opening it for reading waits for a writer: forever), a device
(`/dev/zero` never ends), a directory or a socket. Those are refused before a byte
is read, and so is a file larger than `MAX_FILE_BYTES`. The descriptor is opened
with O_NONBLOCK, so neither the open nor a read can wait on a file that is not a
regular one (or on a special file that claims to be regular, like `/proc/kmsg`).

These calls still touch the disk: callers on the event loop run them in a thread.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass

# 4 MiB: a 1,000-line architecture is ~40 KB and the largest benchmarked (10,000 lines)
# ~400 KB; a file ten times larger than that is not an architecture worth compiling
# on every keystroke.
MAX_FILE_BYTES = 4 * 1024 * 1024

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 64 * 1024

log = logging.getLogger("scoot_lsp")


class Unreadable(Exception):
    """Why a file was not read (a sentence for the log and the client)."""


@dataclass(frozen=True)
class FileText:
    text: str
    mtime_ns: int
    size: int


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def not_regular(path: str | os.PathLike[str]) -> str | None:
    """Why a name that exists is not a regular file (None if it is one, or is absent).

    For files that another part of Scoot reads by name (the runtime's `scoot.toml` and
    `scoot.lock`): a look before handing the name on, so that a FIFO there is not opened.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else f"{os.fspath(path)} is {_kind(mode)}, not a regular file"


def read_text(path: str, limit: int = MAX_FILE_BYTES) -> FileText:
    """A regular file's UTF-8 text; `Unreadable` with the reason otherwise."""
    try:
        # A stat first: opening a device can have effects of its own (a tape rewinds, a
        # watchdog starts), so only what is a regular file now is opened at all.
        before = os.stat(path)
        if not stat.S_ISREG(before.st_mode):
            raise Unreadable(f"{path} is {_kind(before.st_mode)}, not a regular file")
        fd = os.open(path, _FLAGS)
    except OSError as error:
        raise Unreadable(f"{path}: {error.strerror or error}") from None
    try:
        # ...and again on the descriptor: the name may have been replaced in between.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"{path} is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise Unreadable(f"{path} is {info.st_size} bytes; the language server reads files of at most {limit}")
        chunks: list[bytes] = []
        total = 0
        while True:  # not st_size: a file may grow while it is read, and /proc says 0
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise Unreadable(f"{path} is larger than {limit} bytes, the most the language server reads")
            chunks.append(chunk)
    except BlockingIOError:
        raise Unreadable(f"{path} has nothing to read now (it is not an ordinary file)") from None
    except OSError as error:
        raise Unreadable(f"{path}: {error.strerror or error}") from None
    finally:
        os.close(fd)
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unreadable(f"{path} is not UTF-8 text ({error.reason})") from None
    return FileText(text, info.st_mtime_ns, info.st_size)
