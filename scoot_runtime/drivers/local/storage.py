"""`storage` objects on this machine: a SQLite file or a folder under `.scoots/data/`.

Identity: `{"engine": ...}`; outputs: `{"path": ...}`, relative to the
application folder (`.scoots/data/api/orders.sqlite`): scoot.lock is shared, and
holds no path of one machine. The model marks `path` and `url` as local outputs
(`Output.local`), and the runtime makes them absolute where it hands them on
(`scoot_runtime.resolve`) or shows them. The name is deterministic (`data/<component>/<object>.sqlite`, or
`data/<component>/<object>/`), so a store is found again without a record, and
one kept by a delete (data is kept unless `delete_data`) is taken up again by
the next create.

The engines a cloud provides have a local stand-in, so that one architecture
applies on both: `bucket` is a folder (`<object>.bucket/`) and `table` a SQLite
file (`<object>.table.sqlite`); both also report a `url`, as a cloud's store
reports its URL (`s3://…`, `dynamodb://…`): recorded with a relative path
(`file:.scoots/…`, `sqlite:.scoots/…`), it is `file:///…` or `sqlite:///…` where used.

A replacement (another engine) makes the new store before the old one is deleted,
and the old one's data stays unless `--delete-data` says otherwise.

A move (a `moved` block) renames the store to its new address's name: one
`rename` on one file system, atomic (a SQLite file's companions `-wal`, `-shm`
first, the database last: the database's rename is the move).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from scoot_runtime.drivers.base import (
    Address,
    CheckFailure,
    Created,
    DriverContext,
    ObjectSpec,
    Observed,
    Recorded,
)
from scoot_runtime.drivers.local.paths import (
    LocalDriverError,
    data_path,
    inside,
    plain_name,
    store_name,
    target_folder,
)
from scoot_runtime.files import errors_naming, fsync_folder

ENGINES = ("sqlite", "directory", "bucket", "table")
# The engines kept as a folder; the others are SQLite files.
FOLDERS = ("directory", "bucket")
SQLITE_HEADER = b"SQLite format 3\0"
# What `Path.exists()` takes for "not there".
_NOT_THERE = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)
# The files SQLite keeps beside a database while it is in use.
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def problems(config: Mapping[str, Any]) -> list[CheckFailure]:
    engine = config.get("engine")
    if engine not in ENGINES:
        provided = ", ".join(f"`{e}`" for e in ENGINES[:-1]) + f" and `{ENGINES[-1]}`"
        return [
            CheckFailure(
                f"the local driver provides the storage engines {provided}, not `{engine}`",
                "engine",
            )
        ]
    return []


class StorageObjects:
    def __init__(self, context: DriverContext) -> None:
        self.context = context
        # By component: its stores' folder, checked (`inside`) once, and as the
        # application folder names it.
        self._folders: dict[str, tuple[str, str]] = {}

    def _path(self, spec: ObjectSpec) -> tuple[str, Path]:
        failures = problems(spec.config)
        if failures:
            raise LocalDriverError(f"{spec.address}: {failures[0].message}")
        engine = str(spec.config["engine"])
        return engine, data_path(self.context.workspace, self.context.target, spec.address, engine)

    def _recorded(self, spec: ObjectSpec, recorded: Recorded | None) -> tuple[str, Path]:
        """Where the store is: of the recorded engine when there is a record, by its name.

        The path is computed again rather than taken from the record, so that an
        application folder moved elsewhere still finds its data.
        """
        engine = recorded.identity.get("engine") if recorded is not None else None
        if engine in ENGINES:
            return str(engine), data_path(self.context.workspace, self.context.target, spec.address, str(engine))
        if recorded is None and "engine" not in spec.config:
            # An interrupted create of a store no longer wanted: no configuration says
            # which engine, so look for either.
            for candidate in ENGINES:
                path = data_path(self.context.workspace, self.context.target, spec.address, candidate)
                if path.exists():
                    return candidate, path
            return ENGINES[0], data_path(self.context.workspace, self.context.target, spec.address, ENGINES[0])
        return self._path(spec)

    async def create(self, spec: ObjectSpec) -> Created:
        engine = spec.config.get("engine")
        name = store_name(spec.address, str(engine))
        if engine in FOLDERS and plain_name(name):
            # A folder, made with no Path (a Path costs more than the mkdir). Anything
            # found in its place but a folder is looked at below, as any other.
            folder, named = self._folder(spec.address.component)
            made = f"{folder}/{name}"
            with contextlib.suppress(FileExistsError), errors_naming(made):
                try:
                    os.mkdir(made)
                except FileNotFoundError:  # the component's first store
                    os.makedirs(folder, exist_ok=True)
                    os.mkdir(made)
            if stat.S_ISDIR(os.lstat(made).st_mode):
                return self._made(str(engine), f"{named}/{name}")
        engine, path = self._path(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            if engine in FOLDERS:
                path.mkdir()
            else:
                _create_sqlite(path)
        # An existing store (kept by an earlier delete, or made before a crash) is
        # taken up as it is: its data is the user's.
        problem = _problem(engine, path)
        if problem:
            raise LocalDriverError(f"{spec.address}: {problem}")
        return self._created(engine, path)

    async def read(self, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        return self.look(spec, recorded)

    def look(self, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        """`read`, as a plain call: a look at the disk never waits (a refresh of 10,000
        stores made two coroutines a store for it)."""
        engine = recorded.identity.get("engine") if recorded is not None else None
        name = store_name(spec.address, str(engine))
        if engine in FOLDERS and plain_name(name):
            # Every store at every refresh: one lstat, no Path made (its component's
            # folder is checked once a run). A link, or anything but a folder, is looked
            # at below, as any other.
            folder, named = self._folder(spec.address.component)
            try:
                found = os.lstat(f"{folder}/{name}")
            except OSError as error:
                if error.errno in _NOT_THERE:
                    return None
                raise
            if stat.S_ISDIR(found.st_mode):
                made = self._made(str(engine), f"{named}/{name}")
                return Observed(made.identity, made.outputs)
        engine, path = self._recorded(spec, recorded)
        if not path.exists():
            return None
        created = self._created(engine, path)
        problem = _problem(engine, path)
        return Observed(created.identity, created.outputs, (problem,) if problem else ())

    async def update(self, spec: ObjectSpec, recorded: Recorded) -> Created:
        # Nothing of a local store changes in place (`size` is no quota on a local
        # disk; `engine` needs a replacement): make sure it is there.
        return await self.create(spec)

    async def replace(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool) -> Created:
        """A new store (another engine: another file or folder) made before the old one is
        deleted, and the old one's data deleted only with `delete_data`. The same engine is
        the same file or folder: it is taken up as it is, or, with `delete_data`, emptied
        (its data deleted, then a new store made: what `--delete-data` asks)."""
        _, old = self._recorded(spec, recorded)
        _, new = self._path(spec)
        if new == old and delete_data:
            await self.delete(spec, recorded, delete_data)
        made = await self.create(spec)
        if new != old:
            await self.delete(spec, recorded, delete_data)
        return made

    async def move(self, spec: ObjectSpec, recorded: Recorded, source: Address) -> Created:
        """Rename the store `source` names to the name of `spec.address`. Done already (the
        store is at the new name, not the old one): nothing to do. Something at the new
        name already is never overwritten."""
        engine, old = self._recorded(ObjectSpec(source, spec.kind, spec.config), recorded)
        new = data_path(self.context.workspace, self.context.target, spec.address, engine)
        if not old.exists():
            if new.exists():
                return self._created(engine, new)
            raise LocalDriverError(f"{source}: its store is not at {old}: there is nothing to move to {spec.address}")
        if new.exists():
            raise LocalDriverError(
                f"{spec.address}: cannot move {source}'s store to {new}: something is there already. "
                "Move it aside (or delete it) and apply again"
            )
        with errors_naming(new):
            _rename(engine, old, new)
        with contextlib.suppress(OSError):  # leave no empty component folder behind
            old.parent.rmdir()
        return self._created(engine, new)

    async def adopt(self, spec: ObjectSpec, resource_id: str) -> Created:
        """The folder or SQLite file at `resource_id` (a path, relative to the current
        folder), renamed to where the address keeps its store (on the same file system:
        atomic), so that the store is found by its name as any other."""
        engine, path = self._path(spec)
        found = Path(resource_id).expanduser().absolute()
        shape = "a folder" if engine in FOLDERS else "a SQLite file"
        if not found.exists():
            raise LocalDriverError(f"{spec.address}: {resource_id} does not exist; give the path of {shape} (its engine is `{engine}`)")
        if found.is_symlink():
            raise LocalDriverError(f"{spec.address}: {resource_id} is a symbolic link; give the path of {shape} itself")
        problem = _problem(engine, found)
        if problem:
            raise LocalDriverError(f"{spec.address}: {problem}; `{spec.address}` is a `{engine}` store: give {shape}")
        if found.resolve() == path.resolve():
            return self._created(engine, path)
        if path.exists():
            raise LocalDriverError(
                f"{spec.address}: {path} already holds a store of this address; move it aside (or delete it) "
                "and import again"
            )
        try:
            _rename(engine, found, path)
        except OSError as error:
            raise LocalDriverError(
                f"{spec.address}: cannot move {found} to {path} ({error.strerror}); on another file "
                "system, copy it there yourself, then import that path"
            ) from None
        return self._created(engine, path)

    async def delete(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> None:
        if not delete_data:
            return  # the data stays where it is
        engine, path = self._recorded(spec, recorded)
        if engine in FOLDERS:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        else:
            for file in (path, *(path.with_name(path.name + s) for s in SQLITE_SIDECARS)):
                file.unlink(missing_ok=True)
        # Leave no empty component folder behind.
        with contextlib.suppress(OSError):
            path.parent.rmdir()

    @functools.cached_property
    def _workspace(self) -> tuple[Path, Path]:
        """`.scoots/` as the stores' paths start (resolved), and as the application folder names it."""
        # In the application folder, even if it is a link to elsewhere.
        workspace = self.context.workspace
        return workspace.resolve(), workspace.relative_to(self.context.root)

    def _folder(self, component: str) -> tuple[str, str]:
        """A component's stores' folder (inside the workspace: checked once a run, that is
        once a driver), and as the application folder names it."""
        found = self._folders.get(component)
        if found is None:
            folder = inside(target_folder(self.context.workspace, self.context.target), "data", component)
            resolved, named = self._workspace
            found = (str(folder), (named / folder.relative_to(resolved)).as_posix())
            self._folders[component] = found
        return found

    def _created(self, engine: str, path: Path) -> Created:
        """A store's identity and outputs: its path relative to the application folder."""
        resolved, named = self._workspace
        return self._made(engine, (named / path.relative_to(resolved)).as_posix())

    @staticmethod
    def _made(engine: str, relative: str) -> Created:
        outputs = {"path": relative}
        if engine == "bucket":
            outputs["url"] = "file:" + quote(relative)
        elif engine == "table":
            outputs["url"] = "sqlite:" + quote(relative)
        return Created({"engine": engine}, outputs)


