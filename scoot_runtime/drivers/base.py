"""The cloud-driver interface, shaped like a Pulumi provider.

A driver turns objects into infrastructure. The runtime calls, per object:

- `check`: is this configuration something the driver can provide? (plan time,
  before anything is touched)
- `diff`: what differs between what was applied and what is wanted, and does
  the difference need a replacement?
- `create`, `update`, `delete`: change the world, returning what was made;
- `read`: what exists now, found by the recorded identity or, after a crash
  left no record, by the object's deterministic name;
- `read_many`: the reads of a whole refresh at once; by default `read` per object,
  concurrently; a driver whose cloud lists many objects in one call overrides it;
- `move` (optional): make what was recorded at one address the object of
  another (a `moved` block), keeping its identity and data;
- `replace` (optional, for the kinds in `replaceable`): a replacement made
  create-before-destroy, the old object kept until the new one serves; for the
  other kinds the runtime deletes, then creates. The runtime calls it through
  `replace_switching`, which a driver overrides to delete the old object only once
  what depends on it has been updated to the new one's outputs;
- `inventory` (optional): what of the target exists, listed by name alone;
- `shared_lock` (optional, a class method): the target's apply lock, kept where
  its resources are, so that every clone of the application shares it.

An `update` whose new version cannot start, or never becomes healthy, puts the
previous version back (or never stopped it) and raises `PreviousVersionKept`:
the runtime then keeps the record of the previous version, which is what runs.
One whose previous version did not start again either raises `PreviousVersionLost`
with the identity of what runs (nothing, often): the runtime records that. Any
other exception from `update` says nothing of what runs. `replace` raises the same.

`create`, `update` and `diff` get an `ObjectSpec` whose configuration has its
references resolved to values (and secrets to their values, in memory only).
`check` runs at plan time, before those values exist: it gets the configuration
as written, where a reference is a `"${component.object.output}"` string (the
compiler has checked its type). `read` and `delete` get the configuration as it
was recorded, and should rely on the recorded identity.
Drivers are plugins: a class registered under the entry-point group
`scoot.cloud_drivers` (the built-in `local` is registered the same way).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from scoot_model.wording import join_names
from scoot_runtime.applylock import LockHolder
from scoot_runtime.errors import ScootError
from scoot_runtime.secrets import same_digest


@dataclass(frozen=True)
class Address:
    """Where an object is in the architecture: `api.web`."""

    component: str
    object: str

    def __str__(self) -> str:
        return f"{self.component}.{self.object}"

    @classmethod
    def parse(cls, text: str) -> Address:
        component, _, name = text.partition(".")
        return cls(component, name)


@dataclass(frozen=True)
class ObjectSpec:
    """One object as the driver sees it: its configuration with every reference resolved."""

    address: Address
    kind: str
    config: Mapping[str, Any]
    # A digest per key of the resolved configuration (secrets keyed, never plain):
    # what `diff` compares with the digests recorded at the last apply.
    digests: Mapping[str, str] = field(default_factory=dict)
    # The component's source folder (for compute), and the revision of it to run.
    source: Path | None = None
    revision: str | None = None


@dataclass(frozen=True)
class CheckFailure:
    """A configuration the driver cannot provide: `key` names the key at fault, if one."""

    message: str
    key: str | None = None


@dataclass(frozen=True)
class DiffResult:
    changed: tuple[str, ...] = ()
    # Keys whose change cannot be made in place: the object is deleted and created again.
    replace: tuple[str, ...] = ()
    # Outputs an in-place update may change (a new port, a new address): the plan shows
    # the dependants that use them as "known after apply". A replacement changes them all.
    outputs: tuple[str, ...] = ()

    @property
    def changes(self) -> bool:
        return bool(self.changed)


@dataclass(frozen=True)
class Created:
    """What a create or update made: the driver's identity of it, and its outputs."""

    identity: Mapping[str, Any]
    outputs: Mapping[str, Any]


@dataclass(frozen=True)
class Applied:
    """The configuration something was made from: a digest per key, and the source revision."""

    digests: Mapping[str, str]
    revision: str | None = None

    def changed(self, digests: Mapping[str, str], revision: str | None) -> tuple[str, ...]:
        """The keys (and `revision`) in which `digests` and `revision` differ from this."""
        if revision == self.revision and self.digests == digests:
            return ()  # the no-op plan's case, 10,000 times at 10,000 objects
        keys = sorted(set(self.digests) | set(digests))
        changed = tuple(k for k in keys if not same_digest(self.digests.get(k), digests.get(k)))
        return (*changed, "revision") if revision != self.revision else changed


