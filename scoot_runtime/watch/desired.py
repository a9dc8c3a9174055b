"""The desired state's own inputs, followed as a component's source is.

The architecture's files (its `.sct` files, or its JSON file), scoot.toml and a
`--param-file` are followed by content: each file is a key whose revision is a digest
of its bytes. A save that writes the same bytes is no change; one that replaces the
file (an editor's save by renaming) is seen like any other. Which files there are is
the caller's to say, each time (a folder's `.sct` files may come and go).

`FilePoller` notices a save within `period` seconds, between two looks: each period
it takes each file's `os.stat` and reads only the files whose inode, size, mtime or
ctime moved; a key whose digest changed is told to `on_change`. It is a thread that
polls rather than inotify: no new dependency, and the same on every file system
(a network mount, a container's bind mount). On a file system whose timestamps are
coarse, a same-size edit within one tick of its clock can go unnoticed by the
poller; the look at every interval reads every file in full (`digests`), so it is
applied then.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from scoot_model.reading import MIB, UnreadableFile, read_regular_file

# The kinds of keys this follows (`Change.kind`), beside the loop's components.
FILE = "file"
ARCHITECTURE_REPOSITORY = "architecture repository"
# The revision of a key that is no longer there (a .sct file removed from a folder).
GONE = "gone"

# Files are read whole: the compiler refuses a unit larger than this anyway.
_LIMIT = 4 * MIB

Files = Mapping[str, Path]  # key (the file as the user names it) → the file


def file_digest(path: Path) -> str:
    """The digest of a file's bytes, as `sha256:…` (as a folder's is); a missing or
    unreadable file has a revision too, saying why."""
    try:
        return "sha256:" + hashlib.sha256(read_regular_file(path, _LIMIT)).hexdigest()
    except UnreadableFile as error:
        return f"unreadable: {error.strerror}"


def digests(files: Files) -> dict[str, str]:
    """Every key's revision, its file read in full."""
    return {key: file_digest(path) for key, path in files.items()}


class FilePoller:
    """A thread: every `period` seconds, the keys of `files()` whose digest changed (or that
    came or went) go to `on_change`."""

    def __init__(self, files: Callable[[], Files], on_change: Callable[[str], None], period: float) -> None:
        self.files, self.on_change, self.period = files, on_change, period
        self._stats: dict[Path, tuple[tuple[int, ...], str]] = {}  # path → its stat, its digest
        self._seen: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scoot-files", daemon=True)

    def start(self) -> None:
        self._seen = self.poll()  # what is there now is no change
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def poll(self) -> dict[str, str]:
        """Every key's revision, reading only the files whose stat moved since the last poll."""
        stats: dict[Path, tuple[tuple[int, ...], str]] = {}
        found: dict[str, str] = {}
        for key, path in self.files().items():
            try:
                info = os.stat(path)
                stamp: tuple[int, ...] = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
            except (OSError, ValueError):
                stamp = ()
            known = self._stats.get(path)
            digest = known[1] if known is not None and known[0] == stamp and stamp else file_digest(path)
            stats[path] = (stamp, digest)
            found[key] = digest
        self._stats = stats
        return found

    def check(self) -> list[str]:
        """One poll: the keys that changed since the last (told to `on_change` too)."""
        found = self.poll()
        changed = [key for key in sorted(set(found) | set(self._seen)) if self._seen.get(key) != found.get(key)]
        self._seen = found
        for key in changed:
            self.on_change(key)
        return changed

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            # Whatever goes wrong here (a settings file half written) is the look's to say.
            with contextlib.suppress(Exception):
                self.check()
