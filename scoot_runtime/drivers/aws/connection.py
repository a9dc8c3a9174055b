"""`connection` objects: what the source compute's role may do with the target.

The runtime already puts the target's outputs into the source's environment
(`ORDERS_URL = s3://…`); on AWS a connection also grants the source compute's IAM
role the access its target needs, as one inline policy on the role named after
the connection (`scoot-connection-<component>-<object>`):

- a bucket: list it, and get, put and delete its objects;
- a table: read and write its items (get, put, update, delete, query, scan, batches);
- a compute: nothing (its security group already opens its port).

Identity: `{"role", "policy", "grants"}` (`grants`: a digest of the policy
document, so that a policy edited behind scoot's back reads as drift), or `{}`
when there is nothing to grant; outputs: `env`, the names injected.

The role is the compute's, named after its naming address (see `naming`): a compute
moved keeps it. A connection moved (`moved`) renames its policy: the policy under
the new name is put before the old one is deleted, so the role never lacks the
grant, and the instances are not touched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from scoot_model import template
from scoot_runtime.drivers.aws.errors import AwsDriverError
from scoot_runtime.drivers.aws.iam import Roles, document
from scoot_runtime.drivers.aws.naming import Names
from scoot_runtime.drivers.aws.network import Network
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.base import Address, Created, ObjectSpec, Observed, Recorded

BUCKET_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
TABLE_ACTIONS = [
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
]


def grants(target: Any, region: str) -> list[dict[str, Any]]:
    """The IAM statements a compute needs to use `target` (a resolved object reference)."""
    if not isinstance(target, Mapping) or target.get("kind") != "storage":
        return []
    url = str((target.get("outputs") or {}).get("url", ""))
    parts = urlsplit(url)
    if parts.scheme == "s3" and parts.netloc:
        bucket = parts.netloc
        return [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {"Effect": "Allow", "Action": BUCKET_ACTIONS, "Resource": f"arn:aws:s3:::{bucket}/*"},
        ]
    if parts.scheme == "dynamodb" and parts.netloc:
        table = f"arn:aws:dynamodb:{region}:*:table/{parts.netloc}"
        return [{"Effect": "Allow", "Action": TABLE_ACTIONS, "Resource": [table, f"{table}/index/*"]}]
    return []


def referenced(value: Any) -> Address | None:
    """The object a connection end names: resolved (`{"address": …}`) or as written (`${a.b}`)."""
    if isinstance(value, Mapping):
        value = value.get("address")
    elif isinstance(value, str):
        parts = template.split(value)
        value = parts[0].text.strip() if len(parts) == 1 and parts[0].interpolation else None
    if not isinstance(value, str) or value.count(".") != 1:
        return None
    return Address.parse(value)


def digest(policy: Any) -> str:
    return hashlib.sha256(orjson.dumps(policy, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _env(spec: ObjectSpec) -> dict[str, Any]:
    injected = spec.config.get("injected")
    names = sorted(str(n) for n in injected) if isinstance(injected, list | tuple) else []
    return {"env": ",".join(names)}


class ConnectionObjects:
    def __init__(self, aws: Aws, names: Names, roles: Roles, network: Network) -> None:
        self.aws = aws
        self.names = names
        self.roles = roles
        self.network = network

    async def _named(self, compute: Address) -> Address:
        """The naming address of the compute `compute` (its role is named after it)."""
        return await self.network.named_after(compute) or compute

    def policy_name(self, address: Address) -> str:
        return f"scoot-connection-{address.component}-{address.object}"[:128]

    async def create(self, spec: ObjectSpec) -> Created:
        source = spec.config.get("from")
        statements = grants(spec.config.get("to"), self.aws.region)
        compute = referenced(source)
        if not statements or compute is None or not isinstance(source, Mapping) or source.get("kind") != "compute":
            return Created({}, _env(spec))
        policy = self.policy_name(spec.address)
        named = await self._named(compute)
        if not await self.roles.put_policy(compute, named, policy, statements):
            raise AwsDriverError(
                f"{spec.address}: the IAM role of compute {compute} is not there to grant access "
                "to; apply again once that compute exists"
            )
        identity = {
            "role": self.names.role(named),
            "policy": policy,
            "grants": digest(orjson.loads(document(statements))),
        }
        return Created(identity, _env(spec))

    async def update(self, spec: ObjectSpec, recorded: Recorded) -> Created:
        old = recorded.identity
        created = await self.create(spec)
        if old.get("role") and (old.get("role"), old.get("policy")) != (
            created.identity.get("role"),
            created.identity.get("policy"),
        ):
            await self._delete(old)
        return created

    async def policy(self, role: str, policy: str) -> dict[str, Any] | None:
        """The inline policy `policy` of `role` as IAM's GetRolePolicy answers; None if not there."""
        return await self.aws.maybe("iam", "get_role_policy", RoleName=role, PolicyName=policy)

    async def read(
        self,
        spec: ObjectSpec,
        recorded: Recorded | None,
        policy_of: Callable[[str, str], Awaitable[dict[str, Any] | None]] | None = None,
        named_of: Callable[[Address], Awaitable[Address | None]] | None = None,
    ) -> Observed | None:
        """`policy_of` and `named_of`: where a refresh in pages finds the policy and the
        compute's naming address; else `policy` and the compute's security group."""
        if recorded is not None and not recorded.identity:
            # Nothing to grant: nothing on AWS; it is there as long as it is recorded.
            return Observed({}, dict(recorded.outputs))
        if recorded is not None:
            role, policy = str(recorded.identity.get("role")), str(recorded.identity.get("policy"))
        else:
            compute = referenced(spec.config.get("from"))
            if compute is None:
                return None
            named = await (named_of or self.network.named_after)(compute) or compute
            role, policy = self.names.role(named), self.policy_name(spec.address)
        found = await (policy_of or self.policy)(role, policy)
        if found is None:
            return None
        identity = {"role": role, "policy": policy, "grants": digest(found.get("PolicyDocument"))}
        drift: tuple[str, ...] = ()
        if recorded is not None and recorded.identity.get("grants") != identity["grants"]:
            drift = (f"the IAM policy {policy} of role {role} was changed",)
        outputs = dict(recorded.outputs) if recorded is not None else _env(spec)
        return Observed(identity, outputs, drift)

    async def delete(self, spec: ObjectSpec, recorded: Recorded) -> None:
        if recorded.identity:
            await self._delete(recorded.identity)
            return
        compute = referenced(spec.config.get("from"))
        if compute is not None:  # an interrupted create recorded nothing: by name
            await self.roles.delete_policy(await self._named(compute), self.policy_name(spec.address))

    async def move(self, spec: ObjectSpec, recorded: Recorded, source: Address) -> Created:
        """The policy put again under the new address's name, then the old one deleted;
        called again, it finds the old one gone and the new one there."""
        identity = dict(recorded.identity)
        if not identity:
            return Created({}, dict(recorded.outputs))  # nothing granted: nothing on AWS
        role, old, new = str(identity.get("role")), str(identity.get("policy")), self.policy_name(spec.address)
        if old != new:
            found = await self.aws.maybe("iam", "get_role_policy", RoleName=role, PolicyName=old)
            if found is not None:
                policy = found.get("PolicyDocument")
                text = policy if isinstance(policy, str) else orjson.dumps(policy).decode()
                await self.aws.call("iam", "put_role_policy", RoleName=role, PolicyName=new, PolicyDocument=text)
                await self.aws.call("iam", "delete_role_policy", RoleName=role, PolicyName=old)
            elif await self.aws.maybe("iam", "get_role_policy", RoleName=role, PolicyName=new) is None:
                raise AwsDriverError(
                    f"{source}: its IAM policy {old} on role {role} is not there: there is nothing to "
                    f"move to {spec.address}; remove the `moved` block to create {spec.address}"
                )
        return Created({**identity, "policy": new}, dict(recorded.outputs))

    async def _delete(self, identity: Mapping[str, Any]) -> None:
        role, policy = identity.get("role"), identity.get("policy")
        if isinstance(role, str) and isinstance(policy, str):
            await self.aws.maybe("iam", "delete_role_policy", RoleName=role, PolicyName=policy)