@dataclass(frozen=True)
class Observed:
    """What `read` found. `drift` lists what differs from the recorded state, if anything.

    `applied` is what it was made from, where the driver can tell: what is found
    without a record (after a crash, or with `scoot.lock` lost) is then compared
    with what is wanted now; where it cannot, it is updated to what is wanted.
    """

    identity: Mapping[str, Any]
    outputs: Mapping[str, Any]
    drift: tuple[str, ...] = ()
    applied: Applied | None = None


# What `read_many` found of one object: what `read` returns, or the exception it raised.
ReadResult = Observed | None | Exception


@dataclass(frozen=True)
class Recorded:
    """What the state says was applied for an object."""

    kind: str
    config: Mapping[str, Any]  # as written (references and secrets symbolic)
    digests: Mapping[str, str]  # per key, of the resolved configuration applied
    identity: Mapping[str, Any]
    outputs: Mapping[str, Any]
    revision: str | None = None


# Called by `replace_switching` with the new object once it serves, before the old one
# is deleted: the runtime updates what depends on the object to the new outputs, then
# answers whether the old one may go (False: something that depends on it could not be
# updated and still uses it).
SwitchOver = Callable[[Created], Awaitable[bool]]


class PreviousVersionKept(ScootError):
    """Raised by `update`: the new version failed, and the previous one, as recorded
    (its identity and outputs), is what runs and answers. Raise it only once that is
    so: the new version's remains are gone and the previous one serves."""

    def __init__(self, address: Address, failure: str) -> None:
        # The cause's first line in the sentence; what follows it (a log's tail) below.
        first, _, rest = failure.strip().partition("\n")
        # The address is said once, beside the message: not again inside it.
        first = first.removeprefix(f"{address}: ").removeprefix(f"{address} ").rstrip(".")
        # No address in front: the runtime reports it beside the object's (`api.web: the new…`).
        super().__init__(
            f"the new version failed to start ({first}): the previous version is still running"
            + (f"\n{rest}" if rest else "")
        )
        self.address = address
        self.failure = failure


