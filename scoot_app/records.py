"""`scoot import` and `scoot forget`: change what scoot.lock records, and nothing else.

    outcome = import_object(application, "api.files", "my-existing-bucket")
    outcome = forget_object(application, "api.files")

Both take the target's apply lock (an apply must not record over them). Importing
reads the resource through the driver (`CloudDriver.adopt`), records it, then plans:
what the next apply would change. Forgetting drops the record; what it named is not
touched. An object the architecture still declares is not forgotten: the next plan
would find it by its name and take it up again (or create it anew), so the user is
told to take it out of the architecture first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scoot_app.application import Loaded, PlanFailed, make_plan, open_runtime
from scoot_app.converge import LockBusy, apply_lock

if TYPE_CHECKING:
    from scoot_runtime.engine import Runtime
    from scoot_runtime.plan import Plan
    from scoot_runtime.state import ObjectState


@dataclass(frozen=True)
class Imported:
    """`address` is recorded as `state`; `plan` is what the next apply would do."""

    runtime: Runtime
    address: str
    state: ObjectState
    plan: Plan | PlanFailed


@dataclass(frozen=True)
class Forgotten:
    address: str
    state: ObjectState | None  # None: only an interrupted operation was recorded


@contextlib.contextmanager
def _locked(application: Loaded, command: str | None, lock_timeout: float) -> Iterator[LockBusy | None]:
    """The target's apply lock held inside; or, when another run holds it, why (LockBusy)."""
    from scoot_runtime.applylock import LockHeld

    lock = apply_lock(application, command=command, timeout=lock_timeout)
    try:
        lock.acquire()
    except LockHeld as error:
        yield LockBusy(str(error))
        return
    try:
        yield None
    finally:
        lock.release()


def import_object(
    application: Loaded, address: str, resource_id: str, *, command: str | None = None, lock_timeout: float = 0.0
) -> Imported | LockBusy:
    """Record the existing resource `resource_id` as `address` (a `ScootError` says why not)."""
    import asyncio

    with _locked(application, command, lock_timeout) as busy:
        if busy is not None:
            return busy
        runtime = open_runtime(application)

        async def run() -> tuple[ObjectState, Plan | PlanFailed]:
            try:
                state = await runtime.adopt(address, resource_id)
                return state, await make_plan(runtime)
            finally:
                await runtime.close()

        state, plan = asyncio.run(run())
        return Imported(runtime, address, state, plan)


def forget_object(
    application: Loaded, address: str, *, command: str | None = None, lock_timeout: float = 0.0
) -> Forgotten | LockBusy:
    """Drop `address` from scoot.lock, touching nothing (a `ScootError` says why not)."""
    with _locked(application, command, lock_timeout) as busy:
        if busy is not None:
            return busy
        runtime = open_runtime(application, fetch=False)
        return Forgotten(address, runtime.forget(address))
