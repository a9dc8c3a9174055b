"""Where instances run (the VPC, a subnet) and the security group that opens a compute's port."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from scoot_runtime.drivers.aws.errors import AwsDriverError, error_code
from scoot_runtime.drivers.aws.naming import (
    COMPONENT_TAG,
    LINEAGE_TAG,
    NAMED_TAG,
    OBJECT_TAG,
    Names,
    tag_list,
    tag_map,
)
from scoot_runtime.drivers.aws.options import AwsOptions
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.base import Address


def _rule(permission: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        permission.get("IpProtocol"),
        permission.get("FromPort"),
        permission.get("ToPort"),
        tuple(sorted(r["CidrIp"] for r in permission.get("IpRanges", ()))),
        tuple(sorted(r["CidrIpv6"] for r in permission.get("Ipv6Ranges", ()))),
        tuple(sorted(str(g.get("GroupId")) for g in permission.get("UserIdGroupPairs", ()))),
    )


def wanted_ingress(port: int | None, cidr: str, group_id: str | None = None) -> list[dict[str, Any]]:
    """The ingress a compute's group should have: `port` (TCP) from `cidr` and from the
    group itself (its load balancer is in it: see `balancer`), or nothing."""
    if port is None:
        return []
    rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if group_id is not None:
        rule["UserIdGroupPairs"] = [{"GroupId": group_id}]
    if ipaddress.ip_network(cidr).version == 6:
        rule["Ipv6Ranges"] = [{"CidrIpv6": cidr}]
    else:
        rule["IpRanges"] = [{"CidrIp": cidr}]
    return [rule]


def same_ingress(current: Iterable[Mapping[str, Any]], wanted: Iterable[Mapping[str, Any]]) -> bool:
    return sorted(map(_rule, current), key=repr) == sorted(map(_rule, wanted), key=repr)


def describe_ingress(permissions: Iterable[Mapping[str, Any]]) -> str:
    """`tcp 8080 from 0.0.0.0/0`, `; `-separated, or `nothing`: what a group lets in."""
    described = []
    for protocol, low, high, v4, v6, groups in sorted(map(_rule, permissions), key=repr):
        what = "all traffic" if protocol in ("-1", None) else str(protocol)
        if protocol not in ("-1", None) and low is not None:
            what += f" {low}" if low == high else f" {low}-{high}"
        sources = ", ".join((*v4, *v6, *groups)) or "nowhere"
        described.append(f"{what} from {sources}")
    return "; ".join(described) or "nothing"


class Network:
    def __init__(self, aws: Aws, names: Names, options: AwsOptions) -> None:
        self.aws = aws
        self.names = names
        self.options = options
        self._vpc: str | None = None

    async def vpc(self) -> str:
        """The VPC of the target's `subnet_id`, or the region's default VPC."""
        if self._vpc is None:
            if self.options.subnet_id:
                found = await self.aws.call("ec2", "describe_subnets", SubnetIds=[self.options.subnet_id])
                self._vpc = str(found["Subnets"][0]["VpcId"])
            else:
                found = await self.aws.call(
                    "ec2", "describe_vpcs", Filters=[{"Name": "is-default", "Values": ["true"]}]
                )
                if not found.get("Vpcs"):
                    raise AwsDriverError(
                        f"the region {self.aws.region} has no default VPC: set `subnet_id` in the "
                        "target's table of scoot.toml"
                    )
                self._vpc = str(found["Vpcs"][0]["VpcId"])
        return self._vpc

    async def find_group(self, address: Address, named: Address) -> dict[str, Any] | None:
        """The compute's security group (named after `named`), if there is one, in any VPC,
        tagged as `address`'s."""
        for group in await self._named(named):
            if self.names.owns(tag_map(group.get("Tags")), address):
                return group
        return None

    async def taken(self, address: Address, named: Address) -> bool:
        """Whether a group named after `named` is there and not `address`'s (moved away)."""
        return any(not self.names.owns(tag_map(g.get("Tags")), address) for g in await self._named(named))

    async def named_after(self, address: Address) -> Address | None:
        """The naming address of the compute at `address`, read from the security group
        tagged as its own: None if there is none."""
        tags = {k: v for k, v in self.names.tags(address).items() if k in (LINEAGE_TAG, COMPONENT_TAG, OBJECT_TAG)}
        found = await self.aws.call(
            "ec2",
            "describe_security_groups",
            Filters=[{"Name": f"tag:{k}", "Values": [v]} for k, v in sorted(tags.items())],
        )
        for group in found.get("SecurityGroups", ()):
            named = tag_map(group.get("Tags")).get(NAMED_TAG)
            return Address.parse(named) if named and "." in named else address
        return None

    async def retag(self, address: Address, named: Address) -> str | None:
        """Tag the group named after `named` as the compute `address`'s (a move); its id."""
        for group in await self._named(named):
            if not self.names.owns(tag_map(group.get("Tags"))):
                raise AwsDriverError(
                    f"{address}: the security group {group['GroupId']} was not made by this scoot state; "
                    "scoot does not touch it"
                )
            owner = self.names.owner_tags(address, named, Name=self.names.security_group(named))
            await self.aws.call("ec2", "create_tags", Resources=[group["GroupId"]], Tags=tag_list(owner))
            return str(group["GroupId"])
        return None

    async def _named(self, named: Address) -> list[dict[str, Any]]:
        found = await self.aws.call(
            "ec2",
            "describe_security_groups",
            Filters=[{"Name": "group-name", "Values": [self.names.security_group(named)]}],
        )
        return [dict(g) for g in found.get("SecurityGroups", ())]

    async def ensure_group(self, address: Address, named: Address, port: int | None) -> str:
        """The compute's security group, opening `port` (TCP) to `ingress_cidr`; its id."""
        group = await self.find_group(address, named)
        if group is None:
            name = self.names.security_group(named)
            try:
                made = await self.aws.call(
                    "ec2",
                    "create_security_group",
                    GroupName=name,
                    Description=f"scoot: compute {address} of {self.names.application}",
                    VpcId=await self.vpc(),
                    TagSpecifications=[
                        {"ResourceType": "security-group", "Tags": tag_list(self.names.owner_tags(address, named, Name=name))}
                    ],
                )
            except AwsDriverError as error:
                if error_code(error) == "InvalidGroup.Duplicate":
                    raise AwsDriverError(
                        f"{address}: a security group named {name} exists and was not made by this "
                        "scoot state; scoot does not touch it"
                    ) from None
                raise
            group = {"GroupId": made["GroupId"], "IpPermissions": []}
        group_id = str(group["GroupId"])
        wanted = wanted_ingress(port, self.options.ingress_cidr, group_id)
        current = list(group.get("IpPermissions", ()))
        if not same_ingress(current, wanted):
            if current:
                await self.aws.call("ec2", "revoke_security_group_ingress", GroupId=group_id, IpPermissions=current)
            if wanted:
                await self.aws.call("ec2", "authorize_security_group_ingress", GroupId=group_id, IpPermissions=wanted)
        return group_id
