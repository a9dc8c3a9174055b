"""The desired state: the architecture's objects as the runtime applies them.

From the runtime objects this builds, per object, its configuration in the JSON
form (references symbolic), what it depends on, and where its source is. A
connection's effect that is the same on every cloud is made explicit here: the
source compute gets the target's outputs as environment variables
(`ORDERS_PATH = ${api.orders.path}`), unless the user set that name already.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scoot_runtime import template
from scoot_runtime.drivers.base import Address
from scoot_runtime.objects import Architecture, Compute, Connection, references_in


@dataclass
class DesiredObject:
    address: Address
    kind: str
    config: dict[str, Any]
    depends_on: set[str] = field(default_factory=set)
    source: Path | None = None
    revision: str | None = None
    # A compute: the objects whose outputs connections bring into its environment.
    connected: tuple[str, ...] = ()
    # A connection: its source's user-set environment, and its target (see `Resolver`).
    connection: tuple[dict[str, Any], str] | None = None


def env_name(obj: str, output: str) -> str:
    """`orders` and `path` give `ORDERS_PATH`."""
    return f"{obj}_{output}".upper().replace("-", "_")


def _object_ref(reference: str) -> str | None:
    """The address an object reference (`${api.web}`) names, else None."""
    parts = template.split(reference)
    if len(parts) == 1 and parts[0].interpolation and parts[0].text.count(".") == 1:
        return parts[0].text.strip()
    return None


def desired_objects(architecture: Architecture, root: Path) -> dict[str, DesiredObject]:
    """Every object of the architecture, by address, with connections made explicit."""
    result: dict[str, DesiredObject] = {}
    for component_name, component in architecture.components.items():
        source = (root / component.source).resolve() if component.source else None
        for name, obj in component.objects.items():
            address = Address(component_name, name)
            config = obj.model_dump(mode="json", by_alias=True)
            config.pop("kind", None)
            result[str(address)] = DesiredObject(address, obj.kind, config, source=source)
    for desired in list(result.values()):
        if desired.kind == Connection.kind_name:
            _connect(desired, result)
    for desired in result.values():
        desired.depends_on |= {ref.rsplit(".", 1)[0] if ref.count(".") == 2 else ref for ref in references_in(desired.config)}
        desired.depends_on.discard(str(desired.address))
        if desired.kind == Compute.kind_name and desired.source is not None and desired.source.is_dir():
            desired.revision = folder_revision(desired.source)
    return result


def source_problem(desired: DesiredObject) -> str | None:
    """Why a compute cannot run, if its source is missing (a plan-time error)."""
    if desired.kind != Compute.kind_name:
        return None
    component = desired.address.component
    if desired.source is None:
        return f"compute `{desired.address}` has no source to run: set `source = \"./folder\"` on component `{component}`"
    if not desired.source.is_dir():
        return f"the source of component `{component}`, {desired.source}, is not a folder"
    return None


def _connect(connection: DesiredObject, objects: dict[str, DesiredObject]) -> None:
    """Bring the target's outputs into the source compute's environment, at apply time.

    The names are `TARGET_OUTPUT` for each output the target reports (a storage has
    a `path` or a `url`, depending on the driver), unless the user set that name.
    """
    source = _object_ref(str(connection.config.get("from", "")))
    target = _object_ref(str(connection.config.get("to", "")))
    if source is None or target is None or source not in objects or target not in objects:
        return
    origin = objects[source]
    if origin.kind != Compute.kind_name:
        return
    origin.connected = (*origin.connected, target)
    origin.depends_on.add(target)
    connection.connection = (dict(origin.config.get("env") or {}), target)


_SKIPPED = {".git", ".scoots", "__pycache__", ".venv", "node_modules"}
# Written by every apply: were it part of a revision, no apply would ever be the last.
_GENERATED = {"scoot.lock"}


def folder_revision(folder: Path) -> str:
    """A digest of a folder's files (names, modes and contents): a new one is a new revision."""
    digest = hashlib.sha256()
    for directory, subdirectories, files in os.walk(folder):
        subdirectories[:] = sorted(d for d in subdirectories if d not in _SKIPPED)
        for name in sorted(set(files) - _GENERATED):
            path = Path(directory) / name
            if path.is_symlink() or not path.is_file():
                continue
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(oct(path.stat().st_mode & 0o111).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()
