"""What the CLI prints of plans, applies, state and the architecture's graph.

Everything here turns runtime data into text and nothing else: no driver calls,
no files. Colour is added with ANSI codes through `click.style` when the caller
asks for it (a terminal); the text without colour is the same, character for
character. Secret values never reach this module: configurations are shown as
written, where a secret is `secret("NAME")`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import click

from scoot_model import template
from scoot_runtime.plan import Action, Change, Plan
from scoot_runtime.reconciler import ApplyResult, Event
from scoot_runtime.state import ObjectState

SYMBOLS: dict[Action, str] = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.NOOP: " ",
}
COLOURS: dict[Action, str] = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "red",
    Action.DELETE: "red",
    Action.NOOP: "white",
}
DRIFT_SYMBOL = "!"
DRIFT_COLOUR = "magenta"
MAX_VALUE = 60


# -- Locations in the .sct --------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """A place in a source file, 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}


class _Span(Protocol):
    @property
    def file(self) -> str: ...
    @property
    def start(self) -> int: ...


class _SourceMap(Protocol):
    def find(self, path: tuple[str, ...]) -> Any: ...  # the path's span, or its nearest ancestor's

    def get(self, path: tuple[str, ...]) -> Any: ...  # the path's span only


class _Source(Protocol):
    def position(self, offset: int) -> Any: ...


class Locator:
    """The `.sct` line behind an object or one of its keys, from the compiler's source map."""

    def __init__(self, source_map: _SourceMap | None, sources: Mapping[str, _Source]) -> None:
        self.source_map = source_map
        self.sources = sources

    def _at(self, path: tuple[str, ...], exact: bool = False) -> Location | None:
        if self.source_map is None:
            return None
        span = self.source_map.get(path) if exact else self.source_map.find(path)
        if span is None or span.file not in self.sources:
            return None
        position = self.sources[span.file].position(span.start)
        return Location(span.file, position.line, position.column)

    def object(self, address: str) -> Location | None:
        component, _, name = address.partition(".")
        return self._at(("components", component, "objects", name))

    def key(self, address: str, key: str, *entry: str) -> Location | None:
        """The key's attribute (or its map entry), else the object's block.

        A new source revision, or a source that cannot be fetched, points at the
        component's `source` (or `repository`) attribute.
        """
        component, _, name = address.partition(".")
        if key in ("revision", "source"):
            return (
                self._at(("components", component, "source"), exact=True)
                or self._at(("components", component, "repository"), exact=True)
                or self.object(address)
            )
        if key == "injected":
            return self.object(address)
        return self._at(("components", component, "objects", name, key, *entry))

    def change(self, change: Change) -> Location | None:
        """Where a change comes from: its first changed key's line, else the object's block."""
        for key in (*change.replace, *change.keys):
            found = self.key(change.address, key)
            if found is not None and found != self.object(change.address):
                return found
        return self.object(change.address)


# -- Values as written ------------------------------------------------------------------------


def show_value(value: Any, limit: int = MAX_VALUE) -> str:
    """A configuration value as `.sct` would write it: references bare, secrets by name only."""
    text = _value(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_value(item)}" for key, item in value.items()) + " }" if value else "{}"
    return json.dumps(value)


def _string(text: str) -> str:
    try:
        parts = template.split(text)
    except ValueError:
        return json.dumps(text, ensure_ascii=False)
    if len(parts) == 1 and parts[0].interpolation:
        return _interpolation(parts[0].text)
    out: list[str] = []
    for part in parts:
        if part.interpolation:
            out.append("${" + _interpolation(part.text) + "}")
        else:
            out.append(json.dumps(part.text, ensure_ascii=False)[1:-1])
    return '"' + "".join(out) + '"'


def _interpolation(source: str) -> str:
    name = template.secret_name(source)
    return f'secret("{name}")' if name is not None else source.strip()


def holds_secret(value: Any) -> bool:
    return next(template.secrets_in(value), None) is not None
    return False


def short_revision(revision: str | None) -> str:
    """`sha256:0123abcd…` → `0123abcd0123`; a git commit → its first 12 characters."""
    if not revision:
        return "-"
    return revision.rpartition(":")[2][:12]


