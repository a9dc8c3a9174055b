"""The architecture as a graph (`scoot_app.graph`) written as DOT or Mermaid, each node
and edge coloured by what the plan would do."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from scoot_app.graph import Edge, Node, graph_model

__all__ = ["Edge", "Node", "graph_model", "to_dot", "to_mermaid"]


STATUS_FILL = {
    "create": "#d3f5d3",
    "update": "#fff1b8",
    "replace": "#ffd0c2",
    "delete": "#f8c6c6",
    "drift": "#ead4f7",
    "move": "#d6e9f8",
    "no-op": "#ffffff",
}
STATUS_STROKE = {
    "create": "#2e8b2e",
    "update": "#b8860b",
    "replace": "#d2691e",
    "delete": "#c0392b",
    "drift": "#8e44ad",
    "move": "#2471a3",
    "no-op": "#555555",
}
_SHAPES_DOT = {"compute": "box", "storage": "cylinder"}


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
