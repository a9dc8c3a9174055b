"""Converge a target: take the apply lock, plan, ask the caller, apply; a typed outcome.

    outcome = converge(application, confirm=ask, on_event=show)

What happens on the way is told to `on_event` as it happens (a wait for the lock, the
lock taken over, the runtime opened, the plan made, each apply event, a shared lock
left behind); confirming is the caller's
(`confirm(plan)`: the CLI asks at a terminal, `scoot watch` always says yes).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scoot_app.application import Loaded, PlanFailed, make_plan, open_runtime

if TYPE_CHECKING:
    from scoot_app.saved_plan import SavedPlan
    from scoot_runtime.applylock import LockHolder, LockWait, TargetLock
    from scoot_runtime.drivers.base import HeldLock
    from scoot_runtime.engine import Runtime
    from scoot_runtime.plan import Plan
    from scoot_runtime.reconciler import ApplyResult, Event


# -- events, in the order they can come -------------------------------------------------------


@dataclass(frozen=True)
class WaitingForLock:
    """The apply lock is held by another run; waiting for it (`lock_timeout`). Told once per lock."""

    wait: LockWait


@dataclass(frozen=True)
class TookOver:
    """The apply lock's previous holder is gone without releasing it; the lock is ours."""

    holder: LockHolder


@dataclass(frozen=True)
class RuntimeOpened:
    """The target's runtime is open (its secrets known: a printer can now redact them)."""

    runtime: Runtime


@dataclass(frozen=True)
class PlanMade:
    """The plan is made; `confirm` is asked next if it has changes."""

    runtime: Runtime
    plan: Plan


@dataclass(frozen=True)
class ApplyStarted:
    plan: Plan


@dataclass(frozen=True)
class Applying:
    """One event of the apply (an operation started, still running, done or failed)."""

    event: Event


@dataclass(frozen=True)
class LockLeft:
    """The run is over but its shared lock could not be released: `message` says how to break it."""

    message: str


ConvergeEvent = WaitingForLock | TookOver | RuntimeOpened | PlanMade | ApplyStarted | Applying | LockLeft


# -- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockBusy:
    """Another run holds the target's apply lock: nothing was tried."""

    message: str


@dataclass(frozen=True)
class NothingToDestroy:
    target: str


@dataclass(frozen=True)
class NothingToDo:
    plan: Plan


@dataclass(frozen=True)
class Declined:
    """`confirm` said no: nothing was changed."""

    plan: Plan


@dataclass(frozen=True)
class Converged:
    """The apply ran (`result.ok` says whether every object converged)."""

    runtime: Runtime
    plan: Plan
    result: ApplyResult
    seconds: float
    # Storage objects the apply deleted or replaced, with where their data is (kept
    # unless `delete_data`).
    deleted_storage: Mapping[str, str | None]

    @property
    def ok(self) -> bool:
        return self.result.ok


@dataclass(frozen=True)
class Stale:
    """A saved plan no longer matches what it was made from: nothing was changed."""

    reasons: list[str]


ConvergeOutcome = LockBusy | PlanFailed | NothingToDestroy | NothingToDo | Declined | Converged | Stale


