"""Where instances run (the VPC, a subnet) and the security group that opens a compute's port."""

from __future__ import annotations

from typing import Any

from scoot_runtime.drivers.aws.errors import AwsDriverError, error_code
from scoot_runtime.drivers.aws.naming import Names, tag_list, tag_map
from scoot_runtime.drivers.aws.options import AwsOptions
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.base import Address


def _rule(permission: dict[str, Any]) -> tuple[Any, ...]:
    return (
        permission.get("IpProtocol"),
        permission.get("FromPort"),
        permission.get("ToPort"),
        tuple(sorted(r["CidrIp"] for r in permission.get("IpRanges", ()))),
        tuple(sorted(r["CidrIpv6"] for r in permission.get("Ipv6Ranges", ()))),
        tuple(sorted(str(g.get("GroupId")) for g in permission.get("UserIdGroupPairs", ()))),
    )


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

    async def find_group(self, address: Address) -> dict[str, Any] | None:
        """The compute's security group, if there is one (by name, in any VPC), tagged as ours."""
        found = await self.aws.call(
            "ec2",
            "describe_security_groups",
            Filters=[{"Name": "group-name", "Values": [self.names.security_group(address)]}],
        )
        for group in found.get("SecurityGroups", ()):
            if self.names.owns(tag_map(group.get("Tags")), address):
                return dict(group)
        return None

    async def ensure_group(self, address: Address, port: int | None) -> str:
        """The compute's security group, opening `port` (TCP) to `ingress_cidr`; its id."""
        group = await self.find_group(address)
        if group is None:
            name = self.names.security_group(address)
            try:
                made = await self.aws.call(
                    "ec2",
                    "create_security_group",
                    GroupName=name,
                    Description=f"scoot: compute {address} of {self.names.application}",
                    VpcId=await self.vpc(),
                    TagSpecifications=[
                        {"ResourceType": "security-group", "Tags": tag_list(self.names.tags(address, Name=name))}
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
        wanted = (
            [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": self.options.ingress_cidr}]}]
            if port is not None
            else []
        )
        current = list(group.get("IpPermissions", ()))
        if sorted(map(_rule, current)) != sorted(map(_rule, wanted)):
            if current:
                await self.aws.call("ec2", "revoke_security_group_ingress", GroupId=group_id, IpPermissions=current)
            if wanted:
                await self.aws.call("ec2", "authorize_security_group_ingress", GroupId=group_id, IpPermissions=wanted)
        return group_id
