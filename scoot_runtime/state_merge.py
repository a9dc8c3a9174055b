"""Three-way merge of `scoot.lock`: what git's merge driver (`scoot merge-lock`) does.

Two branches that applied the same target touched its records; they merge record by
record, from their common ancestor (`base`), as git merges lines:

- a record (an object, a pending operation) changed on one side only takes that side;
- changed the same way on both sides, it is taken once;
- changed differently on both sides, the merge is refused, naming the object: which
  of the two is what runs cannot be told from the files (apply one branch again after
  taking the other's file whole);
- a target new on one side is taken; one dropped on one side and unchanged on the
  other is dropped; a target whose lineage differs between the sides (it was made anew
  on one) cannot be merged.

The merged target's serial is above both sides', so the state of either branch alone
is older than the merge (see `StateStore.load`, which refuses an older state).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from scoot_model.reading import read_regular_file
from scoot_runtime.errors import ScootError
from scoot_runtime.state import (
    MAX_LOCK_BYTES,
    StateFileModel,
    TargetState,
    parse_state_file,
    write_state_file,
)

R = TypeVar("R", bound=BaseModel)


class MergeConflict(ScootError):
    """The two sides changed the same record differently."""


def merge(base: StateFileModel, ours: StateFileModel, theirs: StateFileModel) -> StateFileModel:
    merged: dict[str, TargetState] = {}
    for name in sorted(set(base.targets) | set(ours.targets) | set(theirs.targets)):
        target = _pick(base.targets.get(name), ours.targets.get(name), theirs.targets.get(name), f"target `{name}`")
        if isinstance(target, _Both):
            target = _merge_target(name, target.base, target.ours, target.theirs)
        if target is not None:
            merged[name] = target
    modules = _merge_records("modules", base.modules, ours.modules, theirs.modules)
    return StateFileModel(targets=merged, modules=modules)


class _Both:
    """Both sides changed a record (differently): it has to be merged inside."""

    def __init__(self, base: TargetState | None, ours: TargetState, theirs: TargetState) -> None:
        self.base, self.ours, self.theirs = base, ours, theirs


def _pick(base: R | None, ours: R | None, theirs: R | None, what: str) -> R | _Both | None:
    """The merged record when one side's is the answer; `_Both` for two changed targets."""
    if ours == theirs:
        return ours
    if ours == base:
        return theirs
    if theirs == base:
        return ours
    if isinstance(ours, TargetState) and isinstance(theirs, TargetState):
        assert base is None or isinstance(base, TargetState)
        return _Both(base, ours, theirs)
    raise MergeConflict(_conflict(what, base, ours, theirs))


def _merge_target(name: str, base: TargetState | None, ours: TargetState, theirs: TargetState) -> TargetState:
    if ours.lineage != theirs.lineage or ours.cloud != theirs.cloud:
        raise MergeConflict(
            f"target `{name}` was made anew on one side (lineage {ours.lineage} here, {theirs.lineage} "
            "on the other): its two states describe different resources and cannot be merged. Take one "
            "side's scoot.lock whole (`git checkout --ours scoot.lock` or `--theirs`), then plan: what "
            "the other side made is found by its tags and shown as not recorded"
        )
    if base is not None and base.lineage != ours.lineage:
        base = None  # both sides made it anew the same way: no common ancestor for its records
    objects = _merge_records(name, base.objects if base else {}, ours.objects, theirs.objects)
    pending = _merge_records(name, base.pending if base else {}, ours.pending, theirs.pending)
    serial = max(ours.serial, theirs.serial) + 1
    return TargetState(lineage=ours.lineage, cloud=ours.cloud, serial=serial, objects=objects, pending=pending)


def _merge_records(target: str, base: Mapping[str, R], ours: Mapping[str, R], theirs: Mapping[str, R]) -> dict[str, R]:
    merged: dict[str, R] = {}
    for address in sorted(set(base) | set(ours) | set(theirs)):
        record = _pick(base.get(address), ours.get(address), theirs.get(address), f"`{address}` of target `{target}`")
        assert not isinstance(record, _Both)
        if record is not None:
            merged[address] = record
    return merged


def _conflict(what: str, base: object, ours: object, theirs: object) -> str:
    def said(record: object) -> str:
        return "removed" if record is None else "changed" if base is not None else "added"

    return (
        f"{what} was {said(ours)} on this side and {said(theirs)} differently on the other: scoot.lock "
        "cannot say which of the two is what runs. Take one side's file whole (`git checkout --ours "
        "scoot.lock` or `--theirs`), finish the merge, then `scoot apply` to make the target match "
        "the merged architecture"
    )


def merge_files(base: Path, ours: Path, theirs: Path) -> None:
    """Git's merge driver: merge the three versions, write the result over `ours`.

    Git passes the common ancestor's version as an empty file when there is none. On a
    conflict (or a damaged file), `ours` is left as it was and the error says why.
    """
    versions = [_read(path) for path in (base, ours, theirs)]
    write_state_file(ours, merge(*versions))


def _read(path: Path) -> StateFileModel:
    raw = read_regular_file(path, MAX_LOCK_BYTES)
    return parse_state_file(raw, path) if raw.strip() else StateFileModel()
