"""The picture `scoot console` draws, as data (JSON-ready dicts): what `scoot graph` draws
(`scoot_app.graph`), each object with what its driver observes and what an apply would do,
components ordered so that what is used stands left of what uses it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scoot_app.console.editor import DEFAULT, EDITORS, link
from scoot_app.graph import graph_model
from scoot_app.sct_lines import Location, Locator

if TYPE_CHECKING:
    from scoot_lang.compiler import Compilation
    from scoot_runtime.engine import Runtime
    from scoot_runtime.plan import Plan

# What the driver observes, in words the page colours by.
RUNNING, DRIFTED, MISSING, FAILED, ABSENT = "running", "drifted", "missing", "failed", "not created"


def observed_status(recorded: bool, seen: Any) -> tuple[str, str]:
    """(status, detail) of one object: `seen` is an Observed, None (not found) or an
    error's text (str), as `scoot status` reads them."""
    if isinstance(seen, str):
        return FAILED, seen
    if not recorded and seen is None:
        return ABSENT, "not applied yet"
    if seen is None:
        return MISSING, "the driver finds nothing: `scoot apply` creates it again"
    if getattr(seen, "drift", ()):
        return DRIFTED, "; ".join(seen.drift)
    return RUNNING, ""


def columns(components: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each component's column: one past the furthest of the components it uses (a cycle
    between components is cut where it closes), so dependencies stand to the left."""
    uses: dict[str, set[str]] = {name: set() for name in components}
    for source, target in edges:
        if source != target and source in uses and target in uses:
            uses[source].add(target)
    column: dict[str, int] = {}

    def place(name: str, path: frozenset[str]) -> int:
        if name in column:
            return column[name]
        found = 1 + max((place(used, path | {name}) for used in sorted(uses[name]) if used not in path), default=-1)
        column[name] = found
        return found

    for name in components:
        place(name, frozenset())
    return column


def locate(compilation: Compilation, root: Path, address: str, editor: str = EDITORS[DEFAULT]) -> dict[str, Any] | None:
    """The `.sct` file (absolute) and line that declare the object, from the source map,
    with the link that opens `editor` (a URL template, `scoot_app.console.editor`) there."""
    return placed(Locator(compilation.source_map, compilation.sources).object(address), root, editor)


def placed(location: Location | None, root: Path, editor: str) -> dict[str, Any] | None:
    """A `.sct` location for the page: the file absolute and as shown (relative to the
    application's folder when inside it), its line, and the editor's link."""
    if location is None:
        return None
    path = Path(location.file)
    absolute = (path if path.is_absolute() else Path.cwd() / path).resolve()
    shown = absolute.relative_to(root) if absolute.is_relative_to(root) else absolute
    return {
        "file": str(absolute),
        "shown": str(shown),
        "line": location.line,
        "url": link(editor, absolute.as_posix(), location.line),
    }


def picture(
    runtime: Runtime,
    compilation: Compilation,
    root: Path,
    plan: Plan | None,
    observed: Mapping[str, Any],
    plan_error: str | None = None,
    editor: str = EDITORS[DEFAULT],
) -> dict[str, Any]:
    """Components, objects and edges of what is wanted and what is recorded (objects the
    plan deletes included). `observed`: as `observed_status` takes them, by address."""
    recorded = runtime.store.state.objects
    nodes, edges = graph_model(runtime.desired, plan)
    actions = {change.address: change for change in plan.changes} if plan is not None else {}
    present = {node.address for node in nodes}
    for address, state in sorted(recorded.items()):
        if address not in present and state.kind != "connection":
            from scoot_app.graph import Node

            nodes.append(Node(address, state.kind, None))
    objects = []
    for node in sorted(nodes, key=lambda n: n.address):
        status, detail = observed_status(node.address in recorded, observed.get(node.address))
        change = actions.get(node.address)
        objects.append(
            {
                "address": node.address,
                "component": node.component,
                "name": node.name,
                "kind": node.kind,
                "status": status,
                "detail": detail,
                "action": change.action.value if change is not None else None,
                "source": locate(compilation, root, node.address, editor),
            }
        )
    components = sorted({node.component for node in nodes})
    pairs = [(e.source.partition(".")[0], e.target.partition(".")[0]) for e in edges]
    placed = columns(components, pairs)
    return {
        "target": runtime.target.name,
        "cloud": runtime.target.cloud,
        "serial": runtime.store.state.serial,
        "components": [{"name": name, "column": placed[name]} for name in components],
        "objects": objects,
        "edges": [
            {"from": e.source, "to": e.target, "label": e.label, "connection": e.connection}
            for e in edges
            if e.source in present | set(recorded) and e.target in present | set(recorded)
        ],
        "plan_error": plan_error,
    }


def details(
    runtime: Runtime, compilation: Compilation, root: Path, address: str, editor: str = EDITORS[DEFAULT]
) -> dict[str, Any] | None:
    """One object: its configuration as written (secrets by name, references symbolic),
    its recorded outputs, identity and revision, and the `.sct` line that declares it."""
    from scoot_model.objects import placed_outputs

    wanted = runtime.desired.get(address)
    state = runtime.store.state.objects.get(address)
    if wanted is not None:
        kind = wanted.kind
    elif state is not None:
        kind = state.kind
    else:
        return None
    return {
        "address": address,
        "kind": kind,
        "config": dict(wanted.config) if wanted is not None else None,
        "recorded": None
        if state is None
        else {
            "config": state.config,
            "outputs": placed_outputs(state.kind, state.outputs, root),
            "identity": state.identity,
            "revision": state.revision,
        },
        "source": locate(compilation, root, address, editor),
        "replicas": (wanted.config.get("replicas", 1) if wanted is not None else 1) if kind == "compute" else 0,
    }


def changes(plan: Plan, compilation: Compilation, root: Path, editor: str = EDITORS[DEFAULT]) -> list[dict[str, Any]]:
    """The plan's changes (no-ops left out), each with the `.sct` line `scoot plan` shows
    beside it (a deletion has none: nothing declares it any more)."""
    from scoot_runtime.plan import Action

    locator = Locator(compilation.source_map, compilation.sources)
    return [
        {
            **change.to_dict(),
            "source": None if change.action is Action.DELETE else placed(locator.change(change), root, editor),
        }
        for change in plan.changes
        if change.action is not Action.NOOP
    ]
