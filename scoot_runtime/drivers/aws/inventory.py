"""What of a target exists on AWS, by the tags alone: the state's lineage and the object.

One listing of the Resource Groups Tagging API (`tag:GetResources`, paginated) for the
resources that say which object they are and live exactly as long as it: a store's
bucket or table, a compute's security group (made before its instances, deleted after
them; an instance, listed for a while after it terminated, would name a compute long
gone). A connection is an IAM role policy, which carries no tags: it is not listed. What
the plan does with the listing (adopt what is wanted, leave the rest alone) is its own.
"""

from __future__ import annotations

from scoot_runtime.drivers.aws.naming import COMPONENT_TAG, LINEAGE_TAG, OBJECT_TAG, Names, tag_map
from scoot_runtime.drivers.aws.session import Aws

# Resource type (as the Tagging API filters it) → the kind of object it is part of.
KINDS = {"s3:bucket": "storage", "dynamodb:table": "storage", "ec2:security-group": "compute"}


def _kind(arn: str) -> str:
    """The kind of the object an ARN's resource is part of (`arn:aws:SERVICE:…:TYPE/…`)."""
    _, _, service, _, _, resource = arn.split(":", 5)
    return KINDS.get("s3:bucket" if service == "s3" else f"{service}:{resource.split('/')[0]}", "")


async def inventory(aws: Aws, names: Names) -> dict[str, str]:
    """address → kind of every object of this state that AWS lists by its tags."""
    found: dict[str, str] = {}
    token = ""
    while True:
        page = await aws.call(
            "resourcegroupstaggingapi",
            "get_resources",
            TagFilters=[{"Key": LINEAGE_TAG, "Values": [names.lineage]}],
            ResourceTypeFilters=sorted(KINDS),
            # The largest pages the API gives: the calls grow by one per 100 objects.
            ResourcesPerPage=100,
            TagsPerPage=500,
            **({"PaginationToken": token} if token else {}),
        )
        for resource in page.get("ResourceTagMappingList", ()):
            tags = tag_map(resource.get("Tags"))
            kind = _kind(str(resource.get("ResourceARN", "")))
            if kind and names.owns(tags) and COMPONENT_TAG in tags and OBJECT_TAG in tags:
                found[f"{tags[COMPONENT_TAG]}.{tags[OBJECT_TAG]}"] = kind
        token = str(page.get("PaginationToken") or "")
        if not token:
            return found
