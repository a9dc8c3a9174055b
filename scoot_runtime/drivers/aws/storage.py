"""`storage` objects: `engine = "bucket"` is an S3 bucket, `engine = "table"` a DynamoDB table.

Identity: `{"engine", "name"}`; outputs: `{"url"}`, `s3://<bucket>` or
`dynamodb://<table>` (the name is the URL's netloc; the region is the target's,
and instances get it as AWS_REGION). A table has one string partition key, `id`,
and is billed per request. `size` is no quota on either: it is accepted and
changes nothing.

Data is kept unless `delete_data`: deleting a store leaves it (and its tags) in
place, and the next create of the same object takes it up again, data and all.
With `delete_data` a bucket is emptied (every version) and deleted, a table deleted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from scoot_model import template
from scoot_runtime.drivers.aws.errors import AwsDriverError, error_code
from scoot_runtime.drivers.aws.naming import LINEAGE_TAG, Names, tag_list, tag_map
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.base import (
    Address,
    CheckFailure,
    Created,
    ObjectSpec,
    Observed,
    Recorded,
)

ENGINES = ("bucket", "table")
# A store's tags by engine and name: {} for none, None when there is no such store.
TagsOf = Callable[[str, str], Awaitable[dict[str, str] | None]]
TABLE_KEY = "id"
_TABLE_WAIT = 300.0


def problems(config: Mapping[str, Any]) -> list[CheckFailure]:
    engine = config.get("engine")
    if template.is_one_interpolation(engine):
        return []  # a reference: checked again once resolved
    if engine not in ENGINES:
        return [
            CheckFailure(
                "the aws driver provides the storage engines `bucket` (S3) and `table` "
                f"(DynamoDB), not `{engine}`",
                "engine",
            )
        ]
    return []


def bucket_url(name: str) -> str:
    return f"s3://{name}"


def table_url(name: str) -> str:
    return f"dynamodb://{name}"


class StorageObjects:
    def __init__(self, aws: Aws, names: Names) -> None:
        self.aws = aws
        self.names = names

    # --- the operations --------------------------------------------------------------

    async def create(self, spec: ObjectSpec, named: str | None = None) -> Created:
        """Make the store (or take up the one `named`: moved, or imported)."""
        engine = self._engine(spec)
        name = named or self._name(engine, spec.address, None)
        if engine == "bucket":
            await self._ensure_bucket(name, spec.address, named is not None)
            return Created({"engine": engine, "name": name}, {"url": bucket_url(name)})
        await self._ensure_table(name, spec.address, named is not None)
        return Created({"engine": engine, "name": name}, {"url": table_url(name)})

    async def update(self, spec: ObjectSpec, recorded: Recorded) -> Created:
        # Nothing of a store changes in place (`size` is no quota here; `engine` is a
        # replacement): make sure it is there, tagged, and configured.
        return await self.create(spec, _recorded_name(recorded))

    async def move(self, spec: ObjectSpec, recorded: Recorded, source: Address) -> Created:
        """The store keeps its name (derived from `source`, kept in the identity): only its
        tags say its new address. Called again, it tags again."""
        engine = self._engine(ObjectSpec(spec.address, spec.kind, {"engine": recorded.identity.get("engine")}))
        name = self._name(engine, source, recorded)
        tags = await bucket_tags(self.aws, name) if engine == "bucket" else await self._table_tags(name)
        if tags is None:
            raise AwsDriverError(f"{source}: its {engine} {name} is not there: there is nothing to move to {spec.address}")
        return await self.create(ObjectSpec(spec.address, spec.kind, {"engine": engine}), name)

    async def adopt(self, spec: ObjectSpec, name: str) -> Created:
        """The bucket or table `name`, as the store `spec` (its engine), untouched: the
        next apply tags it (and closes a bucket to the public)."""
        engine = self._engine(spec)
        tags = await bucket_tags(self.aws, name) if engine == "bucket" else await self._table_tags(name)
        what = "S3 bucket" if engine == "bucket" else "DynamoDB table"
        if tags is None:
            raise AwsDriverError(
                f"{spec.address}: there is no {what} named {name!r} (in region {self.aws.region}); "
                f"give the name of an existing one (`{spec.address}` is a `{engine}`)"
            )
        if self._foreign(tags, spec.address, named=True):
            raise self._refuse(f"the {what} {name}", spec.address)
        return Created({"engine": engine, "name": name}, {"url": bucket_url(name) if engine == "bucket" else table_url(name)})

    async def tags(self, engine: str, name: str) -> dict[str, str] | None:
        """The tags of the bucket or table `name`, {} for none, None when it is not there."""
        return await bucket_tags(self.aws, name) if engine == "bucket" else await self._table_tags(name)

    async def read(
        self, spec: ObjectSpec, recorded: Recorded | None, tags_of: TagsOf | None = None
    ) -> Observed | None:
        """`tags_of` (engine, name): where the tags come from (a refresh in pages), else `tags`."""
        for engine in self._candidates(spec, recorded):
            name = self._name(engine, spec.address, recorded)
            tags = await (tags_of or self.tags)(engine, name)
            url = bucket_url(name) if engine == "bucket" else table_url(name)
            if tags is None:
                continue
            if self.names.owns(tags, spec.address):
                drift: tuple[str, ...] = ()
            elif recorded is not None:
                drift = (f"the {engine} {name} has lost its scoot tags",)
            elif not tags:
                # Untagged, by the name that holds this state's lineage: made by a create of
                # ours interrupted before it tagged it. Adopted; the apply tags it.
                drift = (f"the {engine} {name} is not tagged yet (its create was interrupted)",)
            else:
                continue  # someone else's: not what a crashed run of ours made
            return Observed({"engine": engine, "name": name}, {"url": url}, drift)
        return None

    async def delete(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> None:
        engine = recorded.identity.get("engine")
        named = _recorded_name(recorded)
        if engine == "bucket":
            await self._delete_bucket(named or self.names.bucket(spec.address), spec.address, delete_data, named is not None)
        elif engine == "table":
            await self._delete_table(named or self.names.table(spec.address), spec.address, delete_data, named is not None)
        else:
            for candidate in ENGINES:  # an interrupted create recorded no engine
                fake = Recorded("storage", {}, {}, {"engine": candidate}, {})
                await self.delete(spec, fake, delete_data)

    # --- helpers ---------------------------------------------------------------------

    def _engine(self, spec: ObjectSpec) -> str:
        failures = problems(spec.config)
        engine = spec.config.get("engine")
        if failures or not isinstance(engine, str):
            raise AwsDriverError(f"{spec.address}: {failures[0].message if failures else 'no engine'}")
        return engine

    def _name(self, engine: str, address: Address, recorded: Recorded | None) -> str:
        """The recorded name (a store moved, or imported, keeps its own), else the address's."""
        named = _recorded_name(recorded) if recorded is not None and recorded.identity.get("engine") == engine else None
        return named or (self.names.bucket(address) if engine == "bucket" else self.names.table(address))

    def _foreign(self, tags: Mapping[str, str], address: Address, named: bool) -> bool:
        """Whether a store with these tags is not this state's to touch. By a name of the
        address's (with this state's lineage in it), untagged is ours (a create interrupted
        before tagging); by a recorded name (moved, imported), anything but another
        state's scoot tags is."""
        if named:
            return tags.get(LINEAGE_TAG, self.names.lineage) != self.names.lineage
        return bool(tags) and not self.names.owns(tags, address)

    def _candidates(self, spec: ObjectSpec, recorded: Recorded | None) -> tuple[str, ...]:
        engine = recorded.identity.get("engine") if recorded is not None else spec.config.get("engine")
        return (str(engine),) if engine in ENGINES else ENGINES

    def _refuse(self, what: str, address: Address) -> AwsDriverError:
        return AwsDriverError(
            f"{address}: {what} already exists and was not made by this scoot state (its "
            f"scoot:lineage tag is not {self.names.lineage}); scoot does not touch it. "
            "Remove or rename it, or use another target"
        )

    # S3

    async def _ensure_bucket(self, name: str, address: Address, named: bool = False) -> None:
        tags = await bucket_tags(self.aws, name)
        if tags is None:
            if named:
                raise AwsDriverError(f"{address}: the S3 bucket {name} it was recorded with is gone")
            await create_bucket(self.aws, name, str(address))
            tags = {}
        # Untagged: ours, made by a create interrupted before tagging (the name holds a
        # digest of this state's lineage). Tagged for another state: not ours.
        if self._foreign(tags, address, named):
            raise self._refuse(f"the S3 bucket {name}", address)
        # The bucket's other tags (an imported one's) stay.
        await secure_bucket(self.aws, name, {**tags, **self.names.tags(address)})

    async def _delete_bucket(self, name: str, address: Address, delete_data: bool, named: bool = False) -> None:
        tags = await bucket_tags(self.aws, name)
        if tags is None:
            return
        if self._foreign(tags, address, named):  # untagged: ours (see `_ensure_bucket`)
            raise self._refuse(f"the S3 bucket {name}", address)
        if not delete_data:
            return  # the data stays, and the bucket with it
        await empty_bucket(self.aws, name)
        await self.aws.maybe("s3", "delete_bucket", Bucket=name)  # gone already: fine

    # DynamoDB

    async def _describe_table(self, name: str) -> dict[str, Any] | None:
        found = await self.aws.maybe("dynamodb", "describe_table", TableName=name)
        table: dict[str, Any] | None = found["Table"] if found else None
        if table is None or table.get("TableStatus") == "DELETING":
            return None
        return table

    async def _table_tags(self, name: str) -> dict[str, str] | None:
        table = await self._describe_table(name)
        if table is None:
            return None
        found = await self.aws.maybe("dynamodb", "list_tags_of_resource", ResourceArn=table["TableArn"])
        return tag_map(found.get("Tags") if found else None)

    async def _ensure_table(self, name: str, address: Address, named: bool = False) -> None:
        table = await self._describe_table(name)
        if table is None:
            if named:
                raise AwsDriverError(f"{address}: the DynamoDB table {name} it was recorded with is gone")
            try:
                await self.aws.call(
                    "dynamodb",
                    "create_table",
                    TableName=name,
                    AttributeDefinitions=[{"AttributeName": TABLE_KEY, "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": TABLE_KEY, "KeyType": "HASH"}],
                    BillingMode="PAY_PER_REQUEST",
                    Tags=tag_list(self.names.tags(address)),
                )
            except AwsDriverError as error:
                if error_code(error) != "ResourceInUseException":
                    raise
            table = await self._wait_table(name, address)
        tags = await self._table_tags(name) or {}
        if self._foreign(tags, address, named):
            raise self._refuse(f"the DynamoDB table {name}", address)
        if tags != {**tags, **self.names.tags(address)}:
            await self.aws.call(
                "dynamodb", "tag_resource", ResourceArn=table["TableArn"], Tags=tag_list(self.names.tags(address))
            )
        if table.get("TableStatus") != "ACTIVE":
            await self._wait_table(name, address)

    async def _wait_table(self, name: str, address: Address) -> dict[str, Any]:
        deadline = time.monotonic() + _TABLE_WAIT
        while True:
            table = await self._describe_table(name)
            if table is not None and table.get("TableStatus") == "ACTIVE":
                return table
            if time.monotonic() > deadline:
                raise AwsDriverError(f"{address}: the DynamoDB table {name} is not active after {_TABLE_WAIT:g} s")
            await asyncio.sleep(1)

    async def _delete_table(self, name: str, address: Address, delete_data: bool, named: bool = False) -> None:
        tags = await self._table_tags(name)
        if tags is None:
            return
        if self._foreign(tags, address, named):  # untagged: ours (see `_ensure_table`)
            raise self._refuse(f"the DynamoDB table {name}", address)
        if not delete_data:
            return  # the data stays, and the table with it
        await self.aws.maybe("dynamodb", "delete_table", TableName=name)