_MISSING: Any = object()


@dataclass(frozen=True)
class KeyChange:
    """One difference inside a key: `symbol` +, - or ~; `path` the key, then a map entry if one."""

    symbol: str
    path: tuple[str, ...]
    text: str


def key_changes(key: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[KeyChange]:
    """How one key differs between the recorded configuration and the wanted one, as written.

    A map (such as `env`) is compared entry by entry. A key written the same way both
    times changed through what it refers to (another object's output, or a secret).
    """
    before = old.get(key, _MISSING) if old is not None else _MISSING
    after = new.get(key, _MISSING) if new is not None else _MISSING
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for name in sorted(set(before) | set(after)):
            a, b = before.get(name, _MISSING), after.get(name, _MISSING)
            if a != b:
                changes.append(_arrow((key, name), a, b))
        if changes:
            return changes
    if before is not _MISSING and after is not _MISSING and before == after:
        # Written the same: what it resolves to changed. Name the entries that could have.
        if isinstance(after, dict):
            entries = [(name, value) for name, value in after.items() if _symbolic(value)]
            if entries:
                certain = len(entries) == 1
                return [
                    KeyChange("~", (key, name), f"{key}.{name} = {show_value(value)} ({_why(value, certain)})")
                    for name, value in entries
                ]
        return [KeyChange("~", (key,), f"{key} = {show_value(after)} ({_why(after)})")]
    return [_arrow((key,), before, after)]


def _symbolic(value: Any) -> bool:
    """Whether a value as written holds a reference or a secret (`${...}`)."""
    return next(template.interpolations(value), None) is not None
    return False


def _why(value: Any, certain: bool = True) -> str:
    shown = show_value(value)
    if shown.startswith('secret("') and shown.endswith('")'):
        what = "the secret's value"
    elif holds_secret(value):
        what = "the value of a secret or reference it holds"
    else:
        what = "the value it refers to"
    return f"{what} {'changed' if certain else 'may have changed'}"


def _arrow(path: tuple[str, ...], before: Any, after: Any) -> KeyChange:
    name = ".".join(path)
    if before is _MISSING and after is _MISSING:
        return KeyChange("~", path, f"{name} changed")
    if before is _MISSING:
        return KeyChange("+", path, f"{name} = {show_value(after)}")
    if after is _MISSING:
        return KeyChange("-", path, f"{name} = {show_value(before)}")
    return KeyChange("~", path, f"{name}: {show_value(before)} → {show_value(after)}")


# -- The plan ---------------------------------------------------------------------------------


@dataclass
class Line:
    """A line of output: `text` on the left, a location in the right column."""

    text: str
    styled: str
    location: Location | None = None


@dataclass
class PlanView:
    """What the plan's rendering needs besides the plan."""

    locator: Locator
    wanted: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # configurations as written
    recorded: Mapping[str, ObjectState] = field(default_factory=dict)
    revisions: Mapping[str, str | None] = field(default_factory=dict)  # wanted source revisions
    delete_data: bool = False


def _symbol(change: Change) -> tuple[str, str]:
    """The symbol and its styled form."""
    if change.drift and not change.keys and change.action in (Action.CREATE, Action.UPDATE):
        return DRIFT_SYMBOL, click.style(DRIFT_SYMBOL, fg=DRIFT_COLOUR, bold=True)
    if change.action is Action.REPLACE:
        return "-/+", click.style("-", fg="red", bold=True) + "/" + click.style("+", fg="green", bold=True)
    symbol = SYMBOLS[change.action]
    return symbol, click.style(symbol, fg=COLOURS[change.action], bold=True)


def _what(change: Change, view: PlanView) -> str:
    if change.found and change.action is Action.UPDATE and not change.keys:
        # Found by name, made from a configuration the driver cannot tell (the details say so).
        found = "found running, though scoot.lock does not record it" if change.unrecorded else "found after an interrupted run"
        return f"{found}: it will be updated"
    if change.drift and change.action is Action.CREATE:
        return "is gone: it will be created again"
    if change.drift and not change.keys:
        return "has drifted: it will be repaired"
    if change.action is Action.CREATE:
        return "will be created"
    if change.action is Action.UPDATE:
        return "will be updated in place"
    if change.action is Action.REPLACE:
        if change.kind == "storage":
            return "must be replaced, its data deleted" if view.delete_data else "must be replaced; its data is kept"
        return "must be replaced"
    if change.action is Action.DELETE:
        if change.kind == "storage":
            return "will be deleted, with its data" if view.delete_data else "will be deleted; its data is kept"
        return "will be deleted"
    if change.unrecorded:
        return "found running, though scoot.lock does not record it: it will be recorded"
    return "found after an interrupted run: it will be recorded" if change.found else "unchanged"


def plan_lines(plan: Plan, view: PlanView) -> list[Line]:
    """Per changed object: a line with its symbol, address, kind and source line; then its details."""
    lines: list[Line] = []
    for change in plan.changes:
        if change.action is Action.NOOP and not change.found:
            continue
        symbol, styled_symbol = _symbol(change)
        head = f"{change.address} ({change.kind}) {_what(change, view)}"
        colour = DRIFT_COLOUR if symbol == DRIFT_SYMBOL else COLOURS[change.action]
        styled_head = click.style(change.address, bold=True) + f" ({change.kind}) " + click.style(
            _what(change, view), fg=colour
        )
        location = view.locator.object(change.address) if change.action is not Action.DELETE else None
        indent = " " * (3 - len(symbol))
        lines.append(Line(f"{indent}{symbol} {head}", f"{indent}{styled_symbol} {styled_head}", location))
        for text, styled, where in _details(change, view):
            lines.append(Line(f"      {text}", f"      {styled}", where))
    return lines


def _details(change: Change, view: PlanView) -> list[tuple[str, str, Location | None]]:
    """(plain, styled, location) of each detail line of a change."""
    out: list[tuple[str, str, Location | None]] = []

    def add(symbol: str, text: str, where: Location | None) -> None:
        colour = {"+": "green", "-": "red", "~": "yellow", "!": DRIFT_COLOUR}.get(symbol)
        styled = click.style(symbol, fg=colour) if colour else symbol
        out.append((f"{symbol} {text}", f"{styled} {text}", where))

    if change.unrecorded:
        add("!", "found by its name, though scoot.lock does not record it (adopted)", None)
    elif change.found:
        add("!", "found after an interrupted run (adopted by its name)", None)
    for drift in change.drift:
        if not (change.action is Action.CREATE and drift == "not found"):  # the head line says it
            add("!", f"drift: {drift}", None)
    record = view.recorded.get(change.address)
    wanted = view.wanted.get(change.address)
    for key in change.keys:
        where = view.locator.key(change.address, key)
        suffix = " (forces replacement)" if key in change.replace else ""
        if key in change.unknown:
            add("~", f"{key}: (known after apply){suffix}", where)
            continue
        if key == "revision":
            before = short_revision(record.revision if record else None)
            after = short_revision(view.revisions.get(change.address))
            add("~", f"source: new revision {before} → {after}{suffix}", where)
            continue
        old = record.config if record is not None else None
        for index, item in enumerate(key_changes(key, old, wanted)):
            inner = view.locator.key(change.address, *item.path) if len(item.path) > 1 else None
            add(item.symbol, item.text + (suffix if index == 0 else ""), inner or where)
    return out


def format_lines(lines: Sequence[Line], color: bool) -> list[str]:
    """Lines with their locations aligned in a right-hand column."""
    width = min(max((len(line.text) for line in lines if line.location), default=0), 72)
    out = []
    for line in lines:
        text = line.styled if color else line.text
        if line.location is None:
            out.append(text)
            continue
        gap = " " * max(2, width - len(line.text) + 2)
        where = str(line.location)
        out.append(text + gap + (click.style(where, dim=True) if color else where))
    return out


def plan_summary(plan: Plan) -> str:
    if not plan.has_changes:
        return "No changes. The infrastructure matches the architecture."
    counts = plan.counts()
    text = (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['delete']} to delete."
    )
    interrupted = len(plan.adopted) - len(plan.unrecorded)
    if interrupted:
        text += f" {interrupted} found after an interrupted run to record."
    if plan.unrecorded:
        text += (
            f" {len(plan.unrecorded)} found running that scoot.lock does not record, to record "
            f"({', '.join(sorted(plan.unrecorded))})."
        )
    if plan.forget:
        text += f" {len(plan.forget)} gone and no longer wanted to forget ({', '.join(plan.forget)})."
    if plan.settle:
        text += f" {len(plan.settle)} interrupted operation(s) to close ({', '.join(plan.settle)})."
    return text


