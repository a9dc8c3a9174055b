"""The plan in the editor: what `scoot apply` would do to each object, against `scoot.lock`.

The runtime's own planner is run on the last good compilation, without a
refresh (the drivers are not asked what runs: that is `scoot plan`'s job), so
the lens says what the recorded state and the text say. Settings come from the
`scoot.toml` of the application folder, and the default target.

Sources that live elsewhere (git, a hosting service) are pinned to the revision
`scoot.lock` records, so an edit never waits on a network: a new commit shows in
`scoot plan`, not here. Folders are read as they are, as `scoot plan` reads them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from scoot_lang.compiler import Compilation
from scoot_lsp.documents import Snapshot
from scoot_runtime import workspace as settings
from scoot_runtime.state import STATE_FILE, StateError, StateFileModel, read_state_file

log = logging.getLogger("scoot_lsp")
_VERB = {"create": "create", "update": "update", "replace": "replace", "delete": "delete", "move": "move", "no-op": "unchanged"}


def application_root(folder: Path) -> Path | None:
    """The application folder whose architecture is `folder`: it, or a parent with a `scoot.toml`."""
    for candidate in [folder, *folder.parents][:4]:
        if (candidate / settings.SETTINGS_FILE).is_file() or (candidate / STATE_FILE).is_file():
            try:
                loaded = settings.load(candidate)
            except Exception:
                return None
            if loaded.architecture == folder.resolve() or loaded.architecture.parent == folder.resolve():
                return candidate
    return None


def params_for(folder: Path) -> dict[str, str]:
    """The values scoot.toml gives the default target (the one the plan lens plans)."""
    root = application_root(folder)
    if root is None:
        return {}
    loaded = settings.load(root)
    return {name: given.value for name, given in loaded.params_for(loaded.target(None)).items()}


def _lock(folder: Path) -> StateFileModel:
    """The `scoot.lock` of the application whose architecture is `folder` (empty when none, or damaged)."""
    root = application_root(folder) or folder
    try:
        return read_state_file(root / STATE_FILE)
    except StateError:
        return StateFileModel()


def recorded(folder: Path, address: str) -> dict[str, dict[str, Any]]:
    """What each target of `scoot.lock` records of an object (nothing when there is no lock)."""
    return {
        target: state.objects[address].model_dump(mode="json")
        for target, state in _lock(folder).targets.items()
        if address in state.objects
    }


def recorded_addresses(folder: Path) -> frozenset[str]:
    """Every object address `scoot.lock` records, for any target (a rename of one writes a `moved`)."""
    return frozenset(address for state in _lock(folder).targets.values() for address in state.objects)


@dataclass(frozen=True)
class Outcome:
    changes: dict[str, str]  # address: what apply would do, in words
    problem: str | None = None


def plan_outcome(compilation: Compilation, folder: Path) -> Outcome:
    """Run the runtime's planner (no refresh) for the default target, through the
    application layer as `scoot plan` does."""
    from scoot_app.application import PlanFailed, plan, recorded_revisions, with_compilation

    if compilation.architecture is None:
        return Outcome({}, "fix the errors to see the plan")
    root = application_root(folder) or folder
    try:
        application = with_compilation(root, compilation)
        made = plan(application, revisions=recorded_revisions(application), refresh=False).plan
    except Exception as error:
        return Outcome({}, str(error))
    if isinstance(made, PlanFailed):
        return Outcome({}, "; ".join(f"{p.address}: {p.message}" for p in made.error.problems))
    changes = {}
    for change in made.changes:
        words = _VERB.get(change.action.value, change.action.value)
        if change.keys:
            words += " (" + ", ".join(change.keys) + ")"
        changes[change.address] = words
    return Outcome(changes)


def lenses(snapshot: Snapshot, path: str, outcome: Outcome) -> list[lsp.CodeLens]:
    index = snapshot.index(path)
    result = []
    if outcome.problem is not None:
        first = next(
            (sym for sym in snapshot.compilation.semantic.symbols.values() if sym.name_span.file == path), None
        )
        if first is not None:
            rng = index.range(first.name_span.start, first.name_span.end)
            result.append(lsp.CodeLens(range=rng, command=lsp.Command(title=f"plan: {outcome.problem}", command="")))
        return result
    for sym in snapshot.compilation.semantic.symbols.values():
        if sym.kind != "object" or sym.name_span.file != path:
            continue
        address = f"{sym.component}.{sym.name}"
        words = outcome.changes.get(address)
        if words is None:
            continue
        rng = index.range(sym.span.start, sym.name_span.end)
        result.append(lsp.CodeLens(range=rng, command=lsp.Command(title=f"plan: {words}", command="")))
    return result
