"""The architecture as a graph: objects grouped by component, references and connections
as edges, each marked with what the plan would do. `scoot graph` writes it as DOT or
Mermaid; `scoot console` draws it in the browser."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scoot_model import template
from scoot_runtime.plan import Plan


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
