"""The `local` cloud driver: everything runs on this machine.

- compute: one detached process per replica (see `compute`);
- storage: a SQLite file or a folder under `.scoots/data/` (see `storage`);
- connection: nothing to make here; the runtime injects the target's outputs
  into the source's environment, and the connection reports their names.

Target options (`[targets.NAME]` in scoot.toml), all optional:
`health_timeout` (seconds, default 30), `grace_period` (seconds between SIGTERM
and SIGKILL, default 10), `pass_env` (names of scoot's own environment
variables to pass on to every process, beyond PATH, HOME, LANG, LC_* and such).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any, ClassVar

from scoot_runtime.drivers.base import (
    Address,
    CheckFailure,
    CloudDriver,
    Created,
    DiffResult,
    DriverContext,
    LogLine,
    ObjectSpec,
    Observed,
    ReadResult,
    Recorded,
    SwitchOver,
)
from scoot_runtime.drivers.local import compute, storage
from scoot_runtime.drivers.local.logs import read_logs
from scoot_runtime.drivers.local.paths import LocalDriverError


class LocalDriver(CloudDriver):
    """Runs an architecture on this machine (Linux)."""

    name: ClassVar[str] = "local"
    parallelism: ClassVar[int | None] = None
    kinds: ClassVar[frozenset[str]] = frozenset({"compute", "storage", "connection"})
    engines: ClassVar[tuple[str, ...]] = storage.ENGINES
    option_names: ClassVar[frozenset[str]] = frozenset(
        {"health_timeout", "grace_period", "pass_env"}
    )
    movable: ClassVar[frozenset[str]] = frozenset({"compute", "storage", "connection"})
    replaceable: ClassVar[frozenset[str]] = frozenset({"compute", "storage", "connection"})
    # Not a compute: see `adopt`.
    adoptable: ClassVar[frozenset[str]] = frozenset({"storage"})

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.options = compute.Options.parse(context.options)
        self._compute = compute.ComputeObjects(context, self.options)
        self._storage = storage.StorageObjects(context)

    @property
    def owner(self) -> str:
        """What marks the processes this driver starts as this folder's, for this target."""
        return self._compute.owner

    def check(self, spec: ObjectSpec) -> list[CheckFailure]:
        failures = super().check(spec)
        if spec.kind == "compute":
            failures += compute.problems(spec.config)
        elif spec.kind == "storage":
            failures += storage.problems(spec.config)
        return failures

    def diff(self, spec: ObjectSpec, recorded: Recorded) -> DiffResult:
        result = super().diff(spec, recorded)
        if spec.kind == "storage" and "engine" in result.changed:
            # A SQLite file does not become a folder: a new store is made (the old
            # one's data is kept unless the user asks to delete it).
            return DiffResult(result.changed, ("engine",))
        if spec.kind == "compute" and "port" in result.changed:
            # Replica 0 listens on the new port: its `url` and `port` change with it.
            return DiffResult(result.changed, outputs=("port", "url"))
        return result

    async def create(self, spec: ObjectSpec) -> Created:
        if spec.kind == "compute":
            return await self._compute.create(spec)
        if spec.kind == "storage":
            return await self._storage.create(spec)
        return _connection(spec, self._kind(spec))

    async def read(self, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        if spec.kind == "compute":
            return await self._compute.read(spec, recorded)
        if spec.kind == "storage":
            return await self._storage.read(spec, recorded)
        self._kind(spec)
        # A connection is nothing on this machine: it exists as long as it is recorded.
        if recorded is None:
            return None
        return Observed(dict(recorded.identity), dict(recorded.outputs))

    async def read_many(
        self, reads: Sequence[tuple[ObjectSpec, Recorded | None]], parallelism: int | None = None
    ) -> dict[Address, ReadResult]:
        """`read` of each: a store's and a connection's in turn (a look at the disk that
        never waits: a task each cost more than the look, 0.1 s at 10,000 stores), the
        computes' as the base class does (their processes are asked)."""
        computes = [(spec, recorded) for spec, recorded in reads if spec.kind == "compute"]
        results = await super().read_many(computes, parallelism) if computes else {}
        # A store looked at directly, unless a subclass reads stores its own way.
        direct = type(self).read is LocalDriver.read
        for spec, recorded in reads:
            if spec.kind != "compute":
                try:
                    if direct and spec.kind == "storage":
                        results[spec.address] = self._storage.look(spec, recorded)
                    else:
                        results[spec.address] = await self.read(spec, recorded)
                except Exception as error:  # reported against its object, as the base class does
                    results[spec.address] = error
        return results

    async def inventory(self) -> Mapping[str, str]:
        """The compute objects whose processes this folder started for this target."""
        return {address: "compute" for address in await self._compute.running()}

    async def update(self, spec: ObjectSpec, recorded: Recorded) -> Created:
        if spec.kind == "compute":
            return await self._compute.update(spec, recorded)
        if spec.kind == "storage":
            return await self._storage.update(spec, recorded)
        return _connection(spec, self._kind(spec))

    async def delete(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> None:
        if spec.kind == "compute":
            await self._compute.delete(spec, recorded)
        elif spec.kind == "storage":
            await self._storage.delete(spec, recorded, delete_data)
        else:
            self._kind(spec)

    async def replace(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> Created:
        """Create before destroy: see `compute.ComputeObjects.replace` and
        `storage.StorageObjects.replace`; a connection is nothing here, made anew."""
        if spec.kind == "compute":
            return await self._compute.replace(spec, recorded)
        if spec.kind == "storage":
            return await self._storage.replace(spec, recorded, delete_data)
        return _connection(spec, self._kind(spec))

    async def replace_switching(
        self, spec: ObjectSpec, recorded: Recorded, delete_data: bool, switch_over: SwitchOver
    ) -> Created:
        """A compute's old processes stop only after the switch-over (what uses it updated);
        a store and a connection as `replace` makes them, then the switch-over."""
        if spec.kind == "compute":
            return await self._compute.replace(spec, recorded, switch_over)
        return await super().replace_switching(spec, recorded, delete_data, switch_over)

    async def move(self, spec: ObjectSpec, recorded: Recorded, source: Address) -> Created:
        if spec.kind == "compute":
            return await self._compute.move(spec, recorded, source)
        if spec.kind == "storage":
            return await self._storage.move(spec, recorded, source)
        self._kind(spec)
        return Created(dict(recorded.identity), dict(recorded.outputs))  # a connection is nothing here

    async def adopt(self, spec: ObjectSpec, resource_id: str) -> Created:
        """A store: the folder or SQLite file at the path `resource_id`, moved into where
        the address keeps it. A compute is refused: the driver knows its processes by the
        marker it starts them with, and never signals a process it did not start."""
        if spec.kind == "storage":
            return await self._storage.adopt(spec, resource_id)
        if spec.kind == "compute":
            raise LocalDriverError(
                f"{spec.address}: the local driver cannot import a running process: it knows a "
                "compute's processes by the SCOOT_OBJECT marker it starts them with, which a process "
                "it did not start does not carry, and it never signals a process it did not start. "
                f"Stop that process yourself, then `scoot apply` starts `{spec.address}`"
            )
        raise LocalDriverError(f"{spec.address}: a `{spec.kind}` is nothing on this machine: there is nothing to import")

    def moved_outputs(self, kind: str, outputs: Mapping[str, Any]) -> Collection[str]:
        """A store's path (and URL) is its address's; a compute's outputs stay."""
        return [name for name in ("path", "url") if name in outputs] if kind == "storage" else ()

    def logs(
        self, address: Address, recorded: Recorded | None, *, replica: int | None = None, follow: bool = False
    ) -> AsyncIterator[LogLine]:
        """The processes' log files, kept after they stop (read even with nothing recorded)."""
        return read_logs(self.context.workspace, self.context.target, address, replica, follow)

    def _kind(self, spec: ObjectSpec) -> str:
        if spec.kind not in self.kinds:
            raise LocalDriverError(f"{spec.address}: the local driver has no `{spec.kind}` objects")
        return spec.kind


def _connection(spec: ObjectSpec, _kind: str) -> Created:
    """A connection's result: the names of the variables the runtime injected, if it says."""
    return Created({}, {"env": ",".join(_names(spec.config.get("injected")))})


def _names(injected: Any) -> list[str]:
    if isinstance(injected, str):
        return [n for n in injected.split(",") if n]
    if isinstance(injected, Mapping):
        return sorted(str(n) for n in injected)
    if isinstance(injected, list | tuple):
        return [str(n) for n in injected]
    return []
