"""The dependency graph of objects: an order to apply them in, and cycles."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Set

from scoot_runtime.errors import ScootError


class CycleError(ScootError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__(
            "dependency cycle: " + " → ".join(cycle) + "; the objects depend on one another in a ring: break it"
        )
        self.cycle = cycle


def topological(depends_on: Mapping[str, Set[str]]) -> list[str]:
    """Every node after the nodes it depends on, by name among equals (a stable order).

    Dependencies on nodes outside the mapping are ignored.
    """
    waiting = {node: {d for d in deps if d in depends_on and d != node} for node, deps in depends_on.items()}
    dependents: dict[str, list[str]] = {node: [] for node in depends_on}
    for node, deps in waiting.items():
        for dependency in deps:
            dependents[dependency].append(node)
    ready = [node for node, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for dependent in dependents[node]:
            waiting[dependent].discard(node)
            if not waiting[dependent]:
                heapq.heappush(ready, dependent)
    if len(order) < len(waiting):
        raise CycleError(_a_cycle({n: d for n, d in waiting.items() if d}))
    return order


def _a_cycle(waiting: Mapping[str, Set[str]]) -> list[str]:
    """One cycle among nodes that all still wait on another."""
    node = min(waiting)
    seen: list[str] = []
    while node not in seen:
        seen.append(node)
        node = min(waiting[node])
    return [*seen[seen.index(node) :], node]


def reverse(depends_on: Mapping[str, Set[str]]) -> dict[str, list[str]]:
    """What depends on each node, by name: the edges the other way. Nodes outside the mapping are ignored."""
    dependants: dict[str, list[str]] = {}
    for node in sorted(depends_on):
        for dependency in depends_on[node]:
            if dependency in depends_on and dependency != node:
                dependants.setdefault(dependency, []).append(node)
    return dependants
