"""`compute` objects: EC2 instances, one per replica, running the component's source.

Per compute the driver makes:

- an IAM role and instance profile (see `iam`), which connections add policies to;
- a security group opening `port` (TCP) to the target's `ingress_cidr`;
- an SSM SecureString parameter with the command and the environment (see `launch`);
- the source archive in the application's artifact bucket (see `artifacts`);
- `replicas` instances, each booting with user data that fetches the archive and
  starts the command under systemd;
- with a `port`, an Application Load Balancer in front of them (see `balancer`).

Identity: `{"instances": [ids, by replica], "security_group", "role", "options", "named"}`,
`named` the naming address its role, group, parameter and archives are named after
(see `naming`; moves and imports: `compute_moves`), and
`options` the target options the compute was applied with (`TARGET_OPTIONS`):
`diff` names the ones changed since (`instance_type`, `ingress_cidr`, ...), and
`read` reports as drift instances or a security group that no longer match them.
Outputs: `host` (replica 0's public address, else its private one), and with a
`port`, `port` and `url` (the load balancer's, `http://dns:port`).

Instances carry a `scoot:generation` tag: a digest of what they run (the
configuration's digests but `replicas` and `health`, the source revision, the
image, the instance type, the subnet, the key pair). An update keeps the
instances of the current generation (that still are what the options say) and
launches only the replicas missing (a change of `replicas`, or a replica
terminated behind scoot's back, touches nothing else); any other change rolls
them, `max_unavailable` replicas at a time: a batch's new instances are running
and healthy in the load balancer before the old ones of those replicas leave it
(drained); the old ones are terminated once every batch is healthy. A roll that
fails takes the new ones out and terminates them, puts the drained old ones back,
and gives the old ones their launch parameter and port (`PreviousVersionKept`). A change of `ingress_cidr` (or `health`) rolls nothing: the security
group's rule is replaced in place.

A replacement (`--replace`) keeps no instance. Through the runtime's switch-over
(`replace`'s `switch_over`) every new instance runs, healthy in the balancer, beside
every old one, which still serves; what depends on the compute is updated to the new
outputs (a new `host`), and only then are the old instances drained and terminated.
If one of those could not be updated, the old instances keep running for it,
unrecorded: `read` reports them as drift, and the next update terminates them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scoot_runtime.drivers.aws.artifacts import Artifacts
from scoot_runtime.drivers.aws.balancer import Balancers, Found
from scoot_runtime.drivers.aws.errors import AwsDriverError, error_code
from scoot_runtime.drivers.aws.iam import Roles, launch_statements
from scoot_runtime.drivers.aws.launch import launch_spec, user_data
from scoot_runtime.drivers.aws.naming import (
    APPLICATION_TAG,
    REPLICA_TAG,
    Names,
    numbered,
    tag_list,
    tag_map,
)
from scoot_runtime.drivers.aws.network import (
    Network,
    describe_ingress,
    same_ingress,
    wanted_ingress,
)
from scoot_runtime.drivers.aws.options import DEFAULT_AMI_PARAMETER, AwsOptions
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.base import (
    Address,
    Created,
    ObjectSpec,
    Observed,
    PreviousVersionKept,
    Recorded,
    SwitchOver,
    model_problems,
)

GENERATION_TAG = "scoot:generation"
PORT_TAG = "scoot:port"
ARTIFACT_TAG = "scoot:artifact"
LIVE_STATES = ("pending", "running")
# Everything but `terminated`: what a delete must terminate and wait for.
NOT_GONE = ("pending", "running", "stopping", "stopped", "shutting-down")
# What does not change what an instance runs.
_NOT_IN_GENERATION = frozenset({"replicas", "health", "max_unavailable"})
# The target options a compute's identity records, and those of them that make new
# instances (in the generation); `ingress_cidr` only changes the security group.
TARGET_OPTIONS = ("instance_type", "ami", "subnet_id", "key_name", "ingress_cidr")
ROLLING_OPTIONS = frozenset({"instance_type", "ami", "subnet_id", "key_name"})
# The configuration keys a change of which keeps the instances (and so the outputs).
NOT_ROLLING = _NOT_IN_GENERATION | (frozenset(TARGET_OPTIONS) - ROLLING_OPTIONS)


def target_options(options: AwsOptions) -> dict[str, str | None]:
    """The target options a compute is made with, as its identity records them."""
    return {name: getattr(options, name) for name in TARGET_OPTIONS}


def recorded_named(recorded: Recorded | None) -> Address | None:
    """The naming address recorded in a compute's identity (see `naming`); None for a
    record made before it was recorded (or no record)."""
    named = recorded.identity.get("named") if recorded is not None else None
    return Address.parse(named) if isinstance(named, str) and "." in named else None


def recorded_options(recorded: Recorded | None) -> dict[str, str | None] | None:
    """The target options recorded in a compute's identity; None for a record made before
    they were recorded (or no record)."""
    found = recorded.identity.get("options") if recorded is not None else None
    if not isinstance(found, Mapping):
        return None
    return {name: None if found.get(name) is None else str(found.get(name)) for name in TARGET_OPTIONS}


@dataclass(frozen=True)
class Facts:
    """What `read` found of a compute: its naming address, its live instances, its security
    group (as EC2 describes it), whether its role and launch parameter are there, and its
    load balancer (None: not both of balancer and target group are there)."""

    named: Address
    instances: Sequence[Instance]
    group: Mapping[str, Any] | None
    role: bool
    parameter: bool
    balancer: Found | None


@dataclass(frozen=True)
class _Previous:
    """What a roll must give back to the version it replaces if it fails."""

    parameter: str | None  # the launch spec (may hold secrets: in memory only)
    port: int | None

    def __repr__(self) -> str:  # never the launch spec
        return f"_Previous(port={self.port})"


@dataclass(frozen=True)
class Instance:
    id: str
    replica: int
    state: str
    host: str | None
    generation: str
    port: int | None
    artifact: str | None
    instance_type: str | None = None
    image: str | None = None
    subnet: str | None = None
    key_name: str | None = None

    @classmethod
    def of(cls, found: Mapping[str, Any]) -> Instance:
        tags = tag_map(found.get("Tags"))
        port = tags.get(PORT_TAG)
        replica = tags.get(REPLICA_TAG, "0")
        return cls(
            id=str(found["InstanceId"]),
            replica=int(replica) if replica.isdigit() else 0,
            state=str(found.get("State", {}).get("Name", "")),
            host=found.get("PublicIpAddress") or found.get("PrivateIpAddress"),
            generation=tags.get(GENERATION_TAG, ""),
            port=int(port) if port and port.isdigit() else None,
            artifact=tags.get(ARTIFACT_TAG),
            instance_type=found.get("InstanceType"),
            image=found.get("ImageId"),
            subnet=found.get("SubnetId"),
            key_name=found.get("KeyName") or None,
        )

    def differences(self, options: Mapping[str, str | None]) -> list[str]:
        """How the instance differs from what the target options make (none: [])."""
        found: list[str] = []
        if self.instance_type is not None and self.instance_type != options.get("instance_type"):
            found.append(f"is a {self.instance_type}, not a {options.get('instance_type')}")
        # With no `ami`, the latest Amazon Linux: an instance of an older one is no difference.
        if options.get("ami") is not None and self.image != options.get("ami"):
            found.append(f"runs the image {self.image}, not {options.get('ami')}")
        if options.get("subnet_id") is not None and self.subnet != options.get("subnet_id"):
            found.append(f"is in the subnet {self.subnet}, not {options.get('subnet_id')}")
        if self.key_name != options.get("key_name"):
            found.append(f"has the key pair {self.key_name or '(none)'}, not {options.get('key_name') or '(none)'}")
        return found


def _ordered(instances: Sequence[Instance]) -> list[Instance]:
    return sorted(instances, key=lambda i: (i.replica, i.id))


def _port(configured: Any, recorded: Recorded | None, instances: Sequence[Instance]) -> int | None:
    """The port a compute was applied with: as configured, else (a reference) as recorded."""
    if isinstance(configured, int) and not isinstance(configured, bool):
        return configured
    if configured is None:
        return None
    port = recorded.outputs.get("port") if recorded is not None else None
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    return instances[0].port if instances else None


class ComputeObjects:
    def __init__(self, aws: Aws, names: Names, options: AwsOptions, artifacts: Artifacts, roles: Roles) -> None:
        self.aws = aws
        self.names = names
        self.options = options
        self.artifacts = artifacts
        self.roles = roles
        self.network = Network(aws, names, options)
        self.balancers = Balancers(aws, names, options)
        self._ami: str | None = options.ami

    # --- the operations --------------------------------------------------------------

    async def create(self, spec: ObjectSpec) -> Created:
        return await self._converge(spec, None)

    async def update(self, spec: ObjectSpec, recorded: Recorded) -> Created:
        return await self._converge(spec, recorded)

    async def replace(self, spec: ObjectSpec, recorded: Recorded, switch_over: SwitchOver | None = None) -> Created:
        """A replacement (`--replace`): a roll that keeps no instance, new ones running
        before the old ones go, and the old ones serving if the new ones fail.

        With `switch_over`, every new instance runs (and is healthy in the balancer) beside
        every old one, which stays in the balancer; `switch_over` is awaited then, and only
        if it answers True are the old ones drained and terminated. If it answers False (a
        dependant still uses them), they are left running, unrecorded: `read` says so as
        drift, and the next update terminates them."""
        return await self._converge(spec, recorded, anew=True, switch_over=switch_over)

    async def read(self, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        address = spec.address
        named = await self._named(address, recorded)
        instances, group, role, parameter, balancer = await asyncio.gather(
            self.instances(address, LIVE_STATES),
            self.network.find_group(address, named),
            self.roles.exists(address, named),
            self.parameter_exists(address, named),
            self.balancers.find(address, named),
        )
        facts = Facts(named, instances, group, role, parameter, balancer)
        return await self.observe(spec, recorded, facts, self.artifacts.exists)

    async def observe(
        self, spec: ObjectSpec, recorded: Recorded | None, facts: Facts, artifact_exists: Callable[[str], Awaitable[bool]]
    ) -> Observed | None:
        """What `read` says of the compute, from what was found of it (by its own calls, or
        by a refresh in pages: `refresh`)."""
        named, instances, group, role, parameter, balancer = (
            facts.named, list(facts.instances), facts.group, facts.role, facts.parameter, facts.balancer
        )
        if not instances and group is None and not role and not parameter:
            return None
        instances = _ordered(instances)
        group_id = str(group["GroupId"]) if group is not None else None
        # What the instances and the group should be: as recorded (a change of the target's
        # options since is `diff`'s to report), or as the target says for a record made
        # before the options were recorded, or none.
        options = recorded_options(recorded) or target_options(self.options)
        drift: list[str] = []
        if recorded is not None:
            found = {i.id for i in instances}
            ours = recorded.identity.get("instances") or ()
            for replica, instance_id in enumerate(ours):
                if instance_id not in found:
                    drift.append(f"instance {instance_id} (replica {replica}) is not running")
            # An old version a replacement kept for a dependant that could not switch over
            # (or an interrupted roll's): the next update terminates it.
            drift += [
                f"instance {i.id} (replica {i.replica}) runs, which the state does not record "
                "(an old version kept for what still used it, or an interrupted roll)"
                for i in instances
                if ours and i.id not in ours
            ]
            if recorded.identity.get("security_group") not in (None, group_id):
                drift.append(f"security group {recorded.identity.get('security_group')} is gone")
        if not instances:
            drift.append("no instance is running")
        if recorded is not None and not recorded.identity.get("role") and group is None and not role:
            # Imported: only its instances are scoot's so far.
            drift.append("it has no security group, IAM role or launch parameter of scoot's yet (imported)")
        else:
            if group is None:
                drift.append("its security group is gone")
            if not role:
                drift.append("its IAM role is gone")
            if not parameter:
                drift.append("its launch parameter is gone")
        generations = {i.generation for i in instances}
        if len(generations) > 1:
            drift.append("instances of different generations run (an interrupted roll)")
        for instance in instances:
            if not instance.generation:
                drift.append(
                    f"instance {instance.id} (replica {instance.replica}) was not launched by scoot: "
                    "the next apply replaces it"
                )
            drift += [f"instance {instance.id} (replica {instance.replica}) {d}" for d in instance.differences(options)]
        if group is not None:
            port = _port(spec.config.get("port"), recorded, instances)
            wanted = wanted_ingress(port, str(options["ingress_cidr"] or self.options.ingress_cidr), group_id)
            current = list(group.get("IpPermissions", ()))
            if not same_ingress(current, wanted):
                drift.append(
                    f"its security group {group_id} lets in {describe_ingress(current)}, "
                    f"not {describe_ingress(wanted)}"
                )
        artifact = instances[0].artifact if instances else None
        if artifact and not await artifact_exists(artifact):
            drift.append(f"its source archive {artifact} is gone")
        port = instances[0].port if instances else None
        if port is not None and balancer is None:
            drift.append("its load balancer or target group is gone")
        return Observed(
            self.identity(instances, group_id, self.names.role(named) if role else None, options, named, balancer),
            self.outputs(instances, port, balancer),
            tuple(drift),
        )

    async def delete(self, spec: ObjectSpec, recorded: Recorded) -> None:
        address = spec.address
        named = await self._named(address, recorded)
        await self.balancers.delete(address, named)
        instances = await self.instances(address, NOT_GONE)
        await self._terminate([i.id for i in instances], address)
        group = await self.network.find_group(address, named)
        if group is not None:
            await self._delete_group(str(group["GroupId"]), address)
        await self.roles.delete(address, named)
        if await self.parameter_exists(address, named):
            await self.aws.maybe("ssm", "delete_parameter", Name=self.names.parameter(named))
        await self.artifacts.remove(named)

    async def logs(self, recorded: Recorded) -> dict[str, str]:
        """The console output of each recorded instance (boot, then the command's output)."""
        result: dict[str, str] = {}
        for instance in recorded.identity.get("instances") or ():
            found = await self.aws.maybe("ec2", "get_console_output", InstanceId=str(instance), Latest=True)
            text = (found or {}).get("Output") or ""
            try:
                result[str(instance)] = base64.b64decode(text, validate=True).decode("utf-8", "replace")
            except binascii.Error:
                result[str(instance)] = str(text)
        return result

    # --- converging ------------------------------------------------------------------

    async def _converge(
        self, spec: ObjectSpec, recorded: Recorded | None, *, anew: bool = False, switch_over: SwitchOver | None = None
    ) -> Created:
        address, config = spec.address, spec.config
        # The resolved configuration: a reference's value is judged here, once known.
        failures = model_problems("compute", config)
        if failures:
            raise AwsDriverError(f"{address}: " + "; ".join(f.message for f in failures))
        if spec.source is None:
            raise AwsDriverError(f"{address}: a compute needs its component's source to run")
        port = config.get("port") if isinstance(config.get("port"), int) else None
        replicas = int(config.get("replicas", 1))
        batch = int(config.get("max_unavailable", 1))
        generation = self._generation(spec)
        named = await self._named(address, recorded) if recorded is not None else await self._free_name(address)
        parameter = self.names.parameter(named)
        launch = launch_statements(self.artifacts.bucket, Artifacts.prefix(named), self.aws.region, parameter)
        existing = _ordered(await self.instances(address, LIVE_STATES))
        previous = await self._previous(named, recorded, existing)
        launched: list[str] = []
        drained: list[str] = []
        balancer: Found | None = None
        try:
            role, group_id, key, ami, _ = await asyncio.gather(
                self.roles.ensure(address, named, launch),
                self.network.ensure_group(address, named, port),
                self.artifacts.upload(named, spec.source, spec.revision),
                self._image(),
                self._put_parameter(address, named, launch_spec(config)),
            )
            if port is not None:
                balancer = await self.balancers.ensure(
                    address, named, port, config.get("health"), group_id, await self.network.vpc()
                )
                # What serves now serves through the balancer (a balancer made anew, or lost).
                serving = [i for i in existing if i.state == "running" and i.port in (None, port)]
                await self.balancers.join(balancer, [i.id for i in serving], port)
            options = target_options(self.options)
            kept: dict[int, Instance] = {}
            # The recorded instance of a replica first: one left beside it (an old version a
            # switch-over kept, an interrupted roll) is the one that goes.
            ours = {str(i) for i in (recorded.identity.get("instances") or ())} if recorded is not None else set()
            for instance in sorted(existing, key=lambda i: i.id not in ours):
                # An instance changed behind scoot's back (another type, say) is replaced too.
                same = instance.generation == generation and not instance.differences(options)
                if same and not anew and instance.replica < replicas:
                    kept.setdefault(instance.replica, instance)
            missing = [r for r in range(replicas) if r not in kept]
            # `max_unavailable` replicas at a time: each batch's new instances are running and
            # healthy in the balancer before the old ones of those replicas leave it (drained).
            # The old ones are terminated once the whole roll is healthy, so a batch that fails
            # puts every old one back in the balancer.
            for first in range(0, len(missing), batch):
                wave = missing[first : first + batch]
                results = await asyncio.gather(
                    *(self._launch(address, named, r, role, group_id, ami, key, generation, port) for r in wave),
                    return_exceptions=True,
                )
                ids = [r for r in results if isinstance(r, str)]
                launched += ids
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
                await self._wait_running(ids, address)
                if balancer is not None and port is not None:
                    await self.balancers.register(balancer, ids, port)
                    await self.balancers.wait_healthy(address, balancer, ids, config.get("health"), port)
                    if switch_over is None:  # else the old ones serve beside until the switch-over
                        old = [i.id for i in existing if i.replica in wave and kept.get(i.replica) is not i]
                        drained += old
                        await self.balancers.drain(address, balancer, old)
            current = await self._wait_running([*(i.id for i in kept.values()), *launched], address)
        except Exception as error:
            # The old instances were not terminated: the new ones go, the old ones serve again.
            undone = await self._undo(address, named, launched, previous, port, balancer, drained)
            if previous is None or undone:
                if undone:
                    raise AwsDriverError(
                        f"{error}\nand putting the previous version back failed: {'; '.join(undone)}"
                    ) from None
                raise
            raise PreviousVersionKept(address, str(error)) from None
        made = Created(
            self.identity(current, group_id, role, options, named, balancer), self.outputs(current, port, balancer)
        )
        if switch_over is not None and not await switch_over(made):
            # What could not take the new outputs still uses the old instances (and their
            # archive): they keep running, unrecorded, until the next update.
            return made
        keep = {i.id for i in current}
        leaving = [i.id for i in existing if i.id not in keep]
        if balancer is not None:
            await self.balancers.drain(address, balancer, [i for i in leaving if i not in drained])
        await self._terminate(leaving, address, wait=False)
        await self.artifacts.remove(named, keep=key)
        return made

    async def _previous(
        self, named: Address, recorded: Recorded | None, existing: Sequence[Instance]
    ) -> _Previous | None:
        """What the recorded version runs with, if it serves (every recorded instance is
        live): its launch parameter (held in memory: it may hold secrets) and its port."""
        ids = [str(i) for i in (recorded.identity.get("instances") or ())] if recorded is not None else []
        if not ids or not set(ids) <= {i.id for i in existing}:
            return None
        found = await self.aws.maybe(
            "ssm", "get_parameter", Name=self.names.parameter(named), WithDecryption=True
        )
        value = (found or {}).get("Parameter", {}).get("Value")
        serving = [i for i in existing if i.id in ids]
        return _Previous(value if isinstance(value, str) else None, serving[0].port)

    async def _undo(
        self,
        address: Address,
        named: Address,
        launched: Sequence[str],
        previous: _Previous | None,
        port: int | None,
        balancer: Found | None,
        drained: Sequence[str],
    ) -> list[str]:
        """Take the instances a failed roll launched out of the balancer and terminate them,
        put back in it the old ones a batch drained, and, if the previous version serves,
        give it back its launch parameter (read at each start of its command) and its
        port; what could not be undone."""
        failed: list[str] = []
        steps: list[tuple[str, Awaitable[Any]]] = []
        if balancer is not None:
            steps.append(("taking the new instances out of the load balancer", self.balancers.drain(address, balancer, launched)))
            if previous is not None and previous.port is not None:
                steps.append(("putting the old instances back in the load balancer", self.balancers.register(balancer, drained, previous.port)))
                if previous.port != port:
                    steps.append(("moving its listener back", self.balancers.listen(balancer, previous.port)))
        steps.append(("terminating the new instances", self._terminate(launched, address)))
        if previous is not None and previous.parameter is not None:
            steps.append(("restoring its launch parameter", self._put_parameter(address, named, previous.parameter)))
        if previous is not None and previous.port != port:
            steps.append(("reopening its port", self.network.ensure_group(address, named, previous.port)))
        for what, step in steps:
            try:
                await step
            except Exception as error:  # each step is tried: one failing does not stop the others
                failed.append(f"{what}: {error}")
        return failed

    def _generation(self, spec: ObjectSpec) -> str:
        parts = {k: v for k, v in sorted(spec.digests.items()) if k not in _NOT_IN_GENERATION}
        what = [
            repr(sorted(parts.items())),
            spec.revision or "",
            self.options.ami or DEFAULT_AMI_PARAMETER,
            self.options.instance_type,
            self.options.subnet_id or "",
            self.options.key_name or "",
        ]
        return hashlib.sha256("\0".join(what).encode()).hexdigest()[:16]

    async def _image(self) -> str:
        if self._ami is None:
            found = await self.aws.call("ssm", "get_parameter", Name=DEFAULT_AMI_PARAMETER)
            self._ami = str(found["Parameter"]["Value"])
        return self._ami

    async def _put_parameter(self, address: Address, named: Address, value: str) -> None:
        name = self.names.parameter(named)
        await self.aws.call(
            "ssm",
            "put_parameter",
            Name=name,
            Value=value,
            Type="SecureString",
            Overwrite=True,
            Tier="Intelligent-Tiering",
            Description=f"scoot: command and environment of compute {address}",
        )
        await self.aws.call(
            "ssm",
            "add_tags_to_resource",
            ResourceType="Parameter",
            ResourceId=name,
            Tags=tag_list(self.names.owner_tags(address, named)),
        )

    async def parameter_exists(self, address: Address, named: Address) -> bool:
        """Whether the launch parameter named after `named` is there as `address`'s (untagged:
        a put of ours interrupted before it tagged it; its name is this state's own)."""
        name = self.names.parameter(named)
        if await self.aws.maybe("ssm", "get_parameter", Name=name) is None:
            return False
        tags = await self.aws.maybe("ssm", "list_tags_for_resource", ResourceType="Parameter", ResourceId=name)
        found = tag_map((tags or {}).get("TagList"))
        return not found or self.names.owns(found, address)

    async def _launch(
        self,
        address: Address,
        named: Address,
        replica: int,
        role: str,
        group_id: str,
        ami: str,
        key: str,
        generation: str,
        port: int | None,
    ) -> str:
        name = f"{self.names.role(named)}-{replica}"
        tags = self.names.owner_tags(
            address, named, Name=name, **{REPLICA_TAG: str(replica), GENERATION_TAG: generation, ARTIFACT_TAG: key}
        )
        if port is not None:
            tags[PORT_TAG] = str(port)
        arguments: dict[str, Any] = {
            "ImageId": ami,
            "InstanceType": self.options.instance_type,
            "MinCount": 1,
            "MaxCount": 1,
            "UserData": user_data(
                address=str(address),
                region=self.aws.region,
                bucket=self.artifacts.bucket,
                key=key,
                parameter=self.names.parameter(named),
                replica=replica,
            ),
            "IamInstanceProfile": {"Name": role},
            "SecurityGroupIds": [group_id],
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": tag_list(tags)},
                {"ResourceType": "volume", "Tags": tag_list(self.names.owner_tags(address, named, Name=name))},
            ],
        }
        if self.options.subnet_id:
            arguments["SubnetId"] = self.options.subnet_id
        if self.options.key_name:
            arguments["KeyName"] = self.options.key_name
        # A new instance profile takes a few seconds to be usable by EC2.
        deadline = time.monotonic() + 90
        while True:
            try:
                found = await self.aws.call("ec2", "run_instances", **arguments)
                return str(found["Instances"][0]["InstanceId"])
            except AwsDriverError as error:
                retry = error_code(error) == "InvalidParameterValue" and "profile" in str(error).lower()
                if not retry or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(3)

    # --- names -----------------------------------------------------------------------

    async def _named(self, address: Address, recorded: Recorded | None) -> Address:
        """The naming address of the compute at `address` (see `naming`): as recorded, else
        as its security group says, else the address itself."""
        named = recorded_named(recorded)
        if named is None:
            named = await self.network.named_after(address)
        return named or address

    async def _free_name(self, address: Address) -> Address:
        """The naming address for a compute made at `address`: its own, unless what is named
        after it is another compute's, moved away from `address` (then `api.web.2`, …). One
        an interrupted create of this object started is its own again."""
        found = await self.network.named_after(address)
        if found is not None:
            return found
        for number in range(1, 100):
            named = numbered(address, number)
            taken = await asyncio.gather(self.roles.taken(address, named), self.network.taken(address, named))
            if not any(taken):
                return named
        raise AwsDriverError(f"{address}: 99 computes were moved away from this address; no name is left for it")

    # --- instances -------------------------------------------------------------------

    async def instances(self, address: Address, states: Sequence[str]) -> list[Instance]:
        tags = {k: v for k, v in self.names.tags(address).items() if k != APPLICATION_TAG}
        filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]
        filters.append({"Name": "instance-state-name", "Values": list(states)})
        result: list[Instance] = []
        token: str | None = None
        while True:
            page = await self.aws.call(
                "ec2", "describe_instances", Filters=filters, **({"NextToken": token} if token else {})
            )
            for reservation in page.get("Reservations", ()):
                for found in reservation.get("Instances", ()):
                    if self.names.owns(tag_map(found.get("Tags")), address):
                        result.append(Instance.of(found))
            token = page.get("NextToken")
            if not token:
                return result

    async def _describe(self, ids: Sequence[str]) -> list[Instance]:
        if not ids:
            return []
        found = await self.aws.call("ec2", "describe_instances", InstanceIds=list(ids))
        return [Instance.of(i) for r in found.get("Reservations", ()) for i in r.get("Instances", ())]

    async def _wait_running(self, ids: Sequence[str], address: Address) -> list[Instance]:
        deadline = time.monotonic() + self.options.boot_timeout
        while True:
            instances = await self._describe(ids)
            failed = [i for i in instances if i.state not in LIVE_STATES]
            if failed:
                raise AwsDriverError(
                    f"{address}: instance {failed[0].id} (replica {failed[0].replica}) is "
                    f"{failed[0].state} instead of running; see its console output in the EC2 console"
                )
            if len(instances) == len(ids) and all(i.state == "running" for i in instances):
                return _ordered(instances)
            if time.monotonic() > deadline:
                raise AwsDriverError(
                    f"{address}: instances not running after {self.options.boot_timeout:g} s "
                    "(the target's `boot_timeout`)"
                )
            await asyncio.sleep(2)

    async def _terminate(self, ids: Sequence[str], address: Address, wait: bool = True) -> None:
        if not ids:
            return
        await self.aws.call("ec2", "terminate_instances", InstanceIds=list(ids))
        if not wait:
            return
        deadline = time.monotonic() + max(self.options.boot_timeout, 60)
        while any(i.state != "terminated" for i in await self._describe(ids)):
            if time.monotonic() > deadline:
                raise AwsDriverError(f"{address}: instances still not terminated; run the command again")
            await asyncio.sleep(2)

    async def _delete_group(self, group_id: str, address: Address) -> None:
        # A group stays in use for a while after its instances terminate.
        deadline = time.monotonic() + 300
        while True:
            try:
                await self.aws.maybe("ec2", "delete_security_group", GroupId=group_id)
                return
            except AwsDriverError as error:
                if error_code(error) != "DependencyViolation" or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(5)

    # --- results ---------------------------------------------------------------------

    @staticmethod
    def identity(
        instances: Sequence[Instance],
        group_id: str | None,
        role: str | None,
        options: Mapping[str, str | None],
        named: Address,
        balancer: Found | None = None,
    ) -> dict[str, Any]:
        found = {
            "instances": [i.id for i in instances],
            "security_group": group_id,
            "role": role,
            "options": dict(options),
            "named": str(named),
        }
        if balancer is not None:
            found["load_balancer"] = balancer.balancer
        return found

    @staticmethod
    def outputs(instances: Sequence[Instance], port: int | None, balancer: Found | None = None) -> dict[str, Any]:
        """`host` (replica 0's address) and, with a port, `port` and `url`: the load
        balancer's, else (a compute made before it had one) replica 0's."""
        host = instances[0].host if instances else None
        if host is None:
            return {}
        if port is None:
            return {"host": host}
        return {"host": host, "port": port, "url": balancer.url(port) if balancer else f"http://{host}:{port}"}