def converge(
    application: Loaded,
    *,
    destroy: bool = False,
    revisions: Mapping[str, str] | None = None,
    parallelism: int | None = None,
    delete_data: bool = False,
    refresh: bool = True,
    command: str | None = None,
    lock_timeout: float = 0.0,
    progress_every: float | None = None,
    only: Sequence[str] = (),
    replace: Sequence[str] = (),
    saved: SavedPlan | None = None,
    confirm: Callable[[Plan], bool] = lambda plan: True,
    on_event: Callable[[ConvergeEvent], None] = lambda event: None,
) -> ConvergeOutcome:
    """apply (or, with `destroy`, destroy): lock, plan, confirm, apply while telling events.

    `command` names the run in the apply lock (who holds it, for another run's message);
    a held lock is waited for up to `lock_timeout` seconds. An operation still in flight
    is told (an `Applying` event whose status is "running") every `progress_every`
    seconds (default: every 10). `only` and `replace`: `scoot_runtime.partial`.

    With `saved` (`scoot apply FILE`), the saved plan's options replace these, its
    desired objects the architecture's, and the outcome is `Stale`, before anything is
    touched, when what it was made from changed (`SavedPlan.stale`, `SavedPlan.drifted`)."""
    import asyncio

    from scoot_model.objects import placed_outputs
    from scoot_runtime.applylock import LockHeld
    from scoot_runtime.engine import DEFAULT_PARALLELISM
    from scoot_runtime.reconciler import PROGRESS_SECONDS

    lock = apply_lock(
        application, command=command, timeout=lock_timeout, on_wait=lambda wait: on_event(WaitingForLock(wait))
    )
    try:
        lock.acquire()
    except LockHeld as error:
        return LockBusy(str(error))
    if saved is not None:
        options = saved.options
        destroy, refresh, delete_data = options.destroy, options.refresh, options.delete_data
        only, replace, revisions = options.only, options.replace, saved.pins
    try:
        if lock.stale_holder is not None:
            on_event(TookOver(lock.stale_holder))
        runtime = open_runtime(application, revisions, fetch=not destroy)
        on_event(RuntimeOpened(runtime))
        with asyncio.Runner() as runner:
            applying = False
            try:
                if saved is not None:
                    reasons = saved.stale(application, runtime)
                    if reasons:
                        return Stale(reasons)
                    runtime.desired = saved.desired_objects(runtime.desired)
                    runtime.moved = list(saved.moved)
                made = runner.run(
                    make_plan(
                        runtime, destroy=destroy, refresh=refresh, parallelism=parallelism, only=only, replace=replace
                    )
                )
                if isinstance(made, PlanFailed):
                    return made
                if saved is not None:
                    reasons = saved.drifted(made)
                    if reasons:
                        return Stale(reasons)
                if destroy and not runtime.store.state.objects and not made.has_changes:
                    return NothingToDestroy(made.target)
                on_event(PlanMade(runtime, made))
                if not made.has_changes:
                    return NothingToDo(made)
                if not confirm(made):
                    return Declined(made)
                root = runtime.root.resolve()
                kept = {
                    address: outputs.get("path") or outputs.get("url")
                    for address, state in runtime.store.state.objects.items()
                    if state.kind == "storage"
                    for outputs in [placed_outputs(state.kind, state.outputs, root)]
                }
                on_event(ApplyStarted(made))
                started = time.monotonic()
                applying = True
                result = runner.run(
                    runtime.apply(
                        made,
                        parallelism=parallelism or DEFAULT_PARALLELISM,
                        delete_data=delete_data,
                        on_event=lambda event: on_event(Applying(event)),
                        progress_every=progress_every or PROGRESS_SECONDS,
                    )
                )
            finally:
                if not applying:
                    # Best effort: the outcome is already decided (apply closes the drivers itself).
                    with contextlib.suppress(Exception):
                        runner.run(runtime.close())
        seconds = time.monotonic() - started
        replaced = {c.address for c in made.changes if c.action.value in ("delete", "replace")}
        deleted = {a: kept[a] for a in result.done if a in kept and a in replaced}
        return Converged(runtime, made, result, seconds, deleted)
    finally:
        lock.release()
        if lock.release_problem is not None:
            on_event(LockLeft(lock.release_problem))


def apply_lock(
    application: Loaded,
    *,
    command: str | None = None,
    timeout: float = 0.0,
    on_wait: Callable[[LockWait], None] = lambda wait: None,
) -> TargetLock:
    """The application's target's apply lock (not taken yet): the folder's, and the one its
    driver shares between every clone of the application, if it keeps one."""
    from scoot_runtime.applylock import target_lock
    from scoot_runtime.engine import application_name

    name = application_name(application.workspace, application.architecture)
    return target_lock(
        application.workspace.state_dir, name, application.target, command=command, timeout=timeout, on_wait=on_wait
    )


@dataclass(frozen=True)
class Unlocked:
    """What `force_unlock` removed: the folder's lock file (`had_file`; `holder`, who it
    named) and the driver's shared lock (`shared`, None if there was none; `where`)."""

    had_file: bool
    holder: LockHolder | None
    shared: HeldLock | None = None
    where: str | None = None


def force_unlock(path: Path, target: str, *, force: bool = False) -> Unlocked:
    """Break `target`'s apply lock left by a run that is gone: the folder's, then the shared one.

    Refused (`HolderAlive`, `HolderUnknown`) while a holder looks alive, or cannot be
    checked (another host), unless `force`. A target scoot.toml no longer has: only the
    folder's lock (its driver is not known)."""
    from scoot_app.application import Failed, load
    from scoot_runtime import applylock, workspace
    from scoot_runtime.engine import application_name

    folder = workspace.load(path)
    had_file = applylock.lock_path(folder.state_dir, target).exists()
    holder = applylock.force_unlock(folder.state_dir, target, force=force)
    if target not in folder.targets:
        return Unlocked(had_file, holder)
    loaded = load(path, target, offline_ok=True)
    application = loaded.by_state() if isinstance(loaded, Failed) else loaded
    shared = applylock.shared_lock(
        application_name(application.workspace, application.architecture), application.target
    )
    if shared is None:
        return Unlocked(had_file, holder)
    broken = applylock.force_unlock_shared(shared, target, force=force)
    return Unlocked(had_file, holder, broken, shared.where)