def render_plan(plan: Plan, view: PlanView, color: bool) -> str:
    lines: list[str] = []
    shown = plan_lines(plan, view)
    if shown:
        if plan.destroy:
            lines.append(f"Scoot will destroy these objects of target `{plan.target}`:")
        else:
            lines.append(f"Scoot will make these changes on target `{plan.target}`:")
        lines.append("")
        lines.extend(format_lines(shown, color))
        lines.append("")
    lines.append(plan_summary(plan))
    return "\n".join(lines)


def plan_json(plan: Plan, view: PlanView) -> dict[str, Any]:
    """`plan.to_dict()`, with the `.sct` location of each change and of each changed key."""
    data = plan.to_dict()
    data["destroy"] = plan.destroy
    data["has_changes"] = plan.has_changes
    for entry, change in zip(data["changes"], plan.changes, strict=True):
        where = view.locator.change(change) if change.action is not Action.DELETE else None
        entry["location"] = where.to_dict() if where else None
        keys: dict[str, Any] = {}
        for key in change.keys:
            found = view.locator.key(change.address, key)
            keys[key] = found.to_dict() if found else None
        entry["key_locations"] = keys
        if "revision" in change.keys:  # whole revisions, for tools (the text shows them short)
            record = view.recorded.get(change.address)
            entry["revision"] = {
                "before": record.revision if record else None,
                "after": view.revisions.get(change.address),
            }
    return data


