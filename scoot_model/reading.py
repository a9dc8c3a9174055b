"""Reading a file that text or settings name (`file("...")`, the `.sct` files of a
folder, scoot.toml): regular files only, bounded in size, never blocking.

It is here, at the bottom of the layers, because the compiler, the runtime and the
language server all read such paths, and none of them may import another.
"""

from __future__ import annotations

import errno
import os
import stat

MIB = 1024 * 1024


class UnreadableFile(OSError):
    """A file that `read_regular_file` refused or could not read.

    An `OSError` (so `except OSError` still catches it) whose `strerror` says why
    in words fit for a message: "it is a FIFO, not a regular file", "it is larger
    than 1 MiB", "No such file or directory".
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, code: int | None = None) -> None:
        super().__init__(code if code is not None else errno.EINVAL, reason, os.fspath(path))


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file at `path`, if it holds at most `limit` of them.

    For paths that text or settings name (`file("...")` in an architecture, the
    `.sct` files of a folder, scoot.toml's `[architecture] path`): whatever the
    path names, this returns or raises `UnreadableFile` quickly, with memory
    bounded by `limit`. A FIFO, a device (`/dev/zero`), a socket or a folder is
    refused without being read: it is opened with `O_NONBLOCK` (a FIFO with no
    writer would otherwise block the open) and checked with `fstat` on the open
    descriptor, so a file swapped after a first look is caught too. A path the
    OS refuses (a NUL character, a name too long) is an `UnreadableFile` as well,
    never a `ValueError`. Symbolic links are followed: callers that must keep a
    path inside a folder resolve and check it first.
    """
    try:
        # A first look, so that opening has no effect on a device or a FIFO's writer.
        _refuse_special(path, os.stat(path).st_mode)
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _NOCTTY | _CLOEXEC)
    except ValueError:
        raise UnreadableFile(path, "the path holds a NUL character") from None
    except UnreadableFile:
        raise
    except OSError as error:
        raise UnreadableFile(path, error.strerror or str(error), error.errno) from None
    try:
        info = os.fstat(fd)
        _refuse_special(path, info.st_mode)
        if info.st_size > limit:
            raise UnreadableFile(path, f"it is larger than {_size(limit)} ({_size(info.st_size)})", errno.EFBIG)
        # Read one byte more than allowed: a file that grew since fstat is caught too.
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise UnreadableFile(path, f"it is larger than {_size(limit)}", errno.EFBIG)
        return b"".join(chunks)
    except UnreadableFile:
        raise
    except OSError as error:
        raise UnreadableFile(path, error.strerror or str(error), error.errno) from None
    finally:
        os.close(fd)


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOCTTY = getattr(os, "O_NOCTTY", 0)  # a terminal device never becomes ours
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a `st_mode` names, for a message: "a regular file", "a FIFO (named pipe)"..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _refuse_special(path: str | os.PathLike[str], mode: int) -> None:
    if not stat.S_ISREG(mode):
        code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
        raise UnreadableFile(path, f"it is {file_kind(mode)}, not a regular file", code)


def _size(count: int) -> str:
    if count >= MIB and count % MIB == 0:
        return f"{count // MIB} MiB"
    if count >= MIB:
        return f"{count / MIB:.1f} MiB"
    if count >= 1024 and count % 1024 == 0:
        return f"{count // 1024} KiB"
    return f"{count} bytes"
