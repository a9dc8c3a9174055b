"""A refresh in pages: what the reads of a whole plan need, listed once per service.

`read` asks AWS about one object at a time (a compute: ten calls; a store: two; a
connection: one), so a plan of 2,000 objects would make thousands of calls. The
refresh (`AwsDriver.read_many`) lists instead, each listing paginated, filtered
to this state where the API can filter:

| What | Listed by | Per page |
|---|---|---|
| instances | `ec2 DescribeInstances`, by the lineage tag, live | 1,000 |
| security groups | `ec2 DescribeSecurityGroups`, by the lineage tag | 1,000 |
| roles and their inline policies | `iam GetAccountAuthorizationDetails` (roles only) | 1,000 |
| load balancers, target groups | `elbv2 DescribeLoadBalancers`, `DescribeTargetGroups` | 400 |
| source archives | `s3 ListObjectsV2` of the artifact bucket | 1,000 |
| buckets | `s3 ListBuckets` | all at once |
| tables | `dynamodb ListTables` | 100 |
| the tags of buckets, tables, balancers, target groups; launch parameters | `tag GetResources`, by the lineage tag | 100 |

Existence comes from each service's own listing (the Tagging API may list a
resource for a while after it is deleted); tags from the Tagging API. A launch
parameter is the exception: it is there when the Tagging API lists it with this
state's tags (SSM lists parameters 50 a page at most, moto's server 10, and the
name and tags are all the refresh needs). What a
listing cannot settle is asked per object, as `read` asks: a store, a parameter,
a balancer or a target group that exists but is not listed with this state's tags (untagged, its
tags lost, or another state's). A listing AWS refuses (a policy without
`iam:GetAccountAuthorizationDetails`, say) falls back to the per-object calls for
what it would have listed. The observing itself is `read`'s own code, given
what was found (`ComputeObjects.observe`, the `tags_of` of storage, the
`policy_of` of connections): the two cannot disagree on what they make of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from scoot_runtime.drivers.aws.balancer import Found
from scoot_runtime.drivers.aws.compute import (
    LIVE_STATES,
    ComputeObjects,
    Facts,
    Instance,
    recorded_named,
)
from scoot_runtime.drivers.aws.connection import ConnectionObjects
from scoot_runtime.drivers.aws.errors import AwsCallError, AwsDriverError
from scoot_runtime.drivers.aws.inventory import tagged
from scoot_runtime.drivers.aws.naming import LINEAGE_TAG, NAMED_TAG, Names, tag_map
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.aws.storage import StorageObjects
from scoot_runtime.drivers.base import Address, ObjectSpec, Observed, ReadResult, Recorded

T = TypeVar("T")
# The Tagging API's resource types whose tags the refresh reads, and what each is to it.
TAGGED = {
    "s3:bucket": "bucket",
    "dynamodb:table": "table",
    "ssm:parameter": "parameter",
    "elasticloadbalancing:loadbalancer": "arn",
    "elasticloadbalancing:targetgroup": "arn",
}


async def _listed(listing: Awaitable[T]) -> T | None:
    """What a listing found; None if AWS refused it (its objects are then read one by one)."""
    try:
        return await listing
    except AwsCallError:
        return None


def _tagged_name(arn: str) -> tuple[str, str] | None:
    """(what, name) of an ARN the Tagging API lists: ("bucket", name), ("parameter", "/scoot/…")."""
    _, _, service, _, _, resource = arn.split(":", 5)
    if service == "s3":
        return "bucket", resource
    if service == "elasticloadbalancing":
        return "arn", arn  # a balancer or target group is found by its ARN
    kind, _, name = resource.partition("/")
    what = TAGGED.get(f"{service}:{kind}")
    if what is None or not name:
        return None
    return what, f"/{name}" if what == "parameter" else name


class Listing:
    """What the listings found; None where a listing was not made, or was refused."""

    def __init__(self) -> None:
        self.instances: list[dict[str, Any]] | None = None
        self.groups: list[dict[str, Any]] | None = None
        self.roles: dict[str, tuple[dict[str, str], dict[str, Any]]] | None = None  # name → (tags, policies)
        self.balancers: dict[str, dict[str, Any]] | None = None  # by name
        self.target_groups: dict[str, dict[str, Any]] | None = None  # by name
        self.artifacts: set[str] | None = None
        self.buckets: set[str] | None = None
        self.tables: set[str] | None = None
        self.tags: dict[tuple[str, str], dict[str, str]] | None = None  # (what, name) → tags


class PagedReads:
    """The aws driver's `read_many`: one listing per service, then `read`'s own observing."""

    def __init__(
        self, aws: Aws, names: Names, compute: ComputeObjects, storage: StorageObjects, connection: ConnectionObjects
    ) -> None:
        self.aws = aws
        self.names = names
        self.compute = compute
        self.storage = storage
        self.connection = connection
        # What `AwsDriver.inventory` listed of the Tagging API for the refresh that follows it.
        self.tagged: list[tuple[str, dict[str, str]]] | None = None

    async def read_many(
        self, reads: Sequence[tuple[ObjectSpec, Recorded | None]], parallelism: int
    ) -> dict[Address, ReadResult]:
        found = await self.listing({spec.kind for spec, _ in reads})
        # The observing may still ask AWS (what a listing could not settle): as many at once as reads.
        limit = asyncio.Semaphore(parallelism)
        results: dict[Address, ReadResult] = {}

        async def one(spec: ObjectSpec, recorded: Recorded | None) -> None:
            async with limit:
                try:
                    results[spec.address] = await self.read(found, spec, recorded)
                except Exception as error:  # reported against its object; the others go on
                    results[spec.address] = error

        await asyncio.gather(*(one(spec, recorded) for spec, recorded in reads))
        return results

    async def listing(self, kinds: set[str]) -> Listing:
        """The listings the reads of `kinds` need, made at once."""
        found = Listing()
        lineage = [{"Name": f"tag:{LINEAGE_TAG}", "Values": [self.names.lineage]}]
        steps: list[Awaitable[None]] = []

        async def keep(name: str, listing: Awaitable[Any]) -> None:
            setattr(found, name, await _listed(listing))

        if kinds & {"compute", "connection"}:
            steps.append(keep("groups", self._groups(lineage)))
            steps.append(keep("roles", self._roles()))
        if "compute" in kinds:
            steps.append(keep("instances", self._instances(lineage)))
            steps.append(keep("artifacts", self._artifacts()))
            steps.append(keep("balancers", self._elb("describe_load_balancers", "LoadBalancers", "LoadBalancerName")))
            steps.append(keep("target_groups", self._elb("describe_target_groups", "TargetGroups", "TargetGroupName")))
        if "storage" in kinds:
            steps.append(keep("buckets", self._buckets()))
            steps.append(keep("tables", self._tables()))
        if kinds & {"compute", "storage"}:
            steps.append(keep("tags", self._tags()))
        await asyncio.gather(*steps)
        return found

    # --- the listings ----------------------------------------------------------------

    async def _instances(self, lineage: list[dict[str, Any]]) -> list[dict[str, Any]]:
        filters = [*lineage, {"Name": "instance-state-name", "Values": list(LIVE_STATES)}]
        pages = await self.aws.pages(
            "ec2", "describe_instances", "NextToken", "NextToken", Filters=filters, MaxResults=1000
        )
        return [i for page in pages for r in page.get("Reservations", ()) for i in r.get("Instances", ())]

    async def _groups(self, lineage: list[dict[str, Any]]) -> list[dict[str, Any]]:
        pages = await self.aws.pages(
            "ec2", "describe_security_groups", "NextToken", "NextToken", Filters=lineage, MaxResults=1000
        )
        return [dict(g) for page in pages for g in page.get("SecurityGroups", ())]

    async def _roles(self) -> dict[str, tuple[dict[str, str], dict[str, Any]]]:
        pages = await self.aws.pages(
            "iam", "get_account_authorization_details", "Marker", "Marker", Filter=["Role"], MaxItems=1000
        )
        return {
            str(role["RoleName"]): (
                tag_map(role.get("Tags")),
                {str(p["PolicyName"]): p.get("PolicyDocument") for p in role.get("RolePolicyList", ())},
            )
            for page in pages
            for role in page.get("RoleDetailList", ())
        }

    async def _elb(self, operation: str, key: str, name: str) -> dict[str, dict[str, Any]]:
        """The account's load balancers or target groups, by name (ELB filters nothing by tag)."""
        pages = await self.aws.pages("elbv2", operation, "Marker", "NextMarker", PageSize=400)
        return {str(item[name]): dict(item) for page in pages for item in page.get(key, ())}

    async def _artifacts(self) -> set[str]:
        bucket = self.compute.artifacts.bucket
        try:
            pages = await self.aws.pages("s3", "list_objects_v2", "ContinuationToken", "NextContinuationToken", Bucket=bucket)
        except AwsCallError as error:
            if error.code == "NoSuchBucket":
                return set()
            raise
        return {str(o["Key"]) for page in pages for o in page.get("Contents", ())}

    async def _buckets(self) -> set[str]:
        # No MaxBuckets: S3 then answers every bucket at once (botocore before 1.35 knows no
        # MaxBuckets); a ContinuationToken, where an answer has one, is followed.
        pages = await self.aws.pages("s3", "list_buckets", "ContinuationToken", "ContinuationToken")
        return {str(b["Name"]) for page in pages for b in page.get("Buckets", ())}

    async def _tables(self) -> set[str]:
        pages = await self.aws.pages(
            "dynamodb", "list_tables", "ExclusiveStartTableName", "LastEvaluatedTableName", Limit=100
        )
        return {str(n) for page in pages for n in page.get("TableNames", ())}

    async def _tags(self) -> dict[tuple[str, str], dict[str, str]]:
        # The inventory's listing, made just before, holds these types too: taken once.
        resources, self.tagged = self.tagged, None
        if resources is None:
            resources = await tagged(self.aws, self.names, TAGGED)
        tags: dict[tuple[str, str], dict[str, str]] = {}
        for arn, found in resources:
            named = _tagged_name(arn)
            if named is not None:
                tags[named] = found
        return tags

    # --- the reads -------------------------------------------------------------------

    async def read(self, found: Listing, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        if spec.kind == "compute":
            return await self._compute(found, spec, recorded)
        if spec.kind == "storage":
            return await self.storage.read(spec, recorded, lambda engine, name: self._store_tags(found, engine, name))
        if spec.kind == "connection":
            return await self.connection.read(
                spec,
                recorded,
                lambda role, policy: self._policy(found, role, policy),
                lambda address: self._named_after(found, address),
            )
        raise AwsDriverError(f"{spec.address}: the aws driver has no `{spec.kind}` objects")

    async def _compute(self, found: Listing, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        address = spec.address
        named = recorded_named(recorded) or await self._named_after(found, address) or address
        if found.instances is None:
            instances = await self.compute.instances(address, LIVE_STATES)
        else:
            instances = [Instance.of(i) for i in found.instances if self.names.owns(tag_map(i.get("Tags")), address)]
        if found.groups is None:
            group = await self.compute.network.find_group(address, named)
        else:
            name = self.names.security_group(named)
            owned = (g for g in found.groups if g.get("GroupName") == name and self.names.owns(tag_map(g.get("Tags")), address))
            group = next(owned, None)
        role = await self._role_exists(found, address, named)
        parameter = await self._parameter_exists(found, address, named)
        balancer = await self._balancer(found, address, named)
        artifacts = found.artifacts
        exists: Callable[[str], Awaitable[bool]] = self.compute.artifacts.exists
        if artifacts is not None:
            exists = _member(artifacts)
        return await self.compute.observe(spec, recorded, Facts(named, instances, group, role, parameter, balancer), exists)

    async def _named_after(self, found: Listing, address: Address) -> Address | None:
        """As `Network.named_after`: the naming address its security group's tags say."""
        if found.groups is None:
            return await self.compute.network.named_after(address)
        for group in found.groups:
            tags = tag_map(group.get("Tags"))
            if self.names.owns(tags, address):
                named = tags.get(NAMED_TAG)
                return Address.parse(named) if named and "." in named else address
        return None

    async def _role_exists(self, found: Listing, address: Address, named: Address) -> bool:
        if found.roles is None:
            return await self.compute.roles.exists(address, named)
        role = found.roles.get(self.names.role(named))
        return role is not None and self.names.owns(role[0], address)

    async def _parameter_exists(self, found: Listing, address: Address, named: Address) -> bool:
        # Listed with this state's tags: there (no SSM listing: see the module's docstring).
        # Not listed (gone, untagged, another's, or the listing refused): asked as `read` asks.
        tags = found.tags.get(("parameter", self.names.parameter(named))) if found.tags is not None else None
        if tags is None:
            return await self.compute.parameter_exists(address, named)
        return self.names.owns(tags, address)

    async def _balancer(self, found: Listing, address: Address, named: Address) -> Found | None:
        """As `Balancers.find`: the balancer and target group named after `named`, if both are there."""
        if found.balancers is None or found.target_groups is None or found.tags is None:
            return await self.compute.balancers.find(address, named)
        name = self.names.balancer(named)
        balancer, group = found.balancers.get(name), found.target_groups.get(name)
        arns = [str(g["TargetGroupArn"]) for g in (group,) if g is not None]
        arns += [str(b["LoadBalancerArn"]) for b in (balancer,) if b is not None]
        if any(("arn", arn) not in found.tags for arn in arns):
            # Not listed with this state's tags (untagged, or another's): asked, and refused, as `read` does.
            return await self.compute.balancers.find(address, named)
        if balancer is None or group is None:
            return None
        return Found(str(balancer["LoadBalancerArn"]), str(balancer["DNSName"]), str(group["TargetGroupArn"]))

    async def _store_tags(self, found: Listing, engine: str, name: str) -> dict[str, str] | None:
        names = found.buckets if engine == "bucket" else found.tables
        tags = found.tags.get((engine, name)) if found.tags is not None else None
        if names is not None and name not in names:
            return None
        if names is None or tags is None:
            return await self.storage.tags(engine, name)
        return tags

    async def _policy(self, found: Listing, role: str, policy: str) -> dict[str, Any] | None:
        if found.roles is None:
            return await self.connection.policy(role, policy)
        policies = found.roles.get(role, ({}, {}))[1]
        return {"PolicyDocument": policies[policy]} if policy in policies else None


def _member(keys: set[str]) -> Callable[[str], Awaitable[bool]]:
    async def exists(key: str) -> bool:
        return key in keys

    return exists