def _problem(engine: str, path: Path) -> str | None:
    """What is wrong with the store found at `path`, if anything."""
    if engine in FOLDERS:
        return None if path.is_dir() else f"{path} is not a folder"
    if not path.is_file():
        return f"{path} is not a file"
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    # An empty file is a valid empty database to SQLite.
    if header and header != SQLITE_HEADER:
        return f"{path} is not a SQLite database"
    return None


def _rename(engine: str, old: Path, new: Path) -> None:
    """Rename a store, durably: a SQLite file's companions first, the database last (its
    rename is the move: after a crash, the store is whole at one name or the other)."""
    new.parent.mkdir(parents=True, exist_ok=True)
    for suffix in () if engine in FOLDERS else SQLITE_SIDECARS:
        companion = old.with_name(old.name + suffix)
        if companion.exists():
            os.replace(companion, new.with_name(new.name + suffix))
    os.rename(old, new)
    fsync_folder(new.parent)
    if old.parent != new.parent:
        fsync_folder(old.parent)


def _create_sqlite(path: Path) -> None:
    """A valid empty database, written beside and renamed into place: all or nothing."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        try:
            connection = sqlite3.connect(temporary)
            try:
                connection.execute("VACUUM")  # writes the header: a database, not an empty file
            finally:
                connection.close()
        except sqlite3.Error as error:
            # SQLite's own words (`database or disk is full`) name no file.
            raise LocalDriverError(f"cannot create {path}: {error}") from None
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
