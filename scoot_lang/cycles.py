"""Cycles of references between objects: the runtime could not order them, so each is
reported once, where one of its references is written."""

from __future__ import annotations

from scoot_lang.diagnostics import Diagnostic, diagnostic
from scoot_lang.evaluation import Edges


def reference_cycles(edges: Edges) -> list[Diagnostic]:
    """A depth-first search with its own stack, not Python's: a chain of thousands of
    objects, each referring to the next, is a few kilobytes of text."""
    found: list[Diagnostic] = []
    state: dict[tuple[str, str], int] = {}  # 1: on the path being searched, 2: done
    for root in sorted(edges):
        if root in state:
            continue
        state[root] = 1
        path = [root]
        pending = [iter(edges.get(root, {}).items())]
        while pending:
            for target, where in pending[-1]:
                if state.get(target) == 1:
                    cycle = [*path[path.index(target) :], target]
                    shown = " → ".join(f"{c}.{o}" for c, o in cycle)
                    found.append(
                        diagnostic(
                            "SCT304",
                            f"reference cycle {shown}: none of them can be created first; remove one of these references",
                            where,
                        )
                    )
                elif target not in state:
                    state[target] = 1
                    path.append(target)
                    pending.append(iter(edges.get(target, {}).items()))
                    break
            else:
                state[path.pop()] = 2
                pending.pop()
    return found
