"""Paths under the application's `.scoots/` folder, and the driver's error.

Addresses are validated names, yet every path is still built with `Path / name`
and checked to stay inside its folder: a bug elsewhere must not turn into a
write (or an `rm -r`) outside the workspace.
"""

from __future__ import annotations

from pathlib import Path

from scoot_runtime.drivers.base import Address
from scoot_runtime.errors import ScootError


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


def log_path(workspace: Path, address: Address, replica: int) -> Path:
    """`.scoots/logs/<component>.<object>.<replica>.log`."""
    return inside(workspace, "logs", f"{address.component}.{address.object}.{replica}.log")


# The file or folder name of each storage engine's store, after the object's name.
_DATA_SUFFIXES = {"sqlite": ".sqlite", "directory": "", "bucket": ".bucket", "table": ".table.sqlite"}


def data_path(workspace: Path, address: Address, engine: str) -> Path:
    """`.scoots/data/<component>/<object>.sqlite` for SQLite, `.../<object>/` for a folder,
    `<object>.bucket/` for a bucket (a folder), `<object>.table.sqlite` for a table."""
    return inside(workspace, "data", address.component, address.object + _DATA_SUFFIXES.get(engine, ""))
