"""Deterministic names and tags for everything the driver makes.

A name is built from the object's address and a short digest of the state's
lineage and the address (`scoot-api-pictures-1a325dd3`): two targets (or two
clones that never shared a state) never collide, and a run that crashed before
recording what it made finds it again by name. The application's name is not
part of it, so renaming the application finds everything again. Every resource
also carries the tags `scoot:application`, `scoot:component`, `scoot:object`
and `scoot:lineage`; the driver takes over a resource that has its name only
when the lineage tag is its own, and never touches anything else.

A compute's role, instance profile, security group, launch parameter and archives
are named after the address it was made at, its *naming address*: a `moved` block
re-tags them and keeps their names (AWS cannot rename a role, a group or a
parameter, and the instances' user data names the parameter and the archive), so a
move never touches a running instance. The naming address is in the compute's
recorded identity (`named`) and, when it is not the address, in the
`scoot:named-after` tag of what the compute has.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scoot_runtime.drivers.base import Address

APPLICATION_TAG = "scoot:application"
COMPONENT_TAG = "scoot:component"
OBJECT_TAG = "scoot:object"
LINEAGE_TAG = "scoot:lineage"
REPLICA_TAG = "scoot:replica"
NAMED_TAG = "scoot:named-after"


@dataclass(frozen=True)
class Names:
    application: str
    lineage: str

    def digest(self, *parts: str) -> str:
        """Eight hex digits of the lineage and `parts`: what makes a name this state's own."""
        return hashlib.sha256("\0".join((self.lineage, *parts)).encode()).hexdigest()[:8]

    def _name(self, parts: Iterable[str], limit: int, lower: bool, allowed: str) -> str:
        parts = list(parts)
        suffix = "-" + self.digest(*parts)
        body = "-".join(("scoot", *parts))
        if lower:
            body = body.lower()
        body = re.sub(allowed, "-", body)
        body = re.sub(r"-{2,}", "-", body).strip("-")
        return body[: limit - len(suffix)].rstrip("-") + suffix

    def bucket(self, address: Address) -> str:
        """An S3 bucket: 3-63 lowercase letters, digits and hyphens, unique in all of S3."""
        return self._name((address.component, address.object), 63, True, r"[^a-z0-9-]")

    def table(self, address: Address) -> str:
        """A DynamoDB table (letters, digits, `_`, `-`, `.`)."""
        return self._name((address.component, address.object), 255, False, r"[^A-Za-z0-9_.-]")

    def role(self, address: Address) -> str:
        """An IAM role and its instance profile (at most 64 characters)."""
        return self._name((address.component, address.object), 64, False, r"[^A-Za-z0-9_.@=,+-]")

    def security_group(self, address: Address) -> str:
        return self._name((address.component, address.object), 255, False, r"[^A-Za-z0-9_.-]")

    def balancer(self, address: Address) -> str:
        """A compute's load balancer and its target group (at most 32 letters, digits, `-`)."""
        return self._name((address.component, address.object), 32, False, r"[^A-Za-z0-9-]")

    def parameter(self, address: Address) -> str:
        """The SSM parameter holding a compute's command and environment (secrets included)."""
        return f"/scoot/{self.digest()}/{address.component}/{address.object}/launch"

    def artifacts_bucket(self) -> str:
        """The application's bucket of source archives (one per state)."""
        return self._name(("artifacts",), 63, True, r"[^a-z0-9-]")

    def tags(self, address: Address | None = None, **extra: str) -> dict[str, str]:
        tags = {APPLICATION_TAG: self.application, LINEAGE_TAG: self.lineage}
        if address is not None:
            tags[COMPONENT_TAG] = address.component
            tags[OBJECT_TAG] = address.object
        return {**tags, **extra}

    def owner_tags(self, address: Address, named: Address, **extra: str) -> dict[str, str]:
        """The tags of what a compute at `address`, named after `named`, has."""
        tags = self.tags(address, **extra)
        if named != address:
            tags[NAMED_TAG] = str(named)
        return tags

    def owns(self, tags: Mapping[str, str], address: Address | None = None) -> bool:
        """Whether a resource with these tags was made by this state (for `address`).

        The lineage says whose it is; the application's name is for people (it may
        have been renamed since)."""
        if tags.get(LINEAGE_TAG) != self.lineage:
            return False
        return address is None or (
            tags.get(COMPONENT_TAG) == address.component and tags.get(OBJECT_TAG) == address.object
        )


def numbered(address: Address, number: int) -> Address:
    """The naming address to try `number`-th for an object at `address`: `address` itself,
    then `api.web.2`, `api.web.3`… (the first ones are another object's, moved away)."""
    return address if number == 1 else Address(address.component, f"{address.object}.{number}")


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """`[{"Key": ..., "Value": ...}]`, the shape most AWS APIs take."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tag_map(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """The reverse of `tag_list` (EC2, S3, IAM and SSM spell it the same way)."""
    return {str(t["Key"]): str(t["Value"]) for t in tags or ()}
