"""What of a target exists on AWS, by the tags alone: the state's lineage and the object.

One listing of the Resource Groups Tagging API (`tag:GetResources`, paginated) for the
resources that say which object they are and live exactly as long as it: a store's
bucket or table, a compute's security group (made before its instances, deleted after
them; an instance, listed for a while after it terminated, would name a compute long
gone). A connection is an IAM role policy, which carries no tags: it is not listed. What
the plan does with the listing (adopt what is wanted, leave the rest alone) is its own. The same listing,
of the types it reads tags of too, serves the refresh that follows (`refresh`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from scoot_runtime.drivers.aws.naming import COMPONENT_TAG, LINEAGE_TAG, OBJECT_TAG, Names, tag_map
from scoot_runtime.drivers.aws.session import Aws

# Resource type (as the Tagging API filters it) → the kind of object it is part of.
KINDS = {"s3:bucket": "storage", "dynamodb:table": "storage", "ec2:security-group": "compute"}


def _kind(arn: str) -> str:
    """The kind of the object an ARN's resource is part of (`arn:aws:SERVICE:…:TYPE/…`)."""
    _, _, service, _, _, resource = arn.split(":", 5)
    return KINDS.get("s3:bucket" if service == "s3" else f"{service}:{resource.split('/')[0]}", "")


async def tagged(aws: Aws, names: Names, types: Iterable[str]) -> list[tuple[str, dict[str, str]]]:
    """(ARN, tags) of every resource of `types` (as the Tagging API names them) that
    carries this state's lineage tag."""
    pages = await aws.pages(
        "resourcegroupstaggingapi",
        "get_resources",
        "PaginationToken",
        "PaginationToken",
        TagFilters=[{"Key": LINEAGE_TAG, "Values": [names.lineage]}],
        ResourceTypeFilters=sorted(types),
        # The largest pages the API gives: the calls grow by one per 100 resources. Not
        # TagsPerPage too: AWS recommends ResourcesPerPage instead of it (docs/drivers/aws.md).
        ResourcesPerPage=100,
    )
    return [
        (str(resource.get("ResourceARN", "")), tag_map(resource.get("Tags")))
        for page in pages
        for resource in page.get("ResourceTagMappingList", ())
    ]


def listed(resources: Iterable[tuple[str, Mapping[str, str]]], names: Names) -> dict[str, str]:
    """address → kind of the objects that `resources` (`tagged`'s) are part of."""
    found: dict[str, str] = {}
    for arn, tags in resources:
        kind = _kind(arn)
        if kind and names.owns(tags) and COMPONENT_TAG in tags and OBJECT_TAG in tags:
            found[f"{tags[COMPONENT_TAG]}.{tags[OBJECT_TAG]}"] = kind
    return found