# -- Applying ---------------------------------------------------------------------------------

_EVENT_COLOURS = {"started": "cyan", "done": "green", "failed": "red", "skipped": "yellow"}


def event_line(event: Event, color: bool) -> str:
    """`app.web: create done (1.2s)`."""
    status = click.style(event.status, fg=_EVENT_COLOURS[event.status], bold=True) if color else event.status
    text = f"{event.address}: {event.action.value} {status}"
    if event.status in ("done", "failed"):
        text += f" ({event.seconds:.1f}s)"
    if event.message:
        text += f": {_continued(event.message, '    ')}"
    return text


def _continued(message: str, indent: str) -> str:
    """A message whose lines after the first are indented under it."""
    first, *rest = message.splitlines() or [""]
    return "\n".join([first, *(indent + line if line.strip() else "" for line in rest)])


def apply_summary(result: ApplyResult, seconds: float, destroy: bool) -> str:
    verb = "Destroy" if destroy else "Apply"
    state = "complete" if result.ok else "failed"
    return (
        f"{verb} {state}: {len(result.done)} done, {len(result.failed)} failed, "
        f"{len(result.skipped)} skipped in {seconds:.1f}s."
    )


def failure_lines(result: ApplyResult) -> list[str]:
    lines = []
    for address, message in sorted(result.failed.items()):
        lines.append(f"  {address}: {_continued(message, '      ')}")
    for address, message in sorted(result.skipped.items()):
        lines.append(f"  {address}: {_continued(message, '      ')}")
    return lines


def output_lines(objects: Mapping[str, ObjectState]) -> list[str]:
    """Where the application answers: each compute's URL, each storage's path or URL."""
    rows = []
    for address, state in sorted(objects.items()):
        if state.kind == "compute" and state.outputs.get("url"):
            rows.append((address, str(state.outputs["url"])))
        elif state.kind == "storage":
            value = state.outputs.get("path") or state.outputs.get("url")
            if value:
                rows.append((address, str(value)))
    width = max((len(a) for a, _ in rows), default=0)
    return [f"  {address.ljust(width)}  {value}" for address, value in rows]


