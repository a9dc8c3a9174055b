"""Apply a plan: driver operations run concurrently, in dependency order.

Each object starts as soon as everything it depends on is done, under a bound
on the operations in flight (`parallelism`, and the driver's own limit). Its
configuration is resolved with the outputs its dependencies reported a moment
ago; if those changed what it would be given, it is updated even where the
plan expected nothing. Every operation is recorded before it starts and when it
ends. A failure stops only what depends on the failed object; independent
branches go on, and every failure is reported at the end. Deletions run first,
dependants before what they depend on. A replacement is made create before destroy
where the driver can (`replaceable`): the new object serves before the old one is
deleted, and a failure leaves the old one recorded, as after a failed update; where
it cannot, the old one is deleted, then the new one created. What depends on the
object waits for the new one and is updated with its outputs; where the driver
keeps the old one serving meanwhile (`replace_switching`), it is deleted only after
them (Terraform's create_before_destroy order), and left serving if one of them did
not apply, since that one still uses it. An object a `moved` block renames is moved
first (the driver's `move`, recorded in one journal line), then converged as any
other; what depends on it waits for both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from scoot_model.wording import join_names
from scoot_runtime.desired import DesiredObject
from scoot_runtime.drivers.base import (
    Address,
    CloudDriver,
    Created,
    PreviousVersionKept,
    PreviousVersionLost,
)
from scoot_runtime.graph import reverse
from scoot_runtime.plan import (
    Action,
    Change,
    Plan,
    adopted_kind,
    adopted_state,
    recorded,
    recorded_spec,
    resolve,
    spec_of,
)
from scoot_runtime.resolve import Known, Resolver
from scoot_runtime.secrets import Secrets
from scoot_runtime.state import ObjectState, Operation, StateStore

# "running": an operation still in flight, told every `progress_every` seconds.
Status = Literal["started", "running", "done", "failed", "skipped"]
# How often an operation still in flight is told (a "running" event).
PROGRESS_SECONDS = 10.0
_OPERATIONS: dict[Action, Operation] = {
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.REPLACE: "replace",
    Action.DELETE: "delete",
    Action.MOVE: "move",
}


@dataclass(frozen=True)
class Event:
    address: str
    action: Action
    status: Status
    seconds: float = 0.0
    # Why it failed or was skipped; for "running", what it waits for when that is
    # known (`GET /healthz`: a compute's health check; in a replacement's switch-over,
    # "`app.api` to be updated to its new outputs"), else "".
    message: str = ""
    kind: str = ""  # the object's kind, on "running" events


@dataclass
class ApplyResult:
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    # Failed updates whose previous version still runs, as scoot.lock records it
    # (the driver raised `PreviousVersionKept`).
    kept: list[str] = field(default_factory=list)
    # Planned updates left undone: what the plan could only show as "known after apply"
    # came out as recorded (a missing compute made again on the same port).
    unneeded: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    def answers(self, address: str) -> bool:
        """Whether what scoot.lock records for `address` is known to answer after this
        apply: not when it failed, unless its previous version was kept."""
        return address not in self.failed or address in self.kept


class Reconciler:
    def __init__(
        self,
        plan: Plan,
        desired: dict[str, DesiredObject],
        store: StateStore,
        driver: CloudDriver,
        secrets: Secrets,
        *,
        parallelism: int = 64,
        delete_data: bool = False,
        on_event: Callable[[Event], None] = lambda event: None,
        progress_every: float = PROGRESS_SECONDS,
    ) -> None:
        self.plan = plan
        self.desired = desired
        self.store = store
        self.state = store.state
        self.driver = driver
        self.secrets = secrets
        # Where local outputs (relative in scoot.lock) are: the application folder.
        self.root = driver.context.root.resolve()
        self.delete_data = delete_data
        self.on_event = on_event
        self.progress_every = progress_every
        self.limit = asyncio.Semaphore(max(1, min(parallelism, driver.parallelism or parallelism)))
        # The operations that may have resolved their configuration and wait for `limit`:
        # at 10,000 objects, all of them at once held 15 MiB, the peak of an apply.
        self.resolving = asyncio.Semaphore(_RESOLVING_PER_SLOT * max(1, min(parallelism, driver.parallelism or parallelism)))
        self.result = ApplyResult()
        self.finished = _Finished()
        # Whose outputs are known: at its end, or a replacement's switch-over before it.
        self.ready = _Finished()
        self.known: dict[str, Known | None] = {}
        self.dependants: dict[str, list[str]] = {}
        # What depends on each wanted object, in this run.
        self.uses: dict[str, list[str]] = {}

    async def run(self) -> ApplyResult:
        changes = {c.address: c for c in self.plan.changes}
        self.store.begin()
        try:
            self._adopt()
            deletes = [c for c in self.plan.changes if c.action is Action.DELETE]
            for change in deletes:
                self.finished.expect(change.address)
            for address, state in self.state.objects.items():
                for dependency in state.depends_on:
                    self.dependants.setdefault(dependency, []).append(address)
            await _each(self._delete(c) for c in deletes)
            self._forget_vanished()
            self.uses = reverse({a: d.depends_on for a, d in self.desired.items()})
            for address in self.desired:
                self.finished.expect(address)
                self.ready.expect(address)
                record = self.state.objects.get(address)
                self.known[address] = Known(record.kind, record.identity, record.outputs) if record else None
            await _each(self._apply(address, changes[address]) for address in self.desired)
        finally:
            self.store.commit()
        return self.result

    def _adopt(self) -> None:
        """Record what the plan found by name (an interrupted run's, or one scoot.lock lost),
        with what it was made from, before anything else."""
        for address, found in self.plan.adopted.items():
            desired = self.desired.get(address)
            kind = desired.kind if desired else adopted_kind(self.plan, self.state, address)
            self.store.result(address, adopted_state(kind, found, {}))

    def _forget_vanished(self) -> None:
        """Drop the records of what is gone and no longer wanted, and close an interrupted
        run's operations (what they left is recorded, adopted, or was nothing)."""
        for address in self.plan.forget:
            self.store.result(address, None)
        for address in self.plan.settle:
            self.store.result(address, self.state.objects.get(address))

    def _event(self, address: str, action: Action, status: Status, started: float, message: str = "") -> None:
        seconds = time.monotonic() - started if status != "started" else 0.0
        self.on_event(Event(address, action, status, seconds, self.secrets.redact(message)))

    async def _delete(self, change: Change) -> None:
        address = change.address
        for dependant in self.dependants.get(address, ()):
            if dependant in self.finished:
                await self.finished.wait(dependant)
                if dependant in self.result.failed or dependant in self.result.skipped:
                    # What still exists may still need it.
                    self.result.skipped[address] = f"not deleted: `{dependant}` was not deleted"
                    self._event(address, Action.DELETE, "skipped", time.monotonic(), self.result.skipped[address])
                    self.finished.set(address)
                    return
        record = self.state.objects[address]
        started = time.monotonic()
        try:
            async with self.limit:
                self._event(address, Action.DELETE, "started", started)
                await self.store.intend(address, "delete", record.kind)
                async with self._ticking(address, Action.DELETE, started, record.kind, _Waiting("")):
                    await self.driver.delete(recorded_spec(address, record), recorded(record), self.delete_data)
            self.store.result(address, None)
            self.result.done.append(address)
            self._event(address, Action.DELETE, "done", started)
        except Exception as error:
            self.store.result(address, record)
            self._fail(address, Action.DELETE, started, error)
        finally:
            self.finished.set(address)

    async def _apply(self, address: str, change: Change) -> None:
        desired = self.desired[address]
        try:
            for dependency in sorted(desired.depends_on):
                if dependency in self.finished:
                    await self.ready.wait(dependency)
                    if dependency in self.result.failed or dependency in self.result.skipped:
                        self.result.skipped[address] = f"not applied: `{dependency}` did not apply"
                        self._event(address, change.action, "skipped", time.monotonic(), self.result.skipped[address])
                        return
            if change.moved_from is not None and not await self._move(address, change.moved_from, desired):
                return
            async with self.resolving:
                await self._converge(address, desired, change)
            if change.moved_from is not None and address not in self.result.failed and address not in self.result.done:
                self.result.done.append(address)  # moved, and nothing else to do
        except Exception as error:  # a bug of ours or a driver's: this object fails, the run goes on
            self._fail(address, change.action, time.monotonic(), error)
        finally:
            self.finished.set(address)
            self.ready.set(address)

    async def _move(self, address: str, source: str, desired: DesiredObject) -> bool:
        """Move what `source` records to `address`; whether it moved."""
        record = self.state.objects[source]
        started = time.monotonic()
        try:
            async with self.limit:
                self._event(address, Action.MOVE, "started", started)
                await self.store.intend(address, "move", record.kind)
                async with self._ticking(address, Action.MOVE, started, record.kind, _Waiting("")):
                    spec = replace(recorded_spec(address, record), source=desired.source)
                    made = await self.driver.move(spec, recorded(record), Address.parse(source))
        except PreviousVersionLost as error:
            await self._lost_in_move(address, source, record.model_copy(update={"identity": error.identity}))
            self._fail(address, Action.MOVE, started, error)
            return False
        except Exception as error:
            # `source` stays recorded: the driver left it there. The intent stays pending,
            # so the next plan looks under the new address for what the move may have left.
            self._fail(address, Action.MOVE, started, error)
            return False
        update = {"identity": dict(made.identity), "outputs": dict(made.outputs)}
        self.store.moved(source, address, record.model_copy(update=update))
        self.known[address] = Known(record.kind, made.identity, made.outputs)
        self._event(address, Action.MOVE, "done", started)
        return True

    async def _lost_in_move(self, address: str, source: str, lost: ObjectState) -> None:
        """Record a move whose object could be put back neither under its new name nor its
        old one (`PreviousVersionLost`, whose identity `lost` holds): what still runs under
        the old name stays recorded there, to be moved at the next apply; if nothing does,
        the record goes to the new address, naming nothing that runs, and the next plan
        creates it there. Either way scoot.lock claims nothing that does not run."""
        try:
            gone = await self.driver.read(recorded_spec(source, lost), recorded(lost)) is None
        except Exception:  # cannot tell: what the driver said runs stays where it ran
            gone = False
        if gone:
            self.store.moved(source, address, lost)
            self.known[address] = Known(lost.kind, lost.identity, lost.outputs)
        else:
            self.store.result(source, lost)

    async def _converge(self, address: str, desired: DesiredObject, change: Change) -> None:
        started = time.monotonic()
        try:
            resolved = resolve(Resolver(self.known, self.secrets, self.root), desired)
        except Exception as error:
            self._fail(address, change.action, started, error)
            return
        spec = spec_of(desired, resolved.config, resolved.digests)
        record = self.state.objects.get(address)
        action = change.action
        if address in self.plan.adopted and action is Action.NOOP and record is not None:
            # Made by an interrupted run from this configuration: record it as applied.
            self.store.result(address, self._state(desired, resolved.digests, record.identity, record.outputs))
            return
        # Found by name, made from what the driver cannot tell: updated as planned, as the
        # plan says (a comparison with its unknown configuration would call for a replacement).
        untold = address in self.plan.adopted and self.plan.adopted[address].applied is None
        if record is not None and action in (Action.NOOP, Action.MOVE, Action.UPDATE) and not untold:
            # Outputs it depends on may have changed since the plan: compare again.
            diff = self.driver.diff(spec, recorded(record))
            if any(key in diff.changed for key in diff.replace):
                action = Action.REPLACE
            elif diff.changed or change.drift:
                action = Action.UPDATE
            else:
                if action is Action.UPDATE:
                    self.result.unneeded.append(address)
                return
        if record is None:
            action = Action.CREATE
        operation: Operation = _OPERATIONS[action]
        switched: list[ObjectState] = []
        waiting = _Waiting(self.secrets.redact(awaited(desired.kind, resolved.config)))

        async def switch_over(made: Created) -> bool:
            """The new object serves: record it, let what depends on it take its outputs
            (this operation's slot lent meanwhile), and say whether the old one may go."""
            new = self._state(desired, resolved.digests, made.identity, made.outputs)
            switched.append(new)
            self.store.result(address, new)
            self.known[address] = Known(desired.kind, made.identity, made.outputs)
            self.ready.set(address)
            users = self.uses.get(address, [])
            if not users:
                return True
            # Its health check passed: what it waits for now is its dependants' updates.
            named = join_names(users) if len(users) <= 3 else f"the {len(users)} objects that depend on it"
            waiting.what = f"{named} to be updated to its new outputs"
            # Both lent, and taken back in the order `_apply` takes them: a chain of
            # replacements, each waiting for the next, would otherwise hold them all.
            self.limit.release()
            self.resolving.release()
            try:
                for user in users:
                    await self.finished.wait(user)
            finally:
                await self.resolving.acquire()
                await self.limit.acquire()
            # One that failed or was skipped may still run as it was, on the old outputs.
            return all(u not in self.result.failed and u not in self.result.skipped for u in users)

        try:
            async with self.limit:
                self._event(address, action, "started", started)
                await self.store.intend(address, operation, desired.kind)
                made: Created
                async with self._ticking(address, action, started, desired.kind, waiting):
                    if action is Action.UPDATE and record is not None:
                        made = await self.driver.update(spec, recorded(record))
                    elif record is not None and self._replaces(action, desired.kind):
                        # Create before destroy: the old one serves until the new one does,
                        # and what uses it has switched over.
                        made = await self.driver.replace_switching(
                            spec, recorded(record), self.delete_data, switch_over
                        )
                    else:
                        if action is Action.REPLACE and record is not None:
                            await self.driver.delete(spec, recorded(record), self.delete_data)
                            self.store.result(address, None)
                            await self.store.intend(address, "create", desired.kind)
                        made = await self.driver.create(spec)
        except Exception as error:
            if switched:
                # Past the switch-over the new one serves, and is what is recorded.
                self.store.result(address, switched[0])
            elif record is not None and (action is Action.UPDATE or self._replaces(action, desired.kind)):
                # The record of the previous version stays: with `PreviousVersionKept`,
                # it is what runs; with `PreviousVersionLost`, with what of it still runs
                # (nothing, often); otherwise the next refresh finds what does.
                if isinstance(error, PreviousVersionLost):
                    record = record.model_copy(update={"identity": error.identity})
                self.store.result(address, record)
                if isinstance(error, PreviousVersionKept):
                    self.result.kept.append(address)
            # A create that failed may have made part of the object (a role, a security
            # group): its intent stays pending, so the next plan, or destroy, looks for it
            # by its deterministic name, as after a crash, and takes up or removes what is there.
            self._fail(address, action, started, error)
            return
        self.store.result(address, self._state(desired, resolved.digests, made.identity, made.outputs))
        self.known[address] = Known(desired.kind, made.identity, made.outputs)
        self.result.done.append(address)
        self._event(address, action, "done", started)

    def _replaces(self, action: Action, kind: str) -> bool:
        """Whether the driver makes this replacement itself, create before destroy."""
        return action is Action.REPLACE and kind in self.driver.replaceable

    def _ticking(self, address: str, action: Action, started: float, kind: str, waiting: _Waiting) -> _Ticking:
        """While the operation inside runs, tell a "running" event every `progress_every` seconds,
        saying what it waits for as `waiting` says at that moment."""
        return _Ticking(self, address, action, started, kind, waiting)

    def _state(self, desired: DesiredObject, digests: dict[str, str], identity: Any, outputs: Any) -> ObjectState:
        return ObjectState(
            kind=desired.kind,
            config=desired.config,
            digests=digests,
            identity=dict(identity),
            outputs=dict(outputs),
            revision=desired.revision,
            depends_on=sorted(desired.depends_on),
        )

    def _fail(self, address: str, action: Action, started: float, error: Exception) -> None:
        message = self.secrets.redact(str(error) or type(error).__name__)
        self.result.failed[address] = message
        self._event(address, action, "failed", started, message)


@dataclass(slots=True)
class _Waiting:
    """What an operation in flight waits for, as its "running" events say: a compute's health
    check, then, in a replacement's switch-over, what depends on it being updated."""

    what: str


async def _each(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """`asyncio.gather(*coroutines)`, but each task let go as it ends, not all of them when
    the last one does (at 10,000 operations, 11 MiB at the end of an apply).

    As gather: the first exception (or cancellation) of a task is raised and the others
    run on; cancelled, it cancels the tasks still running."""
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[None]] = set()
    over: asyncio.Future[None] = loop.create_future()

    def ended(task: asyncio.Task[None]) -> None:
        running.discard(task)
        if over.done():
            return
        if task.cancelled():
            over.set_exception(asyncio.CancelledError())
            return
        error = task.exception()
        if error is not None:
            over.set_exception(error)
        elif not running:
            over.set_result(None)

    for coroutine in coroutines:
        task = loop.create_task(coroutine)
        running.add(task)
        task.add_done_callback(ended)
    if not running:
        return
    try:
        await over
    except asyncio.CancelledError:
        for task in list(running):
            task.cancel()
        raise


class _Ticking:
    """`Reconciler._ticking`: a timer, not a task (at 10,000 operations a task each cost
    more than the operations), in an object, not an async generator (a generator and a
    closure each, left in cycles for the collector: 3.5 MiB at 10,000 operations)."""

    __slots__ = ("action", "address", "kind", "reconciler", "started", "timer", "waiting")

    def __init__(
        self, reconciler: Reconciler, address: str, action: Action, started: float, kind: str, waiting: _Waiting
    ) -> None:
        self.reconciler, self.address, self.action, self.started = reconciler, address, action, started
        self.kind, self.waiting = kind, waiting
        self.timer: asyncio.TimerHandle | None = None

    def _tick(self) -> None:
        reconciler = self.reconciler
        self.timer = asyncio.get_running_loop().call_later(reconciler.progress_every, self._tick)
        seconds = time.monotonic() - self.started
        reconciler.on_event(Event(self.address, self.action, "running", seconds, self.waiting.what, self.kind))

    async def __aenter__(self) -> None:
        self.timer = asyncio.get_running_loop().call_later(self.reconciler.progress_every, self._tick)

    async def __aexit__(self, *exc_info: object) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


# How many operations, for each one `limit` lets run, may be ready to start.
_RESOLVING_PER_SLOT = 4


class _Finished:
    """The operations a converge runs, and which of them ended: an operation waits here
    for those it comes after. An `asyncio.Event` each (a deque in each) held 7 MiB at
    10,000 objects; here a future is made only for a wait that begins before its
    operation ends, one a waiter, so that a waiter cancelled cancels no other."""

    def __init__(self) -> None:
        self._expected: set[str] = set()
        self._ended: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    def expect(self, address: str) -> None:
        self._expected.add(address)

    def __contains__(self, address: object) -> bool:
        return address in self._expected

    def set(self, address: str) -> None:
        self._ended.add(address)
        for waiter in self._waiters.pop(address, ()):
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, address: str) -> None:
        if address in self._ended:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(address, []).append(waiter)
        await waiter


def awaited(kind: str, config: Mapping[str, Any]) -> str:
    """What an operation on an object waits for, when its configuration says: a
    compute's health check (`GET /healthz`, or its health command), which every cloud
    runs before calling it started; else ""."""
    health = config.get("health") if kind == "compute" else None
    if isinstance(health, str) and health:
        return f"GET {health}"
    if isinstance(health, list) and health:
        return f"the health command `{health[0]}`"
    return ""
