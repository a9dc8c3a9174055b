"""The plan: what an apply would do to each object, and why.

Desired state (the architecture) is compared with the recorded state
(`scoot.lock`), refreshed against what the driver observes: an object the
driver no longer finds, or finds different (drift), is repaired; an interrupted
run's pending operations are looked up by their deterministic names, and what is
found is adopted, and compared with what is wanted now. What the driver lists of
the target that the state does not record is adopted if the architecture wants
it (a lost `scoot.lock`), and otherwise left alone, listed (another branch's or
clone's: what scoot.lock does not record is not managed here). A recorded object
that a `moved` block renames (`scoot_runtime.moves`) is compared, under its new
address, with what is wanted there: it is moved (and updated if it changed), not
deleted and created. Every problem a
driver can see in a configuration is reported here, before anything is touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import orjson

from scoot_model import template
from scoot_runtime.desired import DesiredObject, source_problem
from scoot_runtime.drivers.base import Address, CloudDriver, ObjectSpec, Observed, Recorded
from scoot_runtime.errors import ScootError
from scoot_runtime.graph import CycleError, topological
from scoot_runtime.moves import Move, match_moves
from scoot_runtime.resolve import UNKNOWN, Known, Resolved, ResolveError, Resolver
from scoot_runtime.secrets import Secrets
from scoot_runtime.state import ObjectState, TargetState

# The drift of something found by name that the driver cannot tell the configuration of.
UNTOLD = "what it was made from cannot be told: it is updated to what is wanted"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    MOVE = "move"  # moved to a new address, and nothing else changes
    NOOP = "no-op"


# Slots: no dict a change (1.5 MiB of a plan of 10,000).
@dataclass(frozen=True, slots=True)
class Change:
    address: str
    kind: str
    action: Action
    keys: tuple[str, ...] = ()  # the keys that changed
    replace: tuple[str, ...] = ()  # those that force a replacement
    unknown: tuple[str, ...] = ()  # keys known only after apply
    drift: tuple[str, ...] = ()  # what the driver observed differing from the record
    found: bool = False  # adopted: made by an interrupted run, found by its name
    unrecorded: bool = False  # ... and not even an interrupted run recorded it
    moved_from: str | None = None  # recorded at this address, moved here first (`moved`)
    new_first: bool = False  # a replacement the driver makes create before destroy (`replaceable`)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "action": self.action.value,
            "keys": list(self.keys),
            "replace": list(self.replace),
            "unknown": list(self.unknown),
            "drift": list(self.drift),
            "found": self.found,
            "unrecorded": self.unrecorded,
            "moved_from": self.moved_from,
            "new_first": self.new_first,
        }


@dataclass(frozen=True)
class PlanProblem:
    address: str
    message: str
    key: str | None = None


class PlanError(ScootError):
    """The plan cannot be made: nothing was touched."""

    def __init__(self, problems: list[PlanProblem]) -> None:
        super().__init__("; ".join(f"{p.address}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(repr=False)
class Plan:
    target: str
    changes: list[Change]
    destroy: bool = False
    # What the refresh observed and adopted, for the reconciler to record.
    observed: dict[str, Observed | None] = field(default_factory=dict)
    adopted: dict[str, Observed] = field(default_factory=dict)
    # Of those, the ones no record or pending operation names, by address: their kinds.
    unrecorded: dict[str, str] = field(default_factory=dict)
    # Found, neither recorded nor wanted, by address: their kinds. Never touched.
    left_alone: dict[str, str] = field(default_factory=dict)
    # The `moved` blocks that match nothing recorded: said, not refused (they may stay).
    warnings: list[str] = field(default_factory=list)
    # The kinds the driver replaces create before destroy (`CloudDriver.replaceable`).
    replaceable: frozenset[str] = frozenset()

    # Records to drop: objects no longer wanted that the driver no longer finds.
    forget: list[str] = field(default_factory=list)
    # An interrupted run's operations to close: what they left is recorded or adopted.
    settle: list[str] = field(default_factory=list)
    # A partial plan (`scoot_runtime.partial`): the objects `--only` named, and the
    # addresses of the changes it left out; the objects `--replace` named.
    only: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # Short: asyncio.run() formats the repr of its task's result (a plan of 10,000
        # changes took 0.2 s) when it puts back the SIGINT handler.
        counts = {action: n for action, n in self.counts().items() if n}
        return f"Plan(target={self.target!r}, destroy={self.destroy}, changes={counts})"

    @property
    def has_changes(self) -> bool:
        changes = any(c.action is not Action.NOOP for c in self.changes)
        return changes or bool(self.adopted or self.forget or self.settle)

    def counts(self) -> dict[str, int]:
        """Changes by action; "move" counts every move, those updated or replaced too."""
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        counts[Action.MOVE.value] = sum(1 for change in self.changes if change.moved_from)
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "changes": [c.to_dict() for c in self.changes],
            "summary": self.counts(),
            "forget": list(self.forget),
            "settle": list(self.settle),
            "left_alone": [{"address": a, "kind": k} for a, k in sorted(self.left_alone.items())],
            "only": list(self.only),
            "left_out": list(self.left_out),
            "replace": list(self.replace),
            "warnings": list(self.warnings),
        }


def recorded(state: ObjectState) -> Recorded:
    return Recorded(state.kind, state.config, state.digests, state.identity, state.outputs, state.revision)


def spec_of(desired: DesiredObject, config: Mapping[str, Any], digests: Mapping[str, str] | None = None) -> ObjectSpec:
    return ObjectSpec(desired.address, desired.kind, config, digests or {}, desired.source, desired.revision)


def resolve(resolver: Resolver, desired: DesiredObject) -> Resolved:
    return resolver.resolve(desired.config, desired.connected, desired.connection)


def recorded_spec(address: str, state: ObjectState, parsed: Address | None = None) -> ObjectSpec:
    """`parsed`: the `Address` of `address`, if one is at hand (a refresh of 10,000 made each again)."""
    at = parsed if parsed is not None else Address.parse(address)
    return ObjectSpec(at, state.kind, state.config, state.digests, None, state.revision)


def secret_names(config: Any) -> set[str]:
    if isinstance(config, dict) and not any(map(template.may_hold_template, config.values())):
        return set()  # most objects: asked three times an object a plan, at 10,000 objects 0.1 s
    return set(template.secrets_in(config))


def secret_names_in(configs: Iterable[Any]) -> set[str]:
    """The secrets the configurations name, all together. A template is written with `$`:
    configurations that hold none anywhere (most, at 10,000 objects) are one look."""
    configs = list(configs)
    try:
        plain = b"$" not in orjson.dumps(configs)
    except TypeError:  # not JSON: asked one by one
        plain = False
    return set() if plain else set().union(*map(secret_names, configs))


async def make_plan(
    target: str,
    desired: dict[str, DesiredObject],
    state: TargetState,
    driver: CloudDriver,
    secrets: Secrets,
    *,
    destroy: bool = False,
    refresh: bool = True,
    parallelism: int = 64,
    moved: Sequence[Move] = (),
) -> Plan:
    wanted = {} if destroy else desired
    _check(wanted, driver, secrets)
    plan = Plan(target, [], destroy, replaceable=driver.replaceable)
    matched = match_moves(moved if not destroy else (), wanted, state)
    for address, source in matched.moves.items():
        kind = state.objects[source].kind
        if kind not in driver.movable:
            matched.problems.append(
                (
                    address,
                    f"moved from `{source}`: the {driver.name} driver cannot move a {kind}; remove the "
                    f"`moved` block to delete `{source}` and create `{address}`",
                )
            )
    if matched.problems:
        raise PlanError([PlanProblem(address, message) for address, message in matched.problems])
    plan.warnings = matched.warnings
    if refresh:
        await _refresh(plan, wanted, state, driver, parallelism)
    moves = _moves(plan, matched.moves, refresh)

    known: dict[str, Known | None] = {}
    resolver = Resolver(known, secrets, driver.context.root.resolve())
    try:
        order = topological({a: d.depends_on for a, d in wanted.items()})
    except CycleError as error:
        raise PlanError([PlanProblem(error.cycle[0], f"{error}: remove one of these references")]) from None
    for address in order:
        change, outputs_known = _decide(address, moves.get(address), wanted[address], state, plan, driver, resolver)
        plan.changes.append(change)
        known[address] = outputs_known

    # No longer wanted: what the state records, and what an interrupted run made.
    kinds = {a: s.kind for a, s in state.objects.items()}
    kinds.update({a: adopted_kind(plan, state, a) for a in plan.adopted if a not in state.objects})
    gone = {a for a in kinds if a not in wanted and a not in moves.values()}
    depends_on = {a: set(state.objects[a].depends_on) & gone if a in state.objects else set() for a in gone}
    for address in reversed(topological(depends_on)):
        if refresh and address in plan.observed and plan.observed[address] is None:
            plan.forget.append(address)  # already gone: the apply only forgets it
            continue
        change = Change(address, kinds[address], Action.DELETE)
        plan.changes.append(_found(change, plan))
    if refresh:  # only what was looked for can be settled
        plan.settle = sorted(a for a in state.pending if a not in plan.adopted)
    return plan


def _moves(plan: Plan, moves: dict[str, str], refresh: bool) -> dict[str, str]:
    """The moves to make: of those matched, the ones whose object is still there (one
    found gone is forgotten, and made again under its new address). What an interrupted
    move left under the new address is not adopted: the move is made again."""
    if refresh:
        moves = {a: source for a, source in moves.items() if plan.observed.get(source) is not None}
    for address in moves:
        plan.adopted.pop(address, None)
        plan.unrecorded.pop(address, None)
    return moves


def adopted_kind(plan: Plan, state: TargetState, address: str) -> str:
    """The kind of something adopted that the state does not record."""
    return plan.unrecorded[address] if address in plan.unrecorded else state.pending[address].kind


def _found(change: Change, plan: Plan) -> Change:
    """`change`, marked as being about something found by its name, if it is."""
    if change.address not in plan.adopted:
        return change
    return replace(change, found=True, unrecorded=change.address in plan.unrecorded)


def _check(wanted: dict[str, DesiredObject], driver: CloudDriver, secrets: Secrets) -> None:
    problems: list[PlanProblem] = []
    for address, desired in wanted.items():
        problem = source_problem(desired)
        if problem:
            problems.append(PlanProblem(address, problem, "source"))
        named = [target.split(".")[1] for target in desired.connected]
        for name in sorted({n for n in named if named.count(n) > 1}):
            targets = " and ".join(t for t in desired.connected if t.endswith(f".{name}"))
            problems.append(
                PlanProblem(
                    address,
                    f"connections to {targets} would both set `{name.upper()}_…`: set those names yourself in `env`",
                    "env",
                )
            )
        for failure in driver.check(spec_of(desired, desired.config)):
            problems.append(PlanProblem(address, failure.message, failure.key))
    names = secret_names_in(desired.config for desired in wanted.values())
    for name in secrets.missing(names):
        where = f" or add it to {secrets.file}" if secrets.file else ""
        problems.append(PlanProblem("secrets", f"secret `{name}` is not set: export {name}{where}"))
    if problems:
        raise PlanError(problems)


async def _refresh(
    plan: Plan, wanted: dict[str, DesiredObject], state: TargetState, driver: CloudDriver, parallelism: int
) -> None:
    problems: list[PlanProblem] = []
    # One batch of reads (`CloudDriver.read_many`): a driver that can lists many objects per call.
    reads: dict[str, tuple[ObjectSpec, Recorded | None]] = {
        a: (recorded_spec(a, s, wanted[a].address if a in wanted else None), recorded(s)) for a, s in state.objects.items()
    }
    # An interrupted run's operation: look for what it made by its deterministic name.
    for address, pending in state.pending.items():
        if address not in state.objects and pending.operation in ("create", "replace", "move"):
            if address in wanted:
                spec = spec_of(wanted[address], wanted[address].config)
            else:
                spec = ObjectSpec(Address.parse(address), pending.kind, {})
            reads[address] = (spec, None)
    # What the driver finds of this target that nothing records. Wanted, it is adopted (a lost
    # scoot.lock), not made twice; unwanted, it is left alone: another branch or clone may
    # have applied it, and its scoot.lock, not this one, manages it.
    try:
        inventory = await driver.inventory()
    except Exception as error:
        problems.append(PlanProblem("(target)", f"the {driver.name} driver could not list what runs: {error}"))
        inventory = {}
    for address, kind in sorted(inventory.items()):
        if address in state.objects or address in state.pending:
            continue
        if address not in wanted:
            plan.left_alone[address] = kind
            continue
        plan.unrecorded[address] = kind
        reads[address] = (spec_of(wanted[address], wanted[address].config), None)
    try:
        results = await driver.read_many(list(reads.values()), min(parallelism, driver.parallelism or parallelism))
    except Exception as error:  # the driver could not look: no plan can be made on a guess
        results = dict.fromkeys((spec.address for spec, _ in reads.values()), error)
    for address, (spec, _) in reads.items():
        result = results.get(spec.address, ScootError(f"the {driver.name} driver returned nothing for it"))
        if isinstance(result, Exception):
            problems.append(PlanProblem(address, f"the {driver.name} driver could not read it: {result}"))
        else:
            plan.observed[address] = result
    if problems:
        raise PlanError(sorted(problems, key=lambda p: p.address))
    for address in [*state.pending, *plan.unrecorded]:
        found = plan.observed.get(address)
        if address not in state.objects and found is not None:
            plan.adopted[address] = found
    for address in [a for a in plan.unrecorded if a not in plan.adopted]:
        del plan.unrecorded[address]  # gone meanwhile


def _decide(
    address: str,
    source: str | None,
    desired: DesiredObject,
    state: TargetState,
    plan: Plan,
    driver: CloudDriver,
    resolver: Resolver,
) -> tuple[Change, Known | None]:
    """The change for one object, and what its dependants may assume of its outputs.

    `source`: the recorded address a `moved` block moves it from."""
    if source is not None:
        change, known = _decide(source, None, replace(desired, address=Address.parse(source)), state, plan, driver, resolver)
        action = Action.MOVE if change.action is Action.NOOP else change.action
        if known is not None:
            # What a move changes (a local store's path) is known after it.
            moving = driver.moved_outputs(desired.kind, known.outputs)
            known = Known(known.kind, known.identity, {n: UNKNOWN if n in moving else v for n, v in known.outputs.items()})
        return replace(change, address=address, action=action, moved_from=source), known
    record = state.objects.get(address)
    adopted = plan.adopted.get(address)
    untold = record is None and adopted is not None and adopted.applied is None
    if record is None and adopted is not None:
        # Made by an interrupted run (or recorded in a scoot.lock since lost): compared with
        # what is wanted now by what the driver says it was made from.
        record = adopted_state(desired.kind, adopted, desired.config)
    if record is None:
        return Change(address, desired.kind, Action.CREATE), None
    if address in plan.observed and plan.observed[address] is None:
        return Change(address, desired.kind, Action.CREATE, drift=("not found",)), None
    try:
        resolved = resolve(resolver, desired)
    except ResolveError as error:
        raise PlanError([PlanProblem(address, str(error))]) from None
    spec = spec_of(desired, resolved.config, resolved.digests)
    diff = driver.diff(spec, recorded(record))
    unknown = tuple(sorted(resolved.unknown))
    keys = tuple(sorted(set(diff.changed) | set(unknown)))
    observed = plan.observed.get(address)
    drift = observed.drift if observed is not None else ()
    if untold:
        # The driver cannot tell what it was made from: it is updated to what is wanted,
        # and never replaced on a guess.
        keys, drift = unknown, (*drift, UNTOLD)
    replacing = tuple(k for k in diff.replace if k in keys)
    # What dependants may assume: the recorded outputs, but for those this change may move
    # (the driver says which an update moves; repairing drift may move any).
    moving = set(record.outputs) if drift else set(diff.outputs) if keys else set()
    outputs = Known(
        record.kind, record.identity, {name: UNKNOWN if name in moving else value for name, value in record.outputs.items()}
    )
    if replacing:
        new_first = desired.kind in driver.replaceable
        change = Change(address, desired.kind, Action.REPLACE, keys, replacing, unknown, drift, new_first=new_first)
        return _found(change, plan), None
    if keys or drift:
        return _found(Change(address, desired.kind, Action.UPDATE, keys, (), unknown, drift), plan), outputs
    return _found(Change(address, desired.kind, Action.NOOP), plan), outputs


def adopted_state(kind: str, found: Observed, config: dict[str, Any]) -> ObjectState:
    """The record of something found by its name: what it was made from, as far as the driver can tell."""
    applied = found.applied
    return ObjectState(
        kind=kind,
        config=config,
        digests=dict(applied.digests) if applied else {},
        identity=dict(found.identity),
        outputs=dict(found.outputs),
        revision=applied.revision if applied else None,
    )