# -- Status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRow:
    address: str
    kind: str
    output: str
    revision: str
    observed: str  # what the live read says


def status_rows(objects: Mapping[str, ObjectState], observed: Mapping[str, Any]) -> list[StatusRow]:
    """`observed[address]`: an Observed, None (the driver finds nothing), or an error message (str)."""
    rows = []
    for address, state in sorted(objects.items()):
        output = state.outputs.get("url") or state.outputs.get("path") or ""
        seen = observed.get(address)
        if isinstance(seen, str):
            live = f"unknown ({seen})"
        elif seen is None:
            live = "missing"
        elif getattr(seen, "drift", ()):
            live = "drifted: " + "; ".join(seen.drift)
        else:
            live = "ok"
        rows.append(StatusRow(address, state.kind, str(output), short_revision(state.revision), live))
    return rows


def status_table(rows: Sequence[StatusRow], color: bool) -> str:
    header = ("OBJECT", "KIND", "OBSERVED", "REVISION", "OUTPUT")
    cells = [(r.address, r.kind, r.observed, r.revision, r.output) for r in rows]
    return table(header, cells, color, 2, lambda seen: {"ok": "green", "missing": "red"}.get(seen, "yellow"))


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], color: bool, marked: int, colour: Callable[[str], str]
) -> str:
    """A plain-text table: columns as wide as their widest cell (but the last, which may be
    long), the header bold and column `marked` in the colour `colour` gives each cell."""
    lines = []
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for number, row in enumerate([header, *rows]):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)] + [row[-1]]
        if color and number == 0:
            cells = [click.style(cell, bold=True) for cell in cells]
        elif color:
            cells[marked] = click.style(cells[marked], fg=colour(row[marked]))
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# -- The graph --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    address: str
    kind: str
    status: str | None = None  # a plan action's value, "drift", or None (no state to compare with)

    @property
    def component(self) -> str:
        return self.address.partition(".")[0]

    @property
    def name(self) -> str:
        return self.address.partition(".")[2]


@dataclass(frozen=True)
class Edge:
    source: str  # the object that uses...
    target: str  # ...this one
    label: str = ""
    connection: bool = False
    status: str | None = None


STATUS_FILL = {
    "create": "#d3f5d3",
    "update": "#fff1b8",
    "replace": "#ffd0c2",
    "delete": "#f8c6c6",
    "drift": "#ead4f7",
    "no-op": "#ffffff",
}
STATUS_STROKE = {
    "create": "#2e8b2e",
    "update": "#b8860b",
    "replace": "#d2691e",
    "delete": "#c0392b",
    "drift": "#8e44ad",
    "no-op": "#555555",
}
_SHAPES_DOT = {"compute": "box", "storage": "cylinder"}


def graph_model(
    desired: Mapping[str, Any],
    plan: Plan | None,
    connection_kind: str = "connection",
) -> tuple[list[Node], list[Edge]]:
    """Nodes and edges from the desired objects (`.kind`, `.config`, `.depends_on`), coloured by `plan`.

    A connection is drawn as a distinct edge from its `from` to its `to`; a reference
    another object makes is an edge labelled with the outputs it uses. Objects the plan
    deletes are drawn too.
    """

    statuses: dict[str, str] = {}
    kinds: dict[str, str] = {}
    if plan is not None:
        for change in plan.changes:
            statuses[change.address] = "drift" if change.drift and not change.keys else change.action.value
            kinds[change.address] = change.kind
    nodes: list[Node] = []
    edges: list[Edge] = []
    connected: set[tuple[str, str]] = set()
    for address, obj in sorted(desired.items()):
        if obj.kind != connection_kind:
            nodes.append(Node(address, obj.kind, statuses.get(address) if plan else None))
            continue
        ends = [_object_of(obj.config.get("from")), _object_of(obj.config.get("to"))]
        source, target = ends
        if source and target:
            connected.add((source, target))
            edges.append(Edge(source, target, address.partition(".")[2], True, statuses.get(address) if plan else None))
    for address, obj in sorted(desired.items()):
        if obj.kind == connection_kind:
            continue
        outputs: dict[str, set[str]] = {}
        for reference in template.references_in(obj.config):
            parts = reference.split(".")
            if len(parts) >= 2:
                target = ".".join(parts[:2])
                outputs.setdefault(target, set()).update(parts[2:3])
        for target in sorted(set(obj.depends_on)):
            if target not in desired or (address, target) in connected:
                continue
            if desired[target].kind == connection_kind:
                continue
            edges.append(Edge(address, target, ", ".join(sorted(outputs.get(target, set())))))
    if plan is not None:
        for change in plan.changes:
            if change.address not in desired and change.kind != connection_kind:
                nodes.append(Node(change.address, kinds[change.address], "delete"))
    return nodes, edges


