"""Files: written so that a crash leaves the old file or the new one, never half of one;
and the files that make up a source folder. (Reading a file someone else named, with a
bound, is `scoot_model.reading`'s.)"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

# Not part of a source: tools' caches and Scoot's own workspace.
_SKIPPED = frozenset({".git", ".scoots", "__pycache__", ".venv", "node_modules"})
# Written by every apply: were it part of a revision, no apply would ever be the last.
_GENERATED = frozenset({"scoot.lock"})


def source_files(folder: Path) -> Iterator[tuple[str, str]]:
    """The regular files of a source folder, as (name relative to it, path), in a stable
    order: what a revision digests (the `path` driver) and what is shipped (`aws` archives).

    A folder's files come first, by name, then its sub-folders', by name; links are
    left out. One `scandir` a folder, and no `stat` a file: this runs on every plan.
    """
    pending: list[tuple[str, str]] = [("", str(folder))]
    while pending:
        prefix, directory = pending.pop()
        with os.scandir(directory) as entries:
            listed = sorted(entries, key=lambda entry: entry.name)
        for entry in listed:
            if entry.is_file(follow_symlinks=False) and entry.name not in _GENERATED:
                yield prefix + entry.name, entry.path
        subfolders = [e for e in listed if e.is_dir(follow_symlinks=False) and e.name not in _SKIPPED]
        pending.extend((prefix + entry.name + "/", entry.path) for entry in reversed(subfolders))


def make_workspace(folder: Path) -> Path:
    """Make `.scoots/` (machine facts, fetched sources, logs: never checked in) with a
    `.gitignore` of its own, so that it ignores itself whoever made the application folder."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        write_atomic(ignore, "# Scoot's workspace: this machine's facts, never checked in.\n*\n")
    return folder


@contextlib.contextmanager
def errors_naming(path: str | Path) -> Iterator[None]:
    """Name `path` in an OSError raised without a file name.

    A write, flush, truncate or fsync through a file descriptor fails without one (a
    full disk says only `No space left on device`); the error is the same, with the file
    it was writing named, so that the message says which file (and so which disk)."""
    try:
        yield
    except OSError as error:
        if error.filename is None:
            error.filename = str(path)
        raise


def write_atomic(path: str | Path, text: str | Iterable[str]) -> None:
    """Write `text` (or its pieces, written as they come) to `path` through a temporary
    file, fsync and rename."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with errors_naming(target), os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                handle.writelines(text)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_folder(folder)


def fsync_folder(folder: Path) -> None:
    """Make a new, renamed or removed file of `folder` durable: only once the folder's
    entry is on disk is the file."""
    with errors_naming(folder):
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- reading a file whose path comes from someone else --------------------------------
