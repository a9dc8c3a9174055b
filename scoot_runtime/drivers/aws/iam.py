"""IAM: a role and an instance profile per compute, and the inline policies on the role.

The role's own policy (`scoot-launch`) lets its instances fetch their source
archive and their launch parameter, and nothing else. Each connection from the
compute adds one more inline policy (`scoot-connection-<component>-<object>`)
granting what its target needs (see `connection`). Deleting the compute deletes
the role with all its inline policies.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from scoot_runtime.drivers.aws.errors import AwsDriverError, error_code
from scoot_runtime.drivers.aws.naming import Names, tag_list, tag_map
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.base import Address

LAUNCH_POLICY = "scoot-launch"
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def document(statements: list[dict[str, Any]]) -> str:
    return orjson.dumps({"Version": "2012-10-17", "Statement": statements}).decode()


def launch_statements(bucket: str, prefix: str, region: str, parameter: str) -> list[dict[str, Any]]:
    return [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/{prefix}*"},
        {
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": f"arn:aws:ssm:{region}:*:parameter{parameter}",
        },
    ]


class Roles:
    def __init__(self, aws: Aws, names: Names) -> None:
        self.aws = aws
        self.names = names

    async def ensure(self, address: Address, named: Address, launch: list[dict[str, Any]]) -> str:
        """The compute's role and instance profile (same name, after `named`), with its launch policy."""
        name = self.names.role(named)
        tags = tag_list(self.names.owner_tags(address, named))
        try:
            await self.aws.call(
                "iam",
                "create_role",
                RoleName=name,
                AssumeRolePolicyDocument=orjson.dumps(EC2_TRUST).decode(),
                Description=f"scoot: the instances of compute {address} of {self.names.application}",
                Tags=tags,
            )
        except AwsDriverError as error:
            if error_code(error) != "EntityAlreadyExists":
                raise
            await self._check_ours("role", name, address, named)
        await self.aws.call("iam", "put_role_policy", RoleName=name, PolicyName=LAUNCH_POLICY, PolicyDocument=document(launch))
        try:
            await self.aws.call("iam", "create_instance_profile", InstanceProfileName=name, Tags=tags)
        except AwsDriverError as error:
            if error_code(error) != "EntityAlreadyExists":
                raise
            await self._check_ours("instance profile", name, address, named)
        profile = await self.aws.call("iam", "get_instance_profile", InstanceProfileName=name)
        if not any(r["RoleName"] == name for r in profile["InstanceProfile"].get("Roles", ())):
            await self.aws.call("iam", "add_role_to_instance_profile", InstanceProfileName=name, RoleName=name)
        return name

    async def exists(self, address: Address, named: Address) -> bool:
        """Whether the role named after `named` is there, as the compute `address`'s."""
        found = await self.aws.maybe("iam", "get_role", RoleName=self.names.role(named))
        return found is not None and self.names.owns(tag_map(found["Role"].get("Tags")), address)

    async def taken(self, address: Address, named: Address) -> bool:
        """Whether the role named after `named` is another object's (one moved away)."""
        found = await self.aws.maybe("iam", "get_role", RoleName=self.names.role(named))
        tags = tag_map(found["Role"].get("Tags")) if found is not None else {}
        return bool(tags) and not self.names.owns(tags, address)

    async def put_policy(self, address: Address, named: Address, policy: str, statements: list[dict[str, Any]]) -> bool:
        """Put an inline policy on the compute's role; False if there is no such role (yet)."""
        if not await self.exists(address, named):
            return False
        await self.aws.call(
            "iam",
            "put_role_policy",
            RoleName=self.names.role(named),
            PolicyName=policy,
            PolicyDocument=document(statements),
        )
        return True

    async def delete_policy(self, named: Address, policy: str) -> None:
        await self.aws.maybe("iam", "delete_role_policy", RoleName=self.names.role(named), PolicyName=policy)

    async def retag(self, address: Address, named: Address) -> bool:
        """Tag the role and instance profile named after `named` as the compute `address`'s
        (a move); whether the role is there. Another state's is refused."""
        name = self.names.role(named)
        tags = tag_list(self.names.owner_tags(address, named))
        role = await self.aws.maybe("iam", "get_role", RoleName=name)
        if role is not None:
            self._refuse_foreign("role", name, address, tag_map(role["Role"].get("Tags")))
            await self.aws.call("iam", "tag_role", RoleName=name, Tags=tags)
        profile = await self.aws.maybe("iam", "get_instance_profile", InstanceProfileName=name)
        if profile is not None:
            self._refuse_foreign("instance profile", name, address, tag_map(profile["InstanceProfile"].get("Tags")))
            await self.aws.call("iam", "tag_instance_profile", InstanceProfileName=name, Tags=tags)
        return role is not None

    async def delete(self, address: Address, named: Address) -> None:
        """The instance profile, the role's inline policies, and the role (named after
        `named`). One of this state's that is another object's (moved away) is left alone."""
        name = self.names.role(named)
        role = await self.aws.maybe("iam", "get_role", RoleName=name)
        tags = tag_map(role["Role"].get("Tags")) if role is not None else {}
        self._refuse_foreign("role", name, address, tags)
        if tags and not self.names.owns(tags, address):
            return
        profile = await self.aws.maybe("iam", "get_instance_profile", InstanceProfileName=name)
        if profile is not None:
            for attached in profile["InstanceProfile"].get("Roles", ()):
                await self.aws.maybe(
                    "iam", "remove_role_from_instance_profile", InstanceProfileName=name, RoleName=attached["RoleName"]
                )
            await self.aws.maybe("iam", "delete_instance_profile", InstanceProfileName=name)
        if role is None:
            return
        policies = await self.aws.call("iam", "list_role_policies", RoleName=name)
        for policy in policies.get("PolicyNames", ()):
            await self.aws.maybe("iam", "delete_role_policy", RoleName=name, PolicyName=policy)
        attached = await self.aws.call("iam", "list_attached_role_policies", RoleName=name)
        for policy in attached.get("AttachedPolicies", ()):
            await self.aws.maybe("iam", "detach_role_policy", RoleName=name, PolicyArn=policy["PolicyArn"])
        deadline = time.monotonic() + 60
        while True:
            try:
                await self.aws.maybe("iam", "delete_role", RoleName=name)
                return
            except AwsDriverError as error:
                # Still in use by an instance profile being deleted: try again shortly.
                if error_code(error) != "DeleteConflict" or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(2)

    def _refuse_foreign(self, what: str, name: str, address: Address, tags: dict[str, str]) -> None:
        if tags and not self.names.owns(tags):
            raise AwsDriverError(
                f"{address}: the IAM {what} {name} was not made by this scoot state; scoot does not touch it"
            )

    async def _check_ours(self, what: str, name: str, address: Address, named: Address) -> None:
        if what == "role":
            found = await self.aws.call("iam", "get_role", RoleName=name)
            tags = tag_map(found["Role"].get("Tags"))
        else:
            found = await self.aws.call("iam", "get_instance_profile", InstanceProfileName=name)
            tags = tag_map(found["InstanceProfile"].get("Tags"))
        # Untagged: what a create of ours left before tagging (the name is this state's own).
        if tags and not self.names.owns(tags, address):
            raise AwsDriverError(
                f"{address}: the IAM {what} {name} exists and was not made by this scoot state; "
                "scoot does not touch it"
            )
        if not tags:
            owner = tag_list(self.names.owner_tags(address, named))
            if what == "role":
                await self.aws.call("iam", "tag_role", RoleName=name, Tags=owner)
            else:
                await self.aws.call("iam", "tag_instance_profile", InstanceProfileName=name, Tags=owner)