def _recorded_name(recorded: Recorded | None) -> str | None:
    name = recorded.identity.get("name") if recorded is not None else None
    return name if isinstance(name, str) and name else None


async def bucket_tags(aws: Aws, name: str) -> dict[str, str] | None:
    """The bucket's tags, {} for none, None when there is no such bucket."""
    if await aws.maybe("s3", "head_bucket", Bucket=name) is None:
        return None
    try:
        found = await aws.call("s3", "get_bucket_tagging", Bucket=name)
    except AwsDriverError as error:
        if error_code(error) == "NoSuchTagSet":
            return {}
        if error_code(error) == "NoSuchBucket":
            return None
        raise
    return tag_map(found.get("TagSet"))


async def secure_bucket(aws: Aws, name: str, tags: Mapping[str, str]) -> None:
    """Close the bucket to the public, then tag it: tags last, so a tagged bucket is a finished one."""
    await aws.call(
        "s3",
        "put_public_access_block",
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    await aws.call("s3", "put_bucket_tagging", Bucket=name, Tagging={"TagSet": tag_list(tags)})


async def create_bucket(aws: Aws, name: str, whose: str) -> None:
    """Make bucket `name` in the session's region (one this account made already will do)."""
    arguments: dict[str, Any] = {"Bucket": name}
    if aws.region != "us-east-1":  # S3's one region that takes no location
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
    try:
        await aws.call("s3", "create_bucket", **arguments)
    except AwsDriverError as error:
        if error_code(error) == "BucketAlreadyExists":
            raise AwsDriverError(f"{whose}: the S3 bucket name {name} is taken by another AWS account") from None
        if error_code(error) != "BucketAlreadyOwnedByYou":
            raise


async def empty_bucket(aws: Aws, name: str, prefix: str = "") -> None:
    """Delete every object (and every version of it) in a bucket, or under `prefix`."""
    while True:
        found = await aws.call("s3", "list_object_versions", Bucket=name, Prefix=prefix)
        keys = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in (*found.get("Versions", ()), *found.get("DeleteMarkers", ()))
        ]
        if not keys:
            return
        for start in range(0, len(keys), 1000):
            await aws.call(
                "s3", "delete_objects", Bucket=name, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
            )
