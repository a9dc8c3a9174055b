"""`moved` blocks at run time: which recorded object becomes which wanted one.

    matched = match_moves([("api.orders", "api.store"), ("billing", "payments")], wanted, state)

A move names an object (`api.orders`) or a whole component (`billing`: each of its
objects). A recorded address is followed through the moves, chains included (`a` to
`b`, then `b` to `c`), an object's own move before its component's, to where it is now;
when the architecture wants it there and scoot.lock records nothing there, it is
moved: its identity and data are kept under the new address. The compiler has checked
the moves against each other (`scoot_model.objects.move_problems`); what is checked here
is what only scoot.lock can say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from scoot_runtime.state import TargetState

Move = tuple[str, str]  # (from, to), as the `moved` block names them


class Wanted(Protocol):
    kind: str


@dataclass
class Matched:
    """`moves`: new address → the recorded address it takes over. `warnings`: the moves
    that match nothing recorded (applied already, or never applied: they may stay).
    `problems`: (address, message) of the moves that cannot be made."""

    moves: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def destination(address: str, moved: Sequence[Move]) -> tuple[str, set[int]]:
    """Where `address` is after the moves, and which of them (by index) took it there."""
    objects = {source: (index, to) for index, (source, to) in enumerate(moved) if "." in source}
    components = {source: (index, to) for index, (source, to) in enumerate(moved) if "." not in source}
    used: set[int] = set()
    while True:
        component, _, name = address.partition(".")
        if address in objects:
            index, address = objects[address]
        elif component in components:
            index, to = components[component]
            address = f"{to}.{name}"
        else:
            return address, used
        if index in used:  # a circle (the compiler refuses them): stop where it closes
            return address, used
        used.add(index)


def match_moves(moved: Sequence[Move], wanted: Mapping[str, Wanted], state: TargetState) -> Matched:
    matched = Matched()
    if not moved:
        return matched  # nothing to look for (most plans: 10,000 records looked at for nothing)
    used: set[int] = set()
    for source in sorted(state.objects):
        address, steps = destination(source, moved)
        used |= steps
        if address == source or address not in wanted:
            continue  # not moved, or moved where nothing is wanted: deleted as any other
        recorded_kind, wanted_kind = state.objects[source].kind, wanted[address].kind
        if address in state.objects:
            matched.problems.append(
                (
                    address,
                    f"moved from `{source}`, but scoot.lock records both `{source}` and `{address}`: "
                    f"to keep `{address}` as it is, remove the `moved` block (`{source}` is then deleted, "
                    f"its data kept); to keep `{source}`'s under the new name, first take `{address}` "
                    "out of the architecture and apply, then put it back with the `moved` block",
                )
            )
        elif recorded_kind != wanted_kind:
            matched.problems.append(
                (
                    address,
                    f"moved from `{source}`, which scoot.lock records as a {recorded_kind}, but `{address}` "
                    f"is a {wanted_kind}: a move keeps the kind; remove the `moved` block to delete "
                    f"`{source}` and create `{address}`",
                )
            )
        else:
            matched.moves[address] = source
    for index, (source, to) in enumerate(moved):
        if index not in used:
            matched.warnings.append(
                f"moved from `{source}` to `{to}`: scoot.lock records nothing at `{source}` "
                "(moved already, or never applied); the `moved` block may stay, or be removed"
            )
    return matched
