"""A compute's Application Load Balancer: one address in front of its replicas, and the
health that gates a roll.

A compute with a `port` gets, named after its naming address (see `naming`) and
tagged like everything else:

- an internet-facing ALB in the VPC's subnets (one per availability zone), in the
  compute's own security group, whose rule lets the group reach itself on `port`
  (see `network.wanted_ingress`): the balancer reaches the instances;
- an HTTP target group on `port`, checking `health` (an HTTP path, answering 200-399),
  or, with no path to check, `/` answering anything but a server error (200-499: the
  process answers); its deregistration delay is the target's `drain_seconds`;
- an HTTP listener on `port` forwarding to the target group.

A move (`retag`) gives all three the new address's tags and keeps their names.

`ensure` finds each by name before making it, so a create interrupted anywhere
converges on the next apply. A roll registers new instances, waits until the target
group says `healthy` (`wait_healthy`, bounded by the target's `health_timeout`), and
`drain`s the old ones (deregistered, then waited for until no longer `draining`)
before they are terminated.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scoot_runtime.drivers.aws.errors import AwsDriverError, error_code
from scoot_runtime.drivers.aws.naming import Names, tag_list, tag_map
from scoot_runtime.drivers.aws.options import AwsOptions
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.base import Address

# How often a wait asks the target group again.
POLL_SECONDS = 2.0
HEALTHY_CODES = "200-399"
ANSWERING_CODES = "200-499"


@dataclass(frozen=True)
class Found:
    """A compute's balancer and target group."""

    balancer: str  # ARN
    dns: str
    target_group: str  # ARN

    def url(self, port: int) -> str:
        return f"http://{self.dns}:{port}"


def health_check(health: Any) -> tuple[str, str]:
    """The path the target group checks and the HTTP codes that pass: a compute's `health`
    path, else `/` answering at all (a `health` command cannot run in a balancer)."""
    if isinstance(health, str) and health.startswith("/"):
        return health, HEALTHY_CODES
    return "/", ANSWERING_CODES


