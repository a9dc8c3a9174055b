"""The recorded state: `scoot.lock`, and the journal that makes it crash-safe.

`scoot.lock` sits beside `scoot.toml`, is checked into source control, and holds
per target what was last applied: for each object its configuration as written
(references and secrets symbolic), a digest per key of what that resolved to
(secrets keyed, never plain), the driver's identity of what it made, the
outputs, and the source revision it ran. It holds only what is true on every
clone (no machine's paths, pids or times: drivers keep those in `.scoots/`). It is
deterministic JSON (sorted keys, one object per key) so that a change to one
object is a small diff, and each record (a target's header, an object, a pending
operation) carries its own checksum, which every read verifies: an edit to one
object changes only that object's lines, and two branches that touched different
objects merge (`state_merge`, the git merge driver `scoot merge-lock`).

While an apply runs, each driver call is recorded in a journal under
`.scoots/journal/` before it starts (intent) and after it ends (result): one
appended line each, so recording costs grow linearly. At the end, the journal
is compacted into `scoot.lock`. After a crash, the next run replays the journal
first; an intent with no result is a pending operation whose resource the
driver looks for by its deterministic name.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import re
import uuid
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from scoot_model.objects import dumps
from scoot_model.reading import MIB, read_regular_file
from scoot_runtime.errors import ScootError
from scoot_runtime.files import errors_naming, fsync_folder, make_workspace, write_atomic

STATE_VERSION = 2
# Version 1 had one checksum for the whole file; it is still read (and written as 2).
_WHOLE_FILE_VERSION = 1
STATE_FILE = "scoot.lock"
# Far above a lock of 10,000 objects (some 10 MiB), and a bound on what a hostile one costs.
MAX_LOCK_BYTES = 256 * MIB

# "move": an object recorded at one address made the object of another (a `moved` block).
Operation = Literal["create", "update", "replace", "delete", "move"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ObjectState(_Model):
    """What was applied for one object."""

    kind: str
    config: dict[str, Any] = Field(description="The configuration as written: references and secrets symbolic.")
    digests: dict[str, str] = Field(
        default_factory=dict, description="Per key, a digest of the resolved value applied (secrets keyed)."
    )
    identity: dict[str, Any] = Field(default_factory=dict, description="The driver's identity of what it made.")
    outputs: dict[str, Any] = Field(default_factory=dict, description="The object's outputs.")
    revision: str | None = Field(default=None, description="The source revision it ran.")
    depends_on: list[str] = Field(default_factory=list, description="Addresses it was applied after.")

    def model_post_init(self, context: Any, /) -> None:
        # Pydantic gives each instance a set of the fields it was given: 728 bytes, more
        # than the rest of a record, 7 MiB at 10,000 objects. A record given every field
        # (all of them, read from scoot.lock or made by an apply) shares one set instead:
        # pydantic only adds a field's name to it (on assignment) and copies it (`model_copy`),
        # so a set already holding every name is never changed.
        if len(self.__pydantic_fields_set__) == len(_EVERY_FIELD):
            object.__setattr__(self, "__pydantic_fields_set__", _EVERY_FIELD)


_EVERY_FIELD: set[str] = set(ObjectState.model_fields)


class PendingOperation(_Model):
    """A driver call that started and has no recorded result: the run was interrupted."""

    operation: Operation
    kind: str
    started: str = Field(description="When it started (ISO 8601, UTC).")


class TargetState(_Model):
    """The state of one target."""

    lineage: str = Field(description="Identifies this state's history; resources are tagged with it.")
    serial: int = Field(default=0, description="Incremented at every write.")
    cloud: str = Field(description="The cloud driver of the target.")
    objects: dict[str, ObjectState] = Field(default_factory=dict, description="By address, `component.object`.")
    pending: dict[str, PendingOperation] = Field(default_factory=dict)


class ModulePin(_Model):
    """The commit a git module source's tag or branch named when it was first compiled."""

    commit: str = Field(description="The full commit id every clone compiles the module from.")


