"""Paths under the application's `.scoots/` folder, the owner token kept there, and the driver's error.

Addresses are validated names, yet every path is still built with `Path / name`
and checked to stay inside its folder: a bug elsewhere must not turn into a
write (or an `rm -r`) outside the workspace.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import orjson

from scoot_runtime.drivers.base import Address
from scoot_runtime.errors import ScootError
from scoot_runtime.files import write_atomic

OWNER_FILE = "owner.json"


class LocalDriverError(ScootError, RuntimeError):
    """An operation of the local driver failed; the message says what to do about it."""


def inside(root: Path, *names: str) -> Path:
    """`root / names...`, refused unless it resolves to somewhere inside `root`."""
    base = root.resolve()
    path = base.joinpath(*names)
    resolved = path.resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise LocalDriverError(f"refusing the path {path}: it is not inside {base}")
    return path


def plain_name(name: str) -> bool:
    """A name that stays in its folder: no `/`, not `.` or `..`."""
    return name not in ("", ".", "..") and "/" not in name and "\0" not in name


# The target whose logs and stores are where they were before targets had folders.
DEFAULT_TARGET = "local"


def target_folder(workspace: Path, target: str) -> Path:
    """Where a target's logs and stores are: `.scoots/` itself for the default target
    `local` (where they always were), `.scoots/targets/<target>/` for any other, so
    that two targets of one application folder share no log file and no store."""
    return workspace if target == DEFAULT_TARGET else inside(workspace, "targets", target)


def log_path(workspace: Path, target: str, address: Address, replica: int) -> Path:
    """`<target folder>/logs/<component>.<object>.<replica>.log`."""
    return inside(target_folder(workspace, target), "logs", f"{address.component}.{address.object}.{replica}.log")


# The file or folder name of each storage engine's store, after the object's name.
_DATA_SUFFIXES = {"sqlite": ".sqlite", "directory": "", "bucket": ".bucket", "table": ".table.sqlite"}


def data_path(workspace: Path, target: str, address: Address, engine: str) -> Path:
    """`<target folder>/data/<component>/<object>.sqlite` for SQLite, `.../<object>/` for a
    folder, `<object>.bucket/` for a bucket (a folder), `<object>.table.sqlite` for a table."""
    folder = target_folder(workspace, target)
    return inside(folder, "data", address.component, store_name(address, engine))


def store_name(address: Address, engine: str) -> str:
    """The file or folder name of a store in its component's folder."""
    return address.object + _DATA_SUFFIXES.get(engine, "")


def owner(workspace: Path) -> str:
    """This application folder's name for the processes it starts, kept in `.scoots/local/`.

    `scoot.lock` is shared (a clone, a second checkout, a CI workspace on the same
    machine has the same one), so the processes a folder recognises as its own are
    those marked with a token that only its `.scoots/` holds. The file also says
    which folder made it: found in another folder, it was copied there with its
    workspace (then that copy takes a token of its own, while the original still
    has it) or moved (then the token, and the processes it marks, go with it).
    """
    folder = workspace.resolve()
    path = inside(workspace, "local", OWNER_FILE)
    recorded = _read_owner(path)
    if recorded is not None and recorded[1] == folder:
        return recorded[0]
    if recorded is not None and not _still_holds(recorded):
        token = recorded[0]  # moved here: the folder it was made in no longer holds it
    else:
        token = secrets.token_hex(8)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, orjson.dumps({"token": token, "folder": str(folder)}).decode())
    # Two runs starting at once in a copied folder may each pick a token: the file decides.
    decided = _read_owner(path)
    return decided[0] if decided is not None else token


def _still_holds(recorded: tuple[str, Path]) -> bool:
    """Whether the folder an owner file names still holds it (it was copied, not moved)."""
    try:
        return _read_owner(recorded[1] / "local" / OWNER_FILE) == recorded
    except LocalDriverError:  # damaged there: never take what may be another's
        return True


def _read_owner(path: Path) -> tuple[str, Path] | None:
    """(token, folder) from an owner file; None if there is none.

    A damaged one is refused: a new token would leave every process the old one
    marked running unseen, and a port it holds taken.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise LocalDriverError(f"cannot read {path}: {error.strerror}") from None
    try:
        recorded = orjson.loads(data)
        token, folder = recorded["token"], recorded["folder"]
        if not (isinstance(token, str) and token.isalnum() and isinstance(folder, str)):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise LocalDriverError(
            f"{path} is damaged: it names the processes this folder started. Restore it "
            "(it holds a token and this folder's path), or stop the processes that carry "
            "SCOOT_OBJECT markers of this folder and delete it."
        ) from None
    return token, Path(folder)