class Balancers:
    def __init__(self, aws: Aws, names: Names, options: AwsOptions) -> None:
        self.aws = aws
        self.names = names
        self.options = options

    # --- finding and making ----------------------------------------------------------

    async def find(self, address: Address, named: Address) -> Found | None:
        """The compute's balancer and target group, if both are there."""
        balancer = await self._balancer(address, named)
        group = await self._target_group(address, named)
        if balancer is None or group is None:
            return None
        return Found(str(balancer["LoadBalancerArn"]), str(balancer["DNSName"]), str(group["TargetGroupArn"]))

    async def ensure(
        self, address: Address, named: Address, port: int, health: Any, group_id: str, vpc: str
    ) -> Found:
        """The compute's balancer, target group and listener, each made if missing, the
        target group's check set to `health`; a listener on another port is moved to `port`."""
        name = self.names.balancer(named)
        tags = tag_list(self.names.owner_tags(address, named, Name=name))
        path, codes = health_check(health)
        group = await self._target_group(address, named)
        if group is None:
            made = await self.aws.call(
                "elbv2",
                "create_target_group",
                Name=name,
                Protocol="HTTP",
                Port=port,
                VpcId=vpc,
                TargetType="instance",
                HealthCheckProtocol="HTTP",
                HealthCheckPath=path,
                HealthCheckIntervalSeconds=10,
                HealthCheckTimeoutSeconds=5,
                HealthyThresholdCount=2,
                UnhealthyThresholdCount=2,
                Matcher={"HttpCode": codes},
                Tags=tags,
            )
            group = made["TargetGroups"][0]
        elif group.get("HealthCheckPath") != path or (group.get("Matcher") or {}).get("HttpCode") != codes:
            await self.aws.call(
                "elbv2",
                "modify_target_group",
                TargetGroupArn=group["TargetGroupArn"],
                HealthCheckPath=path,
                Matcher={"HttpCode": codes},
            )
        group_arn = str(group["TargetGroupArn"])
        await self.aws.call(
            "elbv2",
            "modify_target_group_attributes",
            TargetGroupArn=group_arn,
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(self.options.drain_seconds)}],
        )
        balancer = await self._balancer(address, named)
        if balancer is None:
            made = await self.aws.call(
                "elbv2",
                "create_load_balancer",
                Name=name,
                Subnets=await self._subnets(vpc),
                SecurityGroups=[group_id],
                Scheme="internet-facing",
                Type="application",
                IpAddressType="ipv4",
                Tags=tags,
            )
            balancer = made["LoadBalancers"][0]
        found = Found(str(balancer["LoadBalancerArn"]), str(balancer["DNSName"]), group_arn)
        await self.listen(found, port, tags)
        return found

    async def listen(self, found: Found, port: int, tags: list[dict[str, str]] | None = None) -> None:
        """The balancer's listener on `port`, forwarding to the target group: made if
        missing (tagged `tags`), moved if on another port."""
        listeners = await self.aws.call("elbv2", "describe_listeners", LoadBalancerArn=found.balancer)
        current = list(listeners.get("Listeners", ()))
        forward = [{"Type": "forward", "TargetGroupArn": found.target_group}]
        if not current:
            await self.aws.call(
                "elbv2",
                "create_listener",
                LoadBalancerArn=found.balancer,
                Protocol="HTTP",
                Port=port,
                DefaultActions=forward,
                Tags=tags or [],
            )
        elif current[0].get("Port") != port:
            await self.aws.call(
                "elbv2", "modify_listener", ListenerArn=current[0]["ListenerArn"], Port=port, DefaultActions=forward
            )

    async def retag(self, address: Address, named: Address) -> None:
        """Tag the balancer, its listeners and the target group named after `named` as the
        compute `address`'s (a move); another state's is refused, what is not there skipped."""
        balancer = await self._balancer(address, named)
        group = await self._target_group(address, named)
        arns = [str(found[arn]) for found, arn in ((balancer, "LoadBalancerArn"), (group, "TargetGroupArn")) if found]
        if balancer is not None:
            listeners = await self.aws.call("elbv2", "describe_listeners", LoadBalancerArn=arns[0])
            arns += [str(listener["ListenerArn"]) for listener in listeners.get("Listeners", ())]
        if arns:  # AddTags is documented for one ARN (DescribeTags: up to 20), so one call each
            tags = tag_list(self.names.owner_tags(address, named, Name=self.names.balancer(named)))
            for arn in arns:
                await self.aws.call("elbv2", "add_tags", ResourceArns=[arn], Tags=tags)

    async def delete(self, address: Address, named: Address) -> None:
        """The balancer (its listeners with it), then the target group it used."""
        balancer = await self._balancer(address, named)
        if balancer is not None:
            arn = str(balancer["LoadBalancerArn"])
            await self.aws.maybe("elbv2", "delete_load_balancer", LoadBalancerArn=arn)
            deadline = time.monotonic() + max(self.options.boot_timeout, 60)
            while await self.aws.maybe("elbv2", "describe_load_balancers", LoadBalancerArns=[arn]) is not None:
                if time.monotonic() > deadline:
                    raise AwsDriverError(f"{address}: its load balancer is still being deleted; run the command again")
                await asyncio.sleep(POLL_SECONDS)
        group = await self._target_group(address, named)
        if group is None:
            return
        # A target group stays in use for a moment after its balancer is gone.
        deadline = time.monotonic() + max(self.options.boot_timeout, 60)
        while True:
            try:
                await self.aws.maybe("elbv2", "delete_target_group", TargetGroupArn=group["TargetGroupArn"])
                return
            except AwsDriverError as error:
                if error_code(error) != "ResourceInUse" or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(POLL_SECONDS)

    # --- targets ---------------------------------------------------------------------

    async def register(self, found: Found, ids: Sequence[str], port: int) -> None:
        if ids:
            await self.aws.call(
                "elbv2",
                "register_targets",
                TargetGroupArn=found.target_group,
                Targets=[{"Id": i, "Port": port} for i in ids],
            )

    async def join(self, found: Found, ids: Sequence[str], port: int) -> None:
        """Register those of `ids` the target group does not have (or has as leaving)."""
        states = await self.health(found, ids)
        await self.register(found, [i for i in ids if not _registered(states.get(i) or {})], port)

    async def health(self, found: Found, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """Each instance's `TargetHealth` (`State`, `Reason`, `Description`) in the target group."""
        if not ids:
            return {}
        answer = await self.aws.call(
            "elbv2",
            "describe_target_health",
            TargetGroupArn=found.target_group,
            Targets=[{"Id": i} for i in ids],
        )
        return {
            str(d["Target"]["Id"]): dict(d.get("TargetHealth") or {})
            for d in answer.get("TargetHealthDescriptions", ())
        }

    async def wait_healthy(
        self, address: Address, found: Found, ids: Sequence[str], health: Any, port: int
    ) -> None:
        """Until every one of `ids` is `healthy`; past the target's `health_timeout`, an
        error naming the first that is not, what the balancer says of it, and the check."""
        deadline = time.monotonic() + self.options.health_timeout
        while True:
            states = await self.health(found, ids)
            unhealthy = [i for i in ids if (states.get(i) or {}).get("State") != "healthy"]
            if not unhealthy:
                return
            if time.monotonic() > deadline:
                first = states.get(unhealthy[0]) or {}
                said = first.get("Description") or first.get("Reason") or "no reason given"
                path, codes = health_check(health)
                raise AwsDriverError(
                    f"{address}: instance {unhealthy[0]} is not healthy in its load balancer after "
                    f"{self.options.health_timeout:g} s (the target's `health_timeout`): it is "
                    f"{first.get('State', 'not registered')} ({said}); healthy means HTTP GET {path} "
                    f"on port {port} answering {codes}. See its output with `scoot logs`"
                )
            await asyncio.sleep(POLL_SECONDS)

    async def drain(self, address: Address, found: Found, ids: Sequence[str]) -> None:
        """Take `ids` out of the balancer and wait while it drains their connections (at most
        the deregistration delay, `drain_seconds`); those not registered are skipped."""
        states = await self.health(found, ids)
        registered = [i for i in ids if _registered(states.get(i) or {})]
        if registered:
            await self.aws.call(
                "elbv2",
                "deregister_targets",
                TargetGroupArn=found.target_group,
                Targets=[{"Id": i} for i in registered],
            )
        deadline = time.monotonic() + self.options.drain_seconds + 60
        while any((s or {}).get("State") == "draining" for s in (await self.health(found, ids)).values()):
            if time.monotonic() > deadline:
                raise AwsDriverError(f"{address}: instances still draining from its load balancer; run the command again")
            await asyncio.sleep(POLL_SECONDS)

    # --- lookups ---------------------------------------------------------------------

    async def _balancer(self, address: Address, named: Address) -> dict[str, Any] | None:
        return await self._named("describe_load_balancers", "LoadBalancers", "LoadBalancerArn", address, named)

    async def _target_group(self, address: Address, named: Address) -> dict[str, Any] | None:
        return await self._named("describe_target_groups", "TargetGroups", "TargetGroupArn", address, named)

    async def _named(self, action: str, key: str, arn: str, address: Address, named: Address) -> dict[str, Any] | None:
        """The balancer or target group (both share a name) named after `named`, if any."""
        found = await self.aws.maybe("elbv2", action, Names=[self.names.balancer(named)])
        items = list((found or {}).get(key, ()))
        if not items:
            return None
        await self._check_owned(address, str(items[0][arn]))
        return dict(items[0])

    async def _check_owned(self, address: Address, arn: str) -> None:
        """Refuse a resource with our name made by another state (its lineage tag says so).
        The name holds a digest of the lineage and the naming address, so one of this
        state's is the compute's, whatever address its tags name after a move."""
        answer = await self.aws.call("elbv2", "describe_tags", ResourceArns=[arn])
        descriptions: list[dict[str, Any]] = list(answer.get("TagDescriptions", ()))
        tags = tag_map(descriptions[0].get("Tags") if descriptions else None)
        if tags and not self.names.owns(tags):
            raise AwsDriverError(f"{address}: {arn} was not made by this scoot state; scoot does not touch it")

    async def _subnets(self, vpc: str) -> list[str]:
        """One subnet per availability zone of `vpc` (an ALB needs two zones at least): the
        target's `subnet_id` first, else the default ones."""
        found = await self.aws.call("ec2", "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc]}])
        subnets = sorted(
            found.get("Subnets", ()),
            key=lambda s: (s["SubnetId"] != self.options.subnet_id, not s.get("DefaultForAz"), s["SubnetId"]),
        )
        zones: dict[str, str] = {}
        for subnet in subnets:
            zones.setdefault(str(subnet["AvailabilityZone"]), str(subnet["SubnetId"]))
        if len(zones) < 2:
            raise AwsDriverError(
                f"the VPC {vpc} has subnets in {len(zones)} availability zone(s); a load balancer needs two"
            )
        return list(zones.values())


def _registered(health: Mapping[str, Any]) -> bool:
    """Whether a target is registered and not yet leaving (`unused` may be either: a stopped
    instance is registered, one the group does not know is `Target.NotRegistered`)."""
    return bool(health) and health.get("State") != "draining" and health.get("Reason") != "Target.NotRegistered"