class StateFileModel(_Model):
    """The whole `scoot.lock` (on disk, each record also carries its checksum)."""

    version: Literal[2] = 2
    targets: dict[str, TargetState] = Field(default_factory=dict)
    modules: dict[str, ModulePin] = Field(
        default_factory=dict,
        description="Git module sources pinned by a tag or a branch, `URL?ref=REF`, to a commit: "
        "shared by every target (`scoot modules update` moves them).",
    )

    @model_serializer(mode="wrap")
    def _without_no_modules(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # An application that pins no git module keeps the file it had before pins were.
        data: dict[str, Any] = handler(self)
        if not data.get("modules"):
            data.pop("modules", None)
        return data


class StateError(ScootError):
    """The recorded state cannot be used as it is; the message says which file, what and what to do."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


# Target names become file names under `.scoots/`: nothing that could leave the folder.
_TARGET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def check_target_name(target: str) -> str:
    """Return `target` if it is usable as a file name, or raise ValueError."""
    if not _TARGET_NAME.fullmatch(target):
        raise ValueError(
            f"invalid target name {target!r}: use letters, digits, `_`, `-` and `.`, "
            "not starting with `.` or `-`"
        )
    return target


def utc_now() -> str:
    """The time now, ISO 8601 in UTC: `2026-01-31T12:00:00Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- scoot.lock ---------------------------------------------------------------------------------

_RECOVER = (
    "The file was not changed, and scoot will not overwrite it. Restore it from version "
    "control (for example `git checkout -- {name}`) or from a backup, then run the command again."
)


def _damaged(path: Path, what: str) -> StateError:
    return StateError(f"{path}: {what}. " + _RECOVER.format(name=path.name), path)


def _checksum(record: dict[str, Any], *where: str) -> str:
    """sha256 of a record's canonical JSON without its `checksum`, and of where it is (its
    target, and its address), so that a record moved elsewhere does not pass either."""
    canonical = dumps({**record, "checksum": "", "@": list(where)})
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _records(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], tuple[str, ...]]]:
    """Each record of a dumped state file and where it is: a target's header (its own
    fields but its objects and pending operations), each object and each pending operation."""
    for name, target in data.get("targets", {}).items():
        if not isinstance(target, dict):
            continue
        yield target, (name,)
        for section in ("objects", "pending"):
            records = target.get(section)
            if isinstance(records, dict):
                for address, record in records.items():
                    if isinstance(record, dict):
                        yield record, (name, section, address)
    modules = data.get("modules")
    if isinstance(modules, dict):
        for source, record in modules.items():
            if isinstance(record, dict):
                yield record, ("modules", source)


def _header(target: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in target.items() if key not in ("objects", "pending")}


def render_state_file(model: StateFileModel) -> str:
    """The canonical text of `scoot.lock`: sorted keys, two-space indent, each record's checksum."""
    return "".join(state_file_pieces(model))


def state_file_pieces(model: StateFileModel) -> Iterator[str]:
    """The text `dumps` makes of the whole file, made a record at a time: at 10,000
    objects the whole file dumped at once was the peak of an apply's memory, and the
    pieces joined, then encoded, still added twice the file (14 MB): `write_state_file`
    writes them as they come."""
    yield "{\n"
    if model.modules:  # shared by every target; not written when there is none
        modules: dict[str, dict[str, Any]] = {}
        for source, pin in model.modules.items():
            record = pin.model_dump(mode="json")
            record["checksum"] = _checksum(record, "modules", source)
            modules[source] = record
        yield f'  "modules": {_nested(modules, 1)},\n'
    yield '  "targets": '
    for index, (name, target) in enumerate(sorted(model.targets.items())):
        yield ",\n" if index else "{\n"
        yield f"    {_key(name)}: "
        yield from _target_pieces(name, target)
    yield "\n  }" if model.targets else "{}"
    yield f',\n  "version": {_nested(model.version, 1)}\n}}\n'


def _target_pieces(name: str, target: TargetState) -> Iterator[str]:
    """A target's record, two objects deep: its header's fields and its two sections."""
    header = target.model_dump(mode="json", exclude={"objects", "pending"})
    header["checksum"] = _checksum(header, name)
    sections: dict[str, dict[str, ObjectState] | dict[str, PendingOperation]] = {
        "objects": target.objects,
        "pending": target.pending,
    }
    for index, key in enumerate(sorted([*header, *sections])):
        yield ",\n" if index else "{\n"
        yield f"      {_key(key)}: "
        if key not in sections:
            yield _nested(header[key], 3)
            continue
        records = sections[key]
        for number, (address, state) in enumerate(sorted(records.items())):
            record = state.model_dump(mode="json")
            record["checksum"] = _checksum(record, name, key, address)
            yield ",\n" if number else "{\n"
            yield f"        {_key(address)}: {_nested(record, 4)}"
        yield "\n      }" if records else "{}"
    yield "\n    }"


def _key(key: str) -> str:
    return orjson.dumps(key).decode()


def _nested(value: Any, depth: int) -> str:
    """`value` as `dumps` writes it `depth` objects deep (no trailing newline)."""
    return dumps(value)[:-1].replace("\n", "\n" + "  " * depth)


def read_state_file(path: Path) -> StateFileModel:
    """Read and verify `scoot.lock`. A missing file is an empty state; a damaged one raises StateError."""
    try:
        raw = read_regular_file(path, MAX_LOCK_BYTES)
    except FileNotFoundError:
        return StateFileModel()
    except OSError as error:
        if error.errno == errno.ENOENT:
            return StateFileModel()
        raise StateError(f"{path}: cannot be read ({error.strerror}).", path) from error
    return parse_state_file(raw, path)


def parse_state_file(raw: bytes, path: Path) -> StateFileModel:
    """The state in the bytes of a `scoot.lock` (read from `path`, which messages name)."""
    if raw.startswith(b"<<<<<<< ") or b"\n<<<<<<< " in raw:
        raise _damaged(
            path,
            "it holds unresolved merge conflict markers (`<<<<<<<`). Merge it with Scoot's merge "
            "driver (`scoot init` registers it; then `git merge` again), or take one side whole "
            "(`git checkout --ours` or `--theirs`)",
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise _damaged(path, f"it is not valid JSON ({error}); it may be truncated or damaged") from error
    if not isinstance(data, dict):
        raise _damaged(path, "it is not a JSON object")
    version = data.get("version")
    if version == _WHOLE_FILE_VERSION:
        _verify_whole_file(data, path)
        data = {"version": STATE_VERSION, "targets": data.get("targets")}
    elif version == STATE_VERSION:
        _verify_records(data, path)
    else:
        raise StateError(
            f"{path}: state format version {version!r} is not one this scoot reads "
            f"(it reads versions {_WHOLE_FILE_VERSION} and {STATE_VERSION}). If a newer scoot wrote it, "
            "upgrade scoot; otherwise the file is damaged. " + _RECOVER.format(name=path.name),
            path,
        )
    try:
        return StateFileModel.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or '(top)'}: {e['msg']}" for e in error.errors()[:3]
        )
        raise _damaged(path, f"its content does not match the state schema ({problems})") from error


def _verify_whole_file(data: dict[str, Any], path: Path) -> None:
    recorded = data.get("checksum")
    if not isinstance(recorded, str) or not recorded:
        raise _damaged(path, "it has no checksum")
    canonical = dumps({**data, "checksum": ""})
    if recorded != "sha256:" + hashlib.sha256(canonical.encode()).hexdigest():
        raise _damaged(path, "its checksum does not match its content: it was edited by hand, merged, or damaged")


def _verify_records(data: dict[str, Any], path: Path) -> None:
    """Check, then drop, each record's checksum; the first record at fault is named."""
    for record, where in _records(data):
        recorded = record.pop("checksum", None)
        what = (
            f"target `{where[0]}`"
            if len(where) == 1
            else f"module `{where[1]}`"
            if len(where) == 2
            else f"`{where[2]}` of target `{where[0]}`"
        )
        if not isinstance(recorded, str) or not recorded:
            raise _damaged(path, f"the record of {what} has no checksum")
        if recorded != _checksum(_header(record) if len(where) == 1 else record, *where):
            raise _damaged(
                path,
                f"the checksum of {what} does not match its record: it was edited or merged by hand, "
                "or damaged",
            )


def write_state_file(path: Path, model: StateFileModel) -> None:
    """Write `scoot.lock` canonically and atomically (temp file, fsync, rename).

    This does not look at what the file held: callers read it first (`read_state_file`), so a
    damaged file is refused before it could be replaced.
    """
    write_atomic(path, state_file_pieces(model))


def pin_modules(root: Path, pins: Mapping[str, str], keep: Collection[str] | None = None) -> None:
    """Record git module sources' commits (`pins`, by `URL?ref=REF`) in `root`'s scoot.lock,
    the targets' records untouched; with `keep`, drop the pins of sources not in it."""
    workspace = root / ".scoots"
    make_workspace(workspace)
    path = root / STATE_FILE
    with open(workspace / "scoot.lock.mutex", "a+b") as mutex:  # as `StateStore._write`
        fcntl.flock(mutex.fileno(), fcntl.LOCK_EX)
        on_disk = read_state_file(path)
        modules = {
            source: pin for source, pin in on_disk.modules.items() if keep is None or source in keep
        }
        modules.update({source: ModulePin(commit=commit) for source, commit in pins.items()})
        if modules != on_disk.modules:
            write_state_file(path, on_disk.model_copy(update={"modules": modules}))


# -- The journal --------------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalHeader:
    """The journal's first line: which state history its records belong to."""

    lineage: str
    cloud: str
    started: str


class Journal:
    """The write-ahead log of one run on one target: `.scoots/journal/<target>.jsonl`.

    One JSON line per record, appended with a single write as the record arrives, so
    recording costs O(1) per record and a crash of the process loses at most the line
    being written. An intent is also on the disk (fsynced) before the call it announces
    starts: `intent()` fsyncs at once; with `sync=False`, `synced()` waits for a shared
    fsync that runs in a thread, off the event loop, and covers every line written before
    it started (a group commit: one fsync for the intents of all the calls starting at
    that moment; `StateStore.intend`). A result or a move needs no fsync of its own: it reaches the disk with
    the next fsync (every later intent's, and the one at `close()`); were the machine to
    lose it first, its intent is pending, and the next plan looks the object up by its
    name, as after a crash during the call. The first line is a header naming the
    lineage. Only lines ending in a newline count; whatever follows the last newline is a
    torn write and is ignored.

    Use it from one thread (the reconciler's event loop).
    """

    def __init__(self, workspace: Path, target: str, path: Path | None = None) -> None:
        self.path = path or workspace / "journal" / f"{check_target_name(target)}.jsonl"
        self.bytes_written = 0
        self._fd: int | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of what was opened
        self._synced = 0  # of `bytes_written`, how many an fsync has made durable
        self._syncing: asyncio.Future[None] | None = None  # the fsync in flight, if any

    def exists(self) -> bool:
        return self.path.exists()

    def open(self, lineage: str, cloud: str) -> None:
        """Open for appending; a leftover journal is continued, never truncated to nothing.

        A leftover journal's records are part of the state until the next commit, so they
        are kept; only a torn tail is cut off, lest the next record be glued onto it.
        """
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            with errors_naming(self.path):
                data = os.pread(fd, os.fstat(fd).st_size, 0)
                keep = data.rfind(b"\n") + 1
                if keep != len(data):
                    os.ftruncate(fd, keep)
            self._fd = fd
            opened = os.fstat(fd)
            self._file = (opened.st_dev, opened.st_ino)
            if keep == 0:
                self._append({"type": "begin", "lineage": lineage, "cloud": cloud, "time": utc_now()})
        except BaseException:
            self._fd = None
            os.close(fd)
            raise
        if created:
            fsync_folder(self.path.parent)

    def intent(
        self, address: str, operation: Operation, kind: str, *, time: str | None = None, sync: bool = True
    ) -> None:
        """Record that `operation` on `address` is about to start: on the disk when this
        returns, or, with `sync=False`, once `synced()` returns."""
        record = {"type": "intent", "address": address, "operation": operation, "kind": kind}
        self._append({**record, "time": time or utc_now()})
        if sync:
            self.sync()

    def result(self, address: str, state: ObjectState | None) -> None:
        """Record what `address` is now; None: it is gone (after a delete, or a failed create)."""
        dumped = None if state is None else state.model_dump(mode="json")
        self._append({"type": "result", "address": address, "state": dumped})

    def moved(self, source: str, address: str, state: ObjectState) -> None:
        """Record in one line that what was `source` is now `address`: a crash leaves
        it at one address or the other, never at both or neither."""
        record = {"type": "moved", "from": source, "address": address}
        self._append({**record, "state": state.model_dump(mode="json")})

    def sync(self) -> None:
        """Make every line written so far durable, now."""
        if self._fd is not None and self._synced < self.bytes_written:
            written = self.bytes_written
            with errors_naming(self.path):
                os.fsync(self._fd)
            self._synced = max(self._synced, written)

    async def synced(self) -> None:
        """Wait until every line written so far is durable. One fsync runs at a time, in a
        thread; whoever needs more than it covers waits for the next, which covers them all."""
        wanted = self.bytes_written
        while self._synced < wanted:
            if self._syncing is None:
                self._syncing = asyncio.ensure_future(self._sync_in_thread())
            # Shielded: a cancelled waiter leaves the others' fsync running.
            await asyncio.shield(self._syncing)

    async def _sync_in_thread(self) -> None:
        if self._fd is None:
            raise RuntimeError("the journal is not open: call begin() first")
        written = self.bytes_written
        # Its own descriptor: `close()` may close the journal's while the thread still runs.
        fd = os.dup(self._fd)
        try:
            await asyncio.to_thread(_fsync_naming, fd, self.path)
            self._synced = max(self._synced, written)
        finally:
            self._syncing = None
            os.close(fd)

    def close(self) -> None:
        """Stop appending, what was written made durable; the file stays, for the next run to recover from."""
        if self._fd is not None:
            try:
                self.sync()
            finally:
                os.close(self._fd)
                self._fd = None

    def remove(self) -> None:
        """Delete the journal, once its records are in `scoot.lock`."""
        self.close()
        self.path.unlink(missing_ok=True)

    def on_disk(self) -> bool:
        """Whether the file this journal wrote is still the one at its path (no other run
        that shared it has committed and removed it since)."""
        try:
            found = self.path.stat()
        except FileNotFoundError:
            return False
        return self._file == (found.st_dev, found.st_ino)

    def header(self) -> JournalHeader | None:
        """The header of the journal on disk, if it has a complete one."""
        for _, record in self._records(limit=1):
            return JournalHeader(record["lineage"], record["cloud"], record["time"])
        return None

    def replay(self, target_state: TargetState) -> TargetState:
        """`target_state` with the journal's records applied; `target_state` itself is not changed.

        A result sets (or, with no state, removes) the object and clears its pending
        operation; an intent with no later result becomes a pending operation. Replaying
        a journal already compacted into `target_state` changes nothing, so a crash
        between writing `scoot.lock` and removing the journal is harmless.
        """
        objects = dict(target_state.objects)
        pending = dict(target_state.pending)
        for number, record in self._records():
            if record["type"] == "begin":
                if record["lineage"] != target_state.lineage:
                    raise StateError(
                        f"{self.path}: this journal of an interrupted run belongs to state lineage "
                        f"{record['lineage']}, but scoot.lock has {target_state.lineage} for this "
                        f"target (line {number}). scoot.lock was replaced since the run. The journal "
                        "was not changed: restore the scoot.lock of that run, or move the journal "
                        "aside and run `scoot plan`, which finds what the run made by name.",
                        self.path,
                    )
            elif record["type"] == "intent":
                pending[record["address"]] = record["pending"]
            elif record["type"] == "moved":
                pending.pop(record["address"], None)
                objects = moved_objects(objects, record["from"], record["address"], record["state"])
            else:
                address = record["address"]
                pending.pop(address, None)
                if record["state"] is None:
                    objects.pop(address, None)
                else:
                    objects[address] = record["state"]
        return target_state.model_copy(update={"objects": objects, "pending": pending})

    def _append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            raise RuntimeError("the journal is not open: call begin() first")
        line = orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n"
        view = memoryview(line)
        with errors_naming(self.path):
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        self.bytes_written += len(line)

    def _records(self, limit: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """The complete records, validated, with their line numbers."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        # The part after the last newline was being written when the run stopped.
        lines = data.split(b"\n")[:-1]
        if limit is not None:
            lines = lines[:limit]
        for index, line in enumerate(lines):
            number = index + 1
            try:
                yield number, self._parse(line, first=number == 1)
            except (orjson.JSONDecodeError, ValidationError, KeyError, TypeError, ValueError) as error:
                raise StateError(
                    f"{self.path}: line {number} of the journal of an interrupted run is damaged "
                    f"({_describe(error)}). The journal was not changed. Move it aside and "
                    "run `scoot plan`: the driver finds what the run made by name.",
                    self.path,
                ) from error

    @staticmethod
    def _parse(line: bytes, first: bool) -> dict[str, Any]:
        record = orjson.loads(line)
        if not isinstance(record, dict):
            raise ValueError("a record must be a JSON object")
        kind = record.get("type")
        if first != (kind == "begin"):
            raise ValueError("the journal must start with one `begin` record")
        if kind == "begin":
            if not all(isinstance(record[key], str) for key in ("lineage", "cloud", "time")):
                raise ValueError("a `begin` record needs lineage, cloud and time")
            return record
        if not isinstance(record["address"], str):
            raise ValueError("a record's address must be a string")
        if kind == "intent":
            operation = {"operation": record["operation"], "kind": record["kind"], "started": record["time"]}
            return {**record, "pending": PendingOperation.model_validate(operation)}
        if kind == "moved":
            if not isinstance(record["from"], str):
                raise ValueError("a `moved` record's `from` must be a string")
            return {**record, "state": ObjectState.model_validate(record["state"])}
        if kind == "result":
            state = record["state"]
            return {**record, "state": None if state is None else ObjectState.model_validate(state)}
        raise ValueError(f"unknown record type {kind!r}")


def _fsync_naming(fd: int, path: Path) -> None:
    with errors_naming(path):
        os.fsync(fd)


def moved_objects(
    objects: dict[str, ObjectState], source: str, address: str, state: ObjectState
) -> dict[str, ObjectState]:
    """`objects` with `source` recorded as `address` (as `state`), and every record that
    depended on `source` depending on `address` instead."""
    renamed = {}
    for name, record in objects.items():
        if name == source:
            continue
        if source in record.depends_on:
            depends_on = sorted({address if d == source else d for d in record.depends_on})
            record = record.model_copy(update={"depends_on": depends_on})
        renamed[name] = record
    renamed[address] = state
    return renamed


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no {error} field"
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
    return str(error)


# -- The store ----------------------------------------------------------------------------------


class StateStore:
    """The state of one target: `root/scoot.lock`, kept crash-safe by a journal during a run.

    `load()` reads it (replaying a leftover journal: `recovered` tells); `begin()` starts a
    run; `intent()` before each driver call and `result()` after it append to the journal
    and update `state` in place (so readers holding `store.state` see the changes);
    `commit()` writes `scoot.lock` once and removes the journal. Recording costs O(1) per
    record, and the whole file is written once per run.
    """

    def __init__(self, root: Path, target: str, cloud: str) -> None:
        self.root = root
        self.target = check_target_name(target)
        self.cloud = cloud
        self.state_path = root / STATE_FILE
        self.workspace = root / ".scoots"
        self.journal = Journal(self.workspace, target)
        self.recovered = False
        self._state: TargetState | None = None
        self._touched: set[str] = set()  # the addresses this run recorded

    @property
    def state(self) -> TargetState:
        if self._state is None:
            raise RuntimeError("the state is not loaded: call load() first")
        return self._state

    def load(self) -> TargetState:
        """The target's recorded state, with a leftover journal (an interrupted run) replayed.

        A target never applied gets a new state with a fresh lineage, or the lineage of the
        interrupted first run, whose resources carry it. Nothing is written.
        """
        recorded = read_state_file(self.state_path).targets.get(self.target)
        if recorded is not None:
            self._refuse_older(recorded)
        header = self.journal.header()
        if recorded is None:
            if header is not None:
                recorded = TargetState(lineage=header.lineage, cloud=header.cloud)
            else:
                recorded = TargetState(lineage=str(uuid.uuid4()), cloud=self.cloud)
        self.recovered = self.journal.exists()
        self._state = self.journal.replay(recorded) if self.recovered else recorded
        return self._state

    @property
    def _written_path(self) -> Path:
        return self.workspace / "written" / f"{self.target}.json"

    def _refuse_older(self, recorded: TargetState) -> None:
        """Refuse a scoot.lock older than the state this clone last wrote for the target.

        Checking out an older branch brings back an older scoot.lock: planned against it,
        what was applied since would look unrecorded. The lineage and serial this clone
        last wrote are kept in `.scoots/written/` to tell.
        """
        try:
            written = orjson.loads(self._written_path.read_bytes())
            lineage, serial = written["lineage"], int(written["serial"])
        except (OSError, ValueError, KeyError, TypeError):
            return  # never written here, or unreadable: nothing to compare with
        if lineage == recorded.lineage and recorded.serial < serial:
            raise StateError(
                f"{self.state_path}: target `{self.target}` is at serial {recorded.serial}, older than "
                f"serial {serial}, which this clone wrote last: this scoot.lock comes from before that "
                "apply (an older branch or commit?). Bring in the newer scoot.lock (`git pull`, or merge "
                "the branch that applied) and run the command again. To go back to this older state on "
                f"purpose, remove {self._written_path}.",
                self.state_path,
            )

    def begin(self) -> None:
        """Start recording a run (a leftover journal is continued: it is not in scoot.lock yet)."""
        self.journal.open(self.state.lineage, self.state.cloud)

    def intent(self, address: str, operation: Operation, kind: str) -> None:
        """Record that a driver call on `address` starts; it is pending until its result."""
        started = utc_now()
        self._touched.add(address)
        self.journal.intent(address, operation, kind, time=started)
        self.state.pending[address] = PendingOperation(operation=operation, kind=kind, started=started)

    async def intend(self, address: str, operation: Operation, kind: str) -> None:
        """`intent()` from the event loop: its fsync runs in a thread, shared with the
        intents of the calls starting at the same moment (`Journal.synced`)."""
        started = utc_now()
        self._touched.add(address)
        self.journal.intent(address, operation, kind, time=started, sync=False)
        self.state.pending[address] = PendingOperation(operation=operation, kind=kind, started=started)
        await self.journal.synced()

    def result(self, address: str, state: ObjectState | None) -> None:
        """Record what `address` is after a driver call (None: gone), and clear its pending entry.

        `state` is kept as given, not copied: do not change it afterwards.
        """
        self._touched.add(address)
        self.journal.result(address, state)
        self.state.pending.pop(address, None)
        if state is None:
            self.state.objects.pop(address, None)
        else:
            self.state.objects[address] = state

    def moved(self, source: str, address: str, state: ObjectState) -> None:
        """Record that what was recorded at `source` is now `address` (as `state`), in one
        journal line; what depended on `source` depends on `address` now."""
        dependants = {a for a, s in self.state.objects.items() if source in s.depends_on}
        self._touched |= {source, address, *dependants}
        self.journal.moved(source, address, state)
        self.state.pending.pop(address, None)
        # In place: readers hold `state.objects`.
        updated = moved_objects(self.state.objects, source, address, state)
        self.state.objects.clear()
        self.state.objects.update(updated)

    def commit(self) -> TargetState:
        """Write the state into scoot.lock (serial + 1, other targets untouched); remove the journal."""
        state = self.state
        self.journal.close()
        self._write(state)
        state.serial += 1
        self.journal.remove()
        self.recovered = False
        self._touched.clear()
        return state

    def save(self, state: TargetState) -> TargetState:
        """Make `state` this target's state and write it now (refresh, force operations).

        `state.serial` must be the serial it was based on; a leftover journal is dropped,
        as `state` is taken to include it (it came from `load()`).
        """
        self._state = state
        return self.commit()

    def close(self) -> None:
        """Stop a run without committing: the journal stays for the next `load()` to recover."""
        self.journal.close()

    def _keep_records(self, state: TargetState) -> Path:
        """Where this run's records are, after another run wrote scoot.lock over them.

        Two runs that overlap (a forced apply lock) append to one journal, and the first
        to commit removes it. The records of the other are then written again, from
        memory, to a journal of their own: at the journal's path if it is free (the next
        run recovers them), beside it otherwise.
        """
        if self.journal.on_disk():
            return self.journal.path
        path = self.journal.path
        if path.exists():
            path = path.with_name(f"{self.target}.{utc_now().replace(':', '')}.{os.getpid()}.jsonl")
        kept = Journal(self.workspace, self.target, path)
        kept.open(state.lineage, state.cloud)
        try:
            for address in sorted(self._touched):
                pending = state.pending.get(address)
                if pending is not None:
                    kept.intent(address, pending.operation, pending.kind, time=pending.started)
                else:
                    kept.result(address, state.objects.get(address))
        finally:
            kept.close()
        return path

    def _write(self, state: TargetState) -> None:
        # Targets apply independently, each under its own apply lock, yet share this file:
        # the read-modify-write is serialised so one target's commit cannot drop another's.
        make_workspace(self.workspace)
        with open(self.workspace / "scoot.lock.mutex", "a+b") as mutex:
            fcntl.flock(mutex.fileno(), fcntl.LOCK_EX)
            on_disk = read_state_file(self.state_path)
            current = on_disk.targets.get(self.target)
            if current is not None and current.lineage != state.lineage:
                kept = self._keep_records(state)
                raise StateError(
                    f"{self.state_path}: target `{self.target}` now has lineage {current.lineage}, "
                    f"not {state.lineage} as when this run read it: the file was replaced meanwhile. "
                    f"It was not changed; the run's records stay in {kept}. Restore the "
                    "scoot.lock of this run and run the command again.",
                    self.state_path,
                )
            if current is not None and current.serial != state.serial:
                kept = self._keep_records(state)
                again = (
                    "run the command again: it will recover them"
                    if kept == self.journal.path
                    else f"once that run is over, move it to {self.journal.path} and run the command again"
                )
                raise StateError(
                    f"{self.state_path}: target `{self.target}` was written by another run "
                    f"(serial {current.serial}, this run read {state.serial}): two runs overlapped "
                    f"(was the apply lock forced?). It was not changed; this run's records are in {kept}: "
                    f"{again}.",
                    self.state_path,
                )
            written = state.model_copy(update={"serial": state.serial + 1})
            targets = {**on_disk.targets, self.target: written}
            write_state_file(self.state_path, on_disk.model_copy(update={"targets": targets}))
            self._written_path.parent.mkdir(exist_ok=True)
            write_atomic(self._written_path, dumps({"lineage": written.lineage, "serial": written.serial}))