def _object_of(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if template.is_one_interpolation(text):
        inner = template.split(text)[0].text.strip()
        if inner.count(".") == 1:
            return inner
    return None


def _dot_id(text: str) -> str:
    return json.dumps(text)


def to_dot(application: str, nodes: Sequence[Node], edges: Sequence[Edge]) -> str:
    lines = [
        f"digraph {_dot_id(application)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for component, members in _by_component(nodes):
        lines.append(f"  subgraph {_dot_id('cluster_' + component)} {{")
        lines.append(f"    label={_dot_id(component)};")
        lines.append('    style="rounded";')
        for node in members:
            attributes = [f"label={_dot_id(node.name + chr(10) + node.kind)}"]
            shape = _SHAPES_DOT.get(node.kind)
            if shape:
                attributes.append(f"shape={shape}")
            if node.status:
                attributes.append(f"fillcolor={_dot_id(STATUS_FILL[node.status])}")
                attributes.append(f"color={_dot_id(STATUS_STROKE[node.status])}")
                attributes.append(f"tooltip={_dot_id(node.status)}")
            lines.append(f"    {_dot_id(node.address)} [{', '.join(attributes)}];")
        lines.append("  }")
    for edge in edges:
        attributes = []
        if edge.label:
            attributes.append(f"label={_dot_id(edge.label)}")
        if edge.connection:
            attributes.append('style=dashed, arrowhead=open, penwidth=1.5')
        if edge.status:
            attributes.append(f"color={_dot_id(STATUS_STROKE[edge.status])}")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {_dot_id(edge.source)} -> {_dot_id(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(nodes: Sequence[Node], edges: Sequence[Edge]) -> str:
    ids = {node.address: f"n{index}" for index, node in enumerate(nodes)}
    lines = ["flowchart LR"]
    for number, (component, members) in enumerate(_by_component(nodes)):
        lines.append(f'  subgraph c{number}["{component}"]')
        for node in members:
            label = f"{node.name}<br/><small>{node.kind}</small>"
            if node.kind == "storage":
                lines.append(f'    {ids[node.address]}[("{label}")]')
            else:
                lines.append(f'    {ids[node.address]}["{label}"]')
        lines.append("  end")
    link_styles: list[str] = []
    for index, edge in enumerate(e for e in edges if e.source in ids and e.target in ids):
        arrow = "-.->" if edge.connection else "-->"
        label = f"|{edge.label}|" if edge.label else ""
        lines.append(f"  {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
        if edge.status:
            link_styles.append(f"  linkStyle {index} stroke:{STATUS_STROKE[edge.status]}")
    lines.extend(link_styles)
    used = sorted({node.status for node in nodes if node.status})
    for status in used:
        name = _mermaid_class(status)
        lines.append(f"  classDef {name} fill:{STATUS_FILL[status]},stroke:{STATUS_STROKE[status]}")
    for status in used:
        classed = [ids[node.address] for node in nodes if node.status == status]
        lines.append(f"  class {','.join(classed)} {_mermaid_class(status)}")
    return "\n".join(lines) + "\n"


def _mermaid_class(status: str) -> str:
    return "noop" if status == "no-op" else status


def _by_component(nodes: Iterable[Node]) -> list[tuple[str, list[Node]]]:
    groups: dict[str, list[Node]] = {}
    for node in nodes:
        groups.setdefault(node.component, []).append(node)
    return sorted(groups.items())
