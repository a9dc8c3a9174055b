"""A compute moved to another address (`moved`), or imported from instances made elsewhere.

A move re-tags, and renames nothing: the instances, their volumes, the launch
parameter, the role and instance profile, the load balancer with its listener and
target group, and the security group get the new address's `scoot:component` and
`scoot:object` tags and keep their names, which stay those of the naming address
(see `naming`). No running instance is touched:
what it runs (its user data names the launch parameter and the archive) and what
lets it in and what it may do (its group, its instance profile) stay as they
were. The security group is re-tagged last: found re-tagged, the move is done
(the next plan reads the compute by it); found not, the move is made again.

An import (`scoot import api.web i-0abc,i-0def`) takes up one running instance per
replica, replica 0 first, and tags them as scoot's (lineage, address, replica). The
rest of a compute (its security group, role, launch parameter and archive) is not
there, and what the instances run is not known: the next plan shows that drift, and
the next apply makes the rest and replaces the instances by ones scoot launches
(new before old, as any roll).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from scoot_runtime.drivers.aws.compute import (
    LIVE_STATES,
    NOT_GONE,
    PORT_TAG,
    ComputeObjects,
    Instance,
    recorded_named,
    target_options,
)
from scoot_runtime.drivers.aws.errors import AwsDriverError, error_code
from scoot_runtime.drivers.aws.naming import (
    COMPONENT_TAG,
    LINEAGE_TAG,
    OBJECT_TAG,
    REPLICA_TAG,
    tag_list,
    tag_map,
)
from scoot_runtime.drivers.base import Address, Created, ObjectSpec, Recorded


async def move(
    objects: ComputeObjects, spec: ObjectSpec, recorded: Recorded, source: Address
) -> Created:
    """Re-tag what the compute `source` has as `spec.address`'s; called again, it finishes."""
    address, names, aws = spec.address, objects.names, objects.aws
    named = recorded_named(recorded) or source
    owner = names.owner_tags(address, named)
    instances = [i.id for i in await objects.instances(source, NOT_GONE)]
    if instances:
        await aws.call("ec2", "create_tags", Resources=instances, Tags=tag_list(owner))
        volumes = await aws.call(
            "ec2",
            "describe_volumes",
            Filters=[{"Name": "attachment.instance-id", "Values": instances}],
        )
        ids = [str(v["VolumeId"]) for v in volumes.get("Volumes", ())]
        if ids:
            await aws.call("ec2", "create_tags", Resources=ids, Tags=tag_list(owner))
    parameter = names.parameter(named)
    tags = await aws.maybe(
        "ssm", "list_tags_for_resource", ResourceType="Parameter", ResourceId=parameter
    )
    if tags is not None and names.owns(tag_map(tags.get("TagList"))):
        await aws.call(
            "ssm",
            "add_tags_to_resource",
            ResourceType="Parameter",
            ResourceId=parameter,
            Tags=tag_list(owner),
        )
    role = await objects.roles.retag(address, named)
    await objects.balancers.retag(address, named)
    group = await objects.network.retag(address, named)
    if (
        group is None
        and not role
        and not instances
        and not await objects.instances(address, LIVE_STATES)
    ):
        raise AwsDriverError(
            f"{source}: none of its instances, security group or IAM role is there: there is nothing "
            f"to move to {address}; remove the `moved` block to create {address}"
        )
    moved = dataclasses.replace(recorded, identity={**recorded.identity, "named": str(named)})
    found = await objects.read(spec, moved)
    if found is None:
        raise AwsDriverError(
            f"{address}: moved from {source}, but nothing of it is found under its new address"
        )
    return Created(found.identity, found.outputs)


async def adopt(objects: ComputeObjects, spec: ObjectSpec, resource_id: str) -> Created:
    """Take up the instances `resource_id` names (comma-separated, one per replica) as `spec`."""
    address = spec.address
    ids = [part.strip() for part in resource_id.split(",") if part.strip()]
    replicas = spec.config.get("replicas", 1)
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise AwsDriverError(
            f"{address}: `replicas` is not a number until apply ({replicas!r}): write the number of "
            "replicas to import its instances"
        )
    if len(ids) != replicas or len(set(ids)) != len(ids):
        raise AwsDriverError(
            f"{address}: it has {replicas} replica{'s' if replicas != 1 else ''}: give {replicas} different "
            f"EC2 instance id{'s' if replicas != 1 else ''}, comma-separated, replica 0 first "
            f"(`scoot import {address} {','.join(f'i-…{n}' for n in range(replicas))}`); got {resource_id!r}"
        )
    found = [await _instance(objects, address, instance) for instance in ids]
    port = spec.config.get("port")
    port = port if isinstance(port, int) and not isinstance(port, bool) else None
    # The lineage last, in one call: until then, nothing is found as this state's.
    for replica, instance in enumerate(ids):
        tags = objects.names.tags(address, **{REPLICA_TAG: str(replica)})
        tags.pop(LINEAGE_TAG)
        if port is not None:
            tags[PORT_TAG] = str(port)
        await objects.aws.call("ec2", "create_tags", Resources=[instance], Tags=tag_list(tags))
    lineage = [{"Key": LINEAGE_TAG, "Value": objects.names.lineage}]
    await objects.aws.call("ec2", "create_tags", Resources=ids, Tags=lineage)
    instances = sorted((Instance.of(i) for i in found), key=lambda i: ids.index(i.id))
    instances = [dataclasses.replace(i, replica=n, port=port) for n, i in enumerate(instances)]
    identity = objects.identity(instances, None, None, target_options(objects.options), address)
    return Created(identity, objects.outputs(instances, port))


async def _instance(objects: ComputeObjects, address: Address, instance: str) -> dict[str, Any]:
    """The instance `instance`, if it may be imported as `address` (else a clear error)."""
    try:
        described = await objects.aws.call("ec2", "describe_instances", InstanceIds=[instance])
    except AwsDriverError as error:
        if not error_code(error).startswith("InvalidInstanceID"):
            raise
        raise AwsDriverError(
            f"{address}: there is no EC2 instance {instance!r} in region {objects.aws.region}; give the "
            "id of a running instance (`i-…`, as `aws ec2 describe-instances` lists it)"
        ) from None
    found: dict[str, Any] = next(
        i for r in described.get("Reservations", ()) for i in r.get("Instances", ())
    )
    state = str(found.get("State", {}).get("Name", ""))
    if state not in LIVE_STATES:
        raise AwsDriverError(
            f"{address}: the EC2 instance {instance} is {state}: only a running (or pending) instance "
            "can be imported; start it, or leave it and let `scoot apply` launch the compute's own"
        )
    tags = tag_map(found.get("Tags"))
    lineage = tags.get(LINEAGE_TAG)
    if lineage is not None and lineage != objects.names.lineage:
        raise AwsDriverError(
            f"{address}: the EC2 instance {instance} is managed by another scoot state (scoot:lineage "
            f"{lineage}); scoot does not take it over. Forget it there first (`scoot forget`), "
            "and remove its scoot: tags"
        )
    owner = f"{tags.get(COMPONENT_TAG)}.{tags.get(OBJECT_TAG)}"
    if lineage is not None and owner != str(address):
        raise AwsDriverError(
            f"{address}: the EC2 instance {instance} is already `{owner}`'s, on this target; "
            "an instance is one compute's replica"
        )
    return found
