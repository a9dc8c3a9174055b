"""The one way the server reads a file from disk: only a regular file, bounded in size.

The client names the files (a hover on any `file://` URI, a folder it opens), so a
name may be a FIFO (opening it for reading waits for a writer: forever), a device
(`/dev/zero` never ends), a directory or a socket. `scoot_model.reading` refuses
those before a byte is read, and a file larger than `MAX_FILE_BYTES`, without
waiting on any of them.

These calls still touch the disk: callers on the event loop run them in a thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from scoot_model.reading import MIB, UnreadableFile, read_regular_file

# 4 MiB: a 1,000-line architecture is ~40 KB and the largest benchmarked (10,000 lines)
# ~400 KB; a file ten times larger than that is not an architecture worth compiling
# on every keystroke.
MAX_FILE_BYTES = 4 * MIB


class Unreadable(Exception):
    """Why a file was not read (a sentence for the log and the client)."""


@dataclass(frozen=True)
class FileText:
    text: str
    mtime_ns: int
    size: int


def read_text(path: str, limit: int = MAX_FILE_BYTES) -> FileText:
    """A regular file's UTF-8 text; `Unreadable` with the reason otherwise."""
    try:
        # The time before the read: a file changed while it is read looks newer than
        # what was read, and is read again next time.
        before = os.stat(path)
        data = read_regular_file(path, limit)
    except UnreadableFile as error:
        raise Unreadable(f"{path}: {error.strerror}") from None
    except OSError as error:
        raise Unreadable(f"{path}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unreadable(f"{path} is not UTF-8 text ({error.reason})") from None
    return FileText(text, before.st_mtime_ns, len(data))
