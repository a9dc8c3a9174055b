"""Acting on part of an architecture: `--only ADDRESS` and `--replace ADDRESS`.

    plan = narrow(plan, desired, state, only=("api.web",), replace=("api.worker",))

The full plan is made first (the refresh, every check), then narrowed: with `only`,
the changes of the objects named and of what they need (their dependencies, from the
architecture, or from scoot.lock for an object no longer wanted) are kept, and the rest
are left out and counted (`Plan.left_out`); in a plan of destruction, what is kept is
the objects named and what depends on them, since nothing may outlive what it needs.
`replace` turns an object's update, or its absence of change, into a replacement.
A move (`moved`) is kept with its object, named by its new address or its old one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace as changed

from scoot_model.wording import closest, did_you_mean
from scoot_runtime.desired import DesiredObject
from scoot_runtime.plan import Action, Plan, PlanError, PlanProblem
from scoot_runtime.state import TargetState

# The reason a replacement the user asked for gives, where a key's would be.
REQUESTED = "--replace"


def address_problems(
    option: str, addresses: Sequence[str], known: Iterable[str]
) -> list[PlanProblem]:
    """An unknown address given to `option`: one problem each, with the closest known one."""
    names = sorted(set(known))
    problems = []
    for address in addresses:
        if address not in names:
            hint = did_you_mean(closest(address, names))
            problems.append(
                PlanProblem(option, f"no object `{address}` in the architecture or in scoot.lock{hint}")
            )
    return problems


def narrow(
    plan: Plan,
    desired: Mapping[str, DesiredObject],
    state: TargetState,
    *,
    only: Sequence[str] = (),
    replace: Sequence[str] = (),
) -> Plan:
    """`plan` with only what `only` selects, and `replace`'s objects replaced; unknown
    addresses are a `PlanError` naming the closest known one."""
    known = {*desired, *state.objects, *plan.adopted} if not plan.destroy else {*state.objects, *plan.adopted}
    problems = address_problems("--only", only, known) + address_problems("--replace", replace, known)
    if plan.destroy and replace:
        problems.append(PlanProblem("--replace", "a plan of destruction replaces nothing: leave --replace out"))
    if problems:
        raise PlanError(problems)
    if only:
        # An object a `moved` block renames is named by either address: its change is the new one's.
        moved = {c.moved_from: c.address for c in plan.changes if c.moved_from is not None}
        _keep(plan, selected(plan, desired, state, [moved.get(a, a) for a in only]))
        plan.only = tuple(dict.fromkeys(only))
    if replace:
        _replace(plan, set(replace))
        plan.replace = tuple(dict.fromkeys(replace))
    return plan


def selected(plan: Plan, desired: Mapping[str, DesiredObject], state: TargetState, only: Sequence[str]) -> set[str]:
    """The addresses `only` selects: with what they need, or (destroying) what needs them."""
    needs: dict[str, set[str]] = {a: set(s.depends_on) for a, s in state.objects.items()}
    if not plan.destroy:
        needs.update({a: set(d.depends_on) for a, d in desired.items()})
        step = needs
    else:
        step = {}
        for address, dependencies in needs.items():
            for dependency in dependencies:
                step.setdefault(dependency, set()).add(address)
    chosen: set[str] = set()
    todo = list(only)
    while todo:
        address = todo.pop()
        if address not in chosen:
            chosen.add(address)
            todo.extend(step.get(address, ()))
    return chosen


def _keep(plan: Plan, chosen: set[str]) -> None:
    left_out = [c.address for c in plan.changes if c.address not in chosen and c.action is not Action.NOOP]
    left_out += [a for a in [*plan.forget, *plan.settle, *plan.adopted] if a not in chosen]
    plan.changes = [c for c in plan.changes if c.address in chosen]
    plan.forget = [a for a in plan.forget if a in chosen]
    plan.settle = [a for a in plan.settle if a in chosen]
    plan.adopted = {a: found for a, found in plan.adopted.items() if a in chosen}
    plan.unrecorded = {a: kind for a, kind in plan.unrecorded.items() if a in chosen}
    plan.left_out = tuple(sorted(set(left_out)))


def _replace(plan: Plan, addresses: set[str]) -> None:
    for index, change in enumerate(plan.changes):
        if change.address in addresses and change.action in (Action.NOOP, Action.UPDATE):
            plan.changes[index] = changed(
                change,
                action=Action.REPLACE,
                replace=(*change.replace, REQUESTED),
                new_first=change.kind in plan.replaceable,
            )
