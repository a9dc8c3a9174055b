"""The `aws` cloud driver: an architecture on Amazon Web Services, through boto3.

- compute: EC2 instances, one per replica (see `compute`);
- storage: `engine = "bucket"` an S3 bucket, `engine = "table"` a DynamoDB table
  (see `storage`); any other engine is refused at plan time;
- connection: an IAM policy on the source compute's role granting access to the
  target (see `connection`); the runtime injects the target's outputs.

Every resource has a deterministic name and the scoot tags (see `naming`), so a
crashed run's resources are found again, and nothing else is ever touched.
Target options: see `options`. The guide is docs/drivers/aws.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any, ClassVar

from scoot_runtime.drivers.aws import compute, compute_moves, connection, storage
from scoot_runtime.drivers.aws.artifacts import Artifacts
from scoot_runtime.drivers.aws.errors import AwsDriverError
from scoot_runtime.drivers.aws.iam import Roles
from scoot_runtime.drivers.aws.inventory import KINDS, listed, tagged
from scoot_runtime.drivers.aws.lock import S3Lock
from scoot_runtime.drivers.aws.naming import Names
from scoot_runtime.drivers.aws.options import OPTION_NAMES, AwsOptions
from scoot_runtime.drivers.aws.refresh import TAGGED, PagedReads
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.base import (
    Address,
    CheckFailure,
    CloudDriver,
    Created,
    DiffResult,
    DriverContext,
    LockScope,
    LogLine,
    ObjectSpec,
    Observed,
    ReadResult,
    Recorded,
    SharedLock,
    SwitchOver,
)

# How often `scoot logs -f` asks EC2 for the consoles again.
FOLLOW_SECONDS = 5.0
# Keys of a storage that cannot change in place: a bucket does not become a table.
_STORAGE_REPLACE = frozenset({"engine"})


SKIPPED_NOTE = (
    "[scoot: EC2 dropped console output here before it could be read; lines are missing. "
    "The console keeps only its newest 64 KiB]"
)


def new_lines(before: list[str], now: list[str]) -> tuple[list[str], bool]:
    """The lines of the console window `now` that follow the window `before`, and whether
    lines were lost in between (the window slid past all of `before`).

    The windows overlap where the longest tail of `before` is the head of `now`."""
    for size in range(min(len(before), len(now)), 0, -1):
        if before[-size] == now[0] and before[-size:] == now[:size]:
            return now[size:], False
    return now, True


class AwsDriver(CloudDriver):
    """Runs an architecture on AWS: EC2, S3, DynamoDB, IAM."""

    name: ClassVar[str] = "aws"
    # AWS's API rate limits are per account and region; throttled calls are retried
    # with backoff (botocore's adaptive mode), and this keeps the bursts modest.
    parallelism: ClassVar[int | None] = 16
    kinds: ClassVar[frozenset[str]] = frozenset({"compute", "storage", "connection"})
    engines: ClassVar[tuple[str, ...]] = storage.ENGINES
    option_names: ClassVar[frozenset[str]] = OPTION_NAMES
    # A move re-tags and keeps every name (a store's bucket or table, a compute's role,
    # group, parameter: see `naming`), so no instance is touched; a connection's policy
    # is renamed. A compute is imported by its instances' ids (see `compute_moves`).
    movable: ClassVar[frozenset[str]] = frozenset({"storage", "compute", "connection"})
    adoptable: ClassVar[frozenset[str]] = frozenset({"storage", "compute"})
    # A compute is replaced new instances first; a store of another engine is another
    # service's resource, made after the old one is deleted (its data kept unless asked).
    replaceable: ClassVar[frozenset[str]] = frozenset({"compute"})

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.options = AwsOptions.parse(context.options)
        self.aws = Aws(self.options, pool_size=(self.parallelism or 16) * 2)
        names = Names(context.application, context.lineage)
        self.names = names
        roles = Roles(self.aws, names)
        self.artifacts = Artifacts(self.aws, names)
        self._compute = compute.ComputeObjects(self.aws, names, self.options, self.artifacts, roles)
        self._storage = storage.StorageObjects(self.aws, names)
        self._connection = connection.ConnectionObjects(self.aws, names, roles, self._compute.network)
        self._paged = PagedReads(self.aws, names, self._compute, self._storage, self._connection)

    def check(self, spec: ObjectSpec) -> list[CheckFailure]:
        failures = super().check(spec)
        # A compute has no rules of its own here: every replica is an instance of its own, all on `port`.
        if spec.kind == "storage":
            failures += storage.problems(spec.config)
        return failures

    def diff(self, spec: ObjectSpec, recorded: Recorded) -> DiffResult:
        """The configuration's changed keys, and for a compute the target options changed
        since it was applied, by name (`instance_type`, `ingress_cidr`, ...)."""
        result = super().diff(spec, recorded)
        if spec.kind == "storage":
            return DiffResult(result.changed, tuple(k for k in result.changed if k in _STORAGE_REPLACE))
        if spec.kind != "compute":
            return result
        applied = compute.recorded_options(recorded)
        wanted = compute.target_options(self.options)
        # A record made before the options were recorded: `read` compares them instead.
        options = [k for k in compute.TARGET_OPTIONS if applied is not None and applied[k] != wanted[k]]
        changed = (*result.changed, *(k for k in options if k not in result.changed))
        if not set(changed) - compute.NOT_ROLLING:
            # `replicas` keeps replica 0 (whose address is `host`); `health` and
            # `ingress_cidr` change no instance.
            return DiffResult(changed)
        # A roll: new instances, so a new `host`; `port` and `url` only if the port changed,
        # or `url` if it is not yet its load balancer's (a compute made before it had one).
        behind = "load_balancer" in recorded.identity
        outputs = ("host", "port", "url") if "port" in changed else ("host",) if behind else ("host", "url")
        return DiffResult(changed, outputs=outputs)

    async def create(self, spec: ObjectSpec) -> Created:
        if spec.kind == "compute":
            return await self._compute.create(spec)
        if spec.kind == "storage":
            return await self._storage.create(spec)
        self._kind(spec)
        return await self._connection.create(spec)

    async def read(self, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        if spec.kind == "compute":
            return await self._compute.read(spec, recorded)
        if spec.kind == "storage":
            return await self._storage.read(spec, recorded)
        self._kind(spec)
        return await self._connection.read(spec, recorded)

    async def read_many(
        self, reads: Sequence[tuple[ObjectSpec, Recorded | None]], parallelism: int | None = None
    ) -> dict[Address, ReadResult]:
        """The refresh in pages: one listing per service for all the reads (see `refresh`)."""
        return await self._paged.read_many(reads, parallelism or self.parallelism or 16)

    async def inventory(self) -> Mapping[str, str]:
        """What the Tagging API lists of this state; the listing (of the types the refresh
        reads tags of too) also serves the refresh that follows (see `refresh`)."""
        resources = await tagged(self.aws, self.names, {*KINDS, *TAGGED})
        self._paged.tagged = resources
        return listed(resources, self.names)

    async def update(self, spec: ObjectSpec, recorded: Recorded) -> Created:
        if spec.kind == "compute":
            return await self._compute.update(spec, recorded)
        if spec.kind == "storage":
            return await self._storage.update(spec, recorded)
        self._kind(spec)
        return await self._connection.update(spec, recorded)

    async def replace(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> Created:
        """A compute's replacement rolls as its update does, new instances first (the other
        kinds are deleted, then created: see `replaceable`)."""
        return await self._compute.replace(spec, recorded)

    async def replace_switching(
        self, spec: ObjectSpec, recorded: Recorded, delete_data: bool, switch_over: SwitchOver
    ) -> Created:
        """A compute's old instances are drained and terminated only after the switch-over
        (what uses it updated to the new instances' outputs), and kept if one could not be."""
        return await self._compute.replace(spec, recorded, switch_over)

    async def move(self, spec: ObjectSpec, recorded: Recorded, source: Address) -> Created:
        if spec.kind == "storage":
            return await self._storage.move(spec, recorded, source)
        if spec.kind == "compute":
            return await compute_moves.move(self._compute, spec, recorded, source)
        self._kind(spec)
        return await self._connection.move(spec, recorded, source)

    def moved_outputs(self, kind: str, outputs: Mapping[str, Any]) -> Collection[str]:
        """None: a store keeps its name (so its URL), a compute its instances (so its host)."""
        return ()

    async def adopt(self, spec: ObjectSpec, resource_id: str) -> Created:
        """A bucket or table by its name; a compute's instances by their ids, one per replica,
        comma-separated (see `compute_moves`)."""
        if spec.kind == "storage":
            return await self._storage.adopt(spec, resource_id)
        if spec.kind == "compute":
            return await compute_moves.adopt(self._compute, spec, resource_id)
        return await super().adopt(spec, resource_id)

    async def delete(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> None:
        if spec.kind == "compute":
            await self._compute.delete(spec, recorded)
        elif spec.kind == "storage":
            await self._storage.delete(spec, recorded, delete_data)
        else:
            self._kind(spec)
            await self._connection.delete(spec, recorded)

    async def logs(
        self, address: Address, recorded: Recorded | None, *, replica: int | None = None, follow: bool = False
    ) -> AsyncIterator[LogLine]:
        """What a compute's instances printed: their EC2 console output, by instance id.

        EC2 keeps the newest 64 KiB of each console, refreshed every few minutes;
        `follow` asks again every `FOLLOW_SECONDS` and prints the lines that are new:
        those after where the last window printed ends. Once the console is full the
        window slides (old lines drop off the front); when it slid past everything
        printed before, a note says lines were missed, and the whole window follows.
        """
        if recorded is None:
            raise AwsDriverError(f"`{address}` is not applied on this target: run `scoot apply` first")
        if recorded.kind != "compute":
            raise AwsDriverError(f"`{address}` is a {recorded.kind}; only compute objects write logs")
        printed: dict[str, list[str]] = {}  # per instance, the last window printed
        while True:
            consoles = await self._compute.logs(recorded)
            for number, (instance, text) in enumerate(consoles.items()):
                if replica is not None and number != replica:
                    continue
                lines = text.splitlines()
                before = printed.get(instance)
                if before is None or not lines:
                    new, gap = lines, False
                else:
                    new, gap = new_lines(before, lines)
                if gap:
                    yield LogLine(instance, SKIPPED_NOTE)
                for line in new:
                    yield LogLine(instance, line)
                if lines:
                    printed[instance] = lines
            if not follow:
                return
            await asyncio.sleep(FOLLOW_SECONDS)

    async def close(self) -> None:
        self.aws.close()

    @classmethod
    def shared_lock(cls, scope: LockScope) -> SharedLock | None:
        """An S3 object every clone of the application takes (see `lock`)."""
        return S3Lock(scope)

    def _kind(self, spec: ObjectSpec) -> str:
        if spec.kind not in self.kinds:
            raise AwsDriverError(f"{spec.address}: the aws driver has no `{spec.kind}` objects")
        return spec.kind