class PreviousVersionLost(ScootError):
    """Raised by `update` or `replace`: the new version failed, and the previous one did
    not start again either. `identity` is the driver's identity of what of the object
    still runs (of a compute: no replica, or those never stopped), which the runtime
    records; the message says what failed and what no longer runs."""

    def __init__(self, message: str, identity: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.identity = dict(identity)


@dataclass(frozen=True)
class LogLine:
    """One line a compute printed; `source` says which of its processes (a replica, an instance)."""

    source: str
    text: str


@dataclass(frozen=True)
class DriverContext:
    """Where a driver works, for one target of one application."""

    application: str
    target: str
    lineage: str
    workspace: Path  # the `.scoots/` folder of the application
    root: Path  # the application folder (where scoot.toml and the .sct files are)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LockScope:
    """What a shared apply lock is of: one target of one application (by name, as every
    clone of it names it), with the target's driver options."""

    application: str
    target: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HeldLock:
    """A shared lock as found: who it names (None: it names no scoot run), and `version`,
    the driver's mark of this very lock (`break_lock` removes it only while it still is)."""

    holder: LockHolder | None
    version: str


class SharedLock(ABC):
    """A target's apply lock kept where its resources are (a driver's `shared_lock`).

    The runtime takes it after the folder's own lock and releases it before; it waits
    (`--lock-timeout`) by calling `acquire` again with backoff. It holds who took it:
    never a secret.
    """

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the lock is, for messages (`s3://bucket/key`)."""

    @abstractmethod
    async def acquire(self, holder: LockHolder) -> HeldLock | None:
        """Take the lock, naming `holder`, in one atomic step: None once taken; if another
        run holds it, that lock (and nothing is changed)."""

    @abstractmethod
    async def release(self) -> None:
        """Remove the lock if this object took it and it is still this run's (a lock broken
        by force-unlock and taken by another run is left alone). Safe to call when not taken."""

    @abstractmethod
    async def read(self) -> HeldLock | None:
        """The lock as it is now (None: free), for force-unlock."""

    @abstractmethod
    async def break_lock(self, held: HeldLock) -> bool:
        """Remove the lock if it is still `held` (force-unlock); False if it changed meanwhile."""

    async def close(self) -> None:  # noqa: B027 (optional: most hold nothing)
        """Release what the lock holds (clients)."""


def model_problems(kind: str, config: Mapping[str, Any]) -> list[CheckFailure]:
    """What breaks the model's rules (`scoot_model.objects.problems`) in a configuration:
    the one check of them every driver makes, of the configuration as written at plan time
    and, where a driver wants it, of the resolved one at apply time."""
    # Imported here: the objects load pydantic, which `scoot --help` does not need.
    from scoot_model.objects import problems

    return [CheckFailure(message, key) for key, message in problems(kind, config)]


def unserved(driver: CloudDriver, kind: str) -> str:
    """Why `driver` refuses an object of `kind`: the kinds it serves, and where `kind` comes from."""
    from scoot_model.objects import kinds

    package = kinds.origin(kind)
    source = f" (a kind the package `{package}` adds)" if package else ""
    return (
        f"the {driver.name} driver serves {join_names(sorted(driver.kinds))}, not `{kind}`{source}: "
        f"give this target a `cloud` whose driver serves `{kind}` (install the package that provides "
        "it, under the entry-point group `scoot.cloud_drivers`), or use another kind"
    )


class CloudDriver(ABC):
    """Base of every cloud driver."""

    name: ClassVar[str] = ""
    # The most operations the runtime may run on this driver at once (None: no limit).
    parallelism: ClassVar[int | None] = None
    # The object kinds this driver serves (a plugin's kinds too, by name): `check` refuses
    # any other at plan time. A driver that does not say serves the built-in ones.
    kinds: ClassVar[frozenset[str]] = frozenset({"compute", "storage", "connection"})
    # The options a target may set for this driver in scoot.toml; others are refused.
    option_names: ClassVar[frozenset[str]] = frozenset()
    # The kinds whose objects `move` can move (the plan refuses a move of another kind),
    # and those `adopt` can take up (`scoot import`).
    movable: ClassVar[frozenset[str]] = frozenset()
    adoptable: ClassVar[frozenset[str]] = frozenset()
    # The kinds whose replacement `replace` makes (create before destroy); the others'
    # are a `delete`, then a `create`.
    replaceable: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, context: DriverContext) -> None:
        self.context = context

    def check(self, spec: ObjectSpec) -> list[CheckFailure]:
        """Problems with a configuration, before anything is touched (plan time): the
        model's rules, which hold on every cloud; a driver adds its own."""
        if spec.kind not in self.kinds:
            return [CheckFailure(unserved(self, spec.kind))]
        return model_problems(spec.kind, spec.config)

    def diff(self, spec: ObjectSpec, recorded: Recorded) -> DiffResult:
        """Which keys changed since the object was applied; by default every change is in place."""
        return DiffResult(Applied(recorded.digests, recorded.revision).changed(spec.digests, spec.revision))

    @abstractmethod
    async def create(self, spec: ObjectSpec) -> Created: ...

    @abstractmethod
    async def read(self, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        """What exists now (None: nothing). With no record, look it up by its deterministic name."""

    async def read_many(
        self, reads: Sequence[tuple[ObjectSpec, Recorded | None]], parallelism: int | None = None
    ) -> dict[Address, ReadResult]:
        """What `read` says of each of `reads` (one per address), by address; an object that
        could not be read maps to the exception, so that the others are still reported.

        The refresh calls this once. By default it is `read` per object, at most
        `parallelism` (else the driver's own) at once; a driver whose cloud lists many
        objects in one call overrides it, and must find exactly what `read` would."""
        limit = asyncio.Semaphore(parallelism or self.parallelism or max(len(reads), 1))
        results: dict[Address, ReadResult] = {}

        async def one(spec: ObjectSpec, recorded: Recorded | None) -> None:
            async with limit:
                try:
                    results[spec.address] = await self.read(spec, recorded)
                except Exception as error:  # reported against its object; the others go on
                    results[spec.address] = error

        await asyncio.gather(*(one(spec, recorded) for spec, recorded in reads))
        return results

    async def inventory(self) -> Mapping[str, str]:
        """What of this target the driver can list by name alone, address → kind.

        Of what is listed here that the state does not record, the plan adopts what
        the architecture wants (a lost `scoot.lock`) rather than making it a second
        time, and leaves the rest alone. By default a driver cannot list anything.
        """
        return {}

    @abstractmethod
    async def update(self, spec: ObjectSpec, recorded: Recorded) -> Created: ...

    @abstractmethod
    async def delete(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> None:
        """Remove the object. Data (storage) is kept unless `delete_data`."""

    async def move(self, spec: ObjectSpec, recorded: Recorded, source: Address) -> Created:
        """Make what was applied as `source` (`recorded`) the object at `spec.address`,
        keeping what it is: its data, its identity where the cloud's names allow. `spec`
        is the recorded configuration at the new address; a change of configuration is
        an `update` after the move. What the object is now, under its new address, is
        returned.

        Called again after a crash, it finishes what was started: what runs under the
        new address already (and not under the old) is the move done. On failure, what
        was `source` is still what it was, at `source`. The default: this driver cannot."""
        raise ScootError(
            f"{source}: the {self.name} driver cannot move objects; remove the `moved` block "
            f"to delete `{source}` and create `{spec.address}`"
        )

    async def replace(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> Created:
        """Replace the object `recorded` by a new one made from `spec`, create before
        destroy: the new one made (for a compute, started and healthy) before the old one
        is deleted. Where both cannot exist at once (one fixed port), the way `update`
        rolls, putting the old one back if the new one fails. On failure the old one is
        what it was, and `PreviousVersionKept` says so (or `PreviousVersionLost`, when it
        could not be put back). Storage data is never deleted before the new store
        exists, and only with `delete_data`. Called for the kinds in `replaceable`."""
        raise ScootError(
            f"{spec.address}: the {self.name} driver replaces a `{spec.kind}` by deleting it, then creating it"
        )

    async def replace_switching(
        self, spec: ObjectSpec, recorded: Recorded, delete_data: bool, switch_over: SwitchOver
    ) -> Created:
        """`replace`, with the switch-over between its two halves: once the new object serves,
        `switch_over(new)` is awaited (the runtime updates what depends on the object to its
        new outputs meanwhile), and the old one is deleted only if it answers True; if it
        answers False, the old one is left as it is, serving what still uses it. The new
        object is returned either way. Raises as `replace` does, and only before the
        switch-over: after it, the new one is what scoot.lock records.

        The default calls `replace`, then `switch_over`: the old object is gone before what
        depends on it is updated. A driver whose old and new objects can serve side by side
        overrides it."""
        made = await self.replace(spec, recorded, delete_data)
        await switch_over(made)
        return made

    async def adopt(self, spec: ObjectSpec, resource_id: str) -> Created:
        """Take up an existing resource, named by the cloud's own id (`scoot import`), as the
        object `spec`: read it, and say what it is (identity and outputs), changing at most
        what marks it as the object's (the aws driver tags an instance). Refuse (a `ScootError` saying why and what to do) what is not there, is not of
        the object's kind or engine, or is another state's. The default: this driver cannot."""
        raise ScootError(f"{spec.address}: the {self.name} driver cannot import a `{spec.kind}`")

    def moved_outputs(self, kind: str, outputs: Mapping[str, Any]) -> Collection[str]:
        """The outputs a move may change, which the plan shows dependants as known after
        apply: by default, all of them."""
        return tuple(outputs)

    def logs(
        self, address: Address, recorded: Recorded | None, *, replica: int | None = None, follow: bool = False
    ) -> AsyncIterator[LogLine]:
        """What a compute's processes printed, oldest line first (`scoot logs`).

        `replica` keeps one process's lines; with `follow`, wait for more lines
        until cancelled. The default: this driver keeps no logs Scoot can read.
        """
        raise ScootError(f"the {self.name} driver keeps no logs that Scoot can read")

    async def close(self) -> None:  # noqa: B027 (optional: most drivers hold nothing)
        """Release what the driver holds (connections, clients) at the end of a run."""

    @classmethod
    def shared_lock(cls, scope: LockScope) -> SharedLock | None:
        """The apply lock of `scope`'s target that every clone of the application shares,
        kept where the target's resources are (a bucket of the cloud's, say). None, the
        default: the folder's own lock covers the target (the local driver's, whose
        resources are on this machine)."""
        return None
