"""The application's artifact bucket: the components' sources, as the instances fetch them.

One bucket per state (`scoot-artifacts-<digest>`), tagged like
everything else. A compute's source is archived (tar.gz, deterministic: sorted,
no timestamps or owners, so one revision is always the same bytes) and uploaded
as `<component>/<object>/<revision>.tar.gz`; a roll leaves only the current
archive of an object, a delete none, and the bucket itself goes with the last
archive.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

from scoot_runtime.drivers.aws.errors import AwsDriverError
from scoot_runtime.drivers.aws.naming import Names
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.aws.storage import (
    bucket_tags,
    create_bucket,
    empty_bucket,
    secure_bucket,
)
from scoot_runtime.drivers.base import Address
from scoot_runtime.files import source_files


def archive(folder: Path) -> bytes:
    """The folder's files as a deterministic tar.gz."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped, tarfile.open(
        fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT
    ) as tar:
        for name, path in source_files(folder):
            with open(path, "rb") as handle:
                data = handle.read()
                executable = os.fstat(handle.fileno()).st_mode & 0o111
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if executable else 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Artifacts:
    def __init__(self, aws: Aws, names: Names) -> None:
        self.aws = aws
        self.names = names
        self.bucket = names.artifacts_bucket()
        # Uploads and the removal of the (then empty) bucket must not interleave.
        self._lock = asyncio.Lock()

    @staticmethod
    def prefix(address: Address) -> str:
        return f"{address.component}/{address.object}/"

    async def upload(self, address: Address, source: Path, revision: str | None) -> str:
        """Upload the source (unless that revision is there already); its key."""
        if not source.is_dir():
            raise AwsDriverError(f"{address}: the source {source} is not a folder")
        data = await asyncio.to_thread(archive, source)
        digest = (revision or "").removeprefix("sha256:")[:16] or hashlib.sha256(data).hexdigest()[:16]
        key = f"{self.prefix(address)}{digest}.tar.gz"
        async with self._lock:
            await self._ensure_bucket()
            if await self.aws.maybe("s3", "head_object", Bucket=self.bucket, Key=key) is None:
                await self.aws.call(
                    "s3",
                    "put_object",
                    Bucket=self.bucket,
                    Key=key,
                    Body=data,
                    ContentType="application/gzip",
                    ServerSideEncryption="AES256",
                )
        return key

    async def exists(self, key: str) -> bool:
        return await self.aws.maybe("s3", "head_object", Bucket=self.bucket, Key=key) is not None

    async def remove(self, address: Address, keep: str | None = None) -> None:
        """Delete the object's archives but `keep`; the bucket too once nothing is left in it."""
        async with self._lock:
            if await self.aws.maybe("s3", "head_bucket", Bucket=self.bucket) is None:
                return
            if keep is None:
                await empty_bucket(self.aws, self.bucket, self.prefix(address))
            else:
                found = await self.aws.call("s3", "list_objects_v2", Bucket=self.bucket, Prefix=self.prefix(address))
                old = [{"Key": o["Key"]} for o in found.get("Contents", ()) if o["Key"] != keep]
                if old:
                    await self.aws.call("s3", "delete_objects", Bucket=self.bucket, Delete={"Objects": old, "Quiet": True})
            left = await self.aws.call("s3", "list_objects_v2", Bucket=self.bucket, MaxKeys=1)
            if not left.get("Contents") and await self._ours():
                await self.aws.maybe("s3", "delete_bucket", Bucket=self.bucket)

    async def _ours(self) -> bool:
        """Whether the bucket is this state's: tagged so, or untagged (made by an upload of
        ours interrupted before it tagged it: the name holds this state's lineage)."""
        tags = await bucket_tags(self.aws, self.bucket)
        return tags is not None and (not tags or self.names.owns(tags))

    async def _ensure_bucket(self) -> None:
        tags = await bucket_tags(self.aws, self.bucket)
        if tags is None:
            await create_bucket(self.aws, self.bucket, "the artifact bucket")
        elif tags and not self.names.owns(tags):
            raise AwsDriverError(
                f"the artifact bucket {self.bucket} exists and was not made by this scoot state; "
                "scoot does not touch it"
            )
        elif tags:
            return  # tagged: made and secured already
        await secure_bucket(self.aws, self.bucket, self.names.tags())
