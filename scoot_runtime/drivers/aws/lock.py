"""The apply lock of an AWS target, shared by every clone of the application: one S3 object.

    s3://scoot-locks-<account>-<region>/<application>/<target>.lock

It is taken by writing that object only if there is none (`If-None-Match: *`, S3's
conditional write: of two runs, exactly one succeeds), as Terraform's S3 backend does
with `use_lockfile`. The object is JSON naming the holder (pid, host, since, command)
and a random token of the run: no secret. It is released by deleting it only if it is
still this run's: the token is read back first, and the delete is conditional on the
ETag read (`If-Match`), so a lock broken by force-unlock and taken by another run is
left alone.

The bucket is one per account and region, not the artifact bucket: that one is named
from the state's lineage, which two clones that never shared a `scoot.lock` do not
share, and it goes away with the last archive. The lock bucket is made on first use
(public access blocked, tagged `scoot:purpose = apply-locks`) and kept; it holds an
object only while a run holds a lock. The target option `lock_bucket` names another
(one that exists: Scoot does not make it).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import asdict
from typing import Any

import orjson

from scoot_runtime.applylock import LockHolder, parse_holder
from scoot_runtime.drivers.aws.errors import AwsDriverError, error_code, is_not_found
from scoot_runtime.drivers.aws.options import AwsOptions
from scoot_runtime.drivers.aws.session import Aws
from scoot_runtime.drivers.aws.storage import create_bucket, secure_bucket
from scoot_runtime.drivers.base import HeldLock, LockScope, SharedLock

PURPOSE_TAG = "scoot:purpose"
PURPOSE = "apply-locks"
# What S3 answers a conditional request whose condition does not hold (412), or one that
# raced another conditional write of the same key (409).
_CONDITION_FAILED = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
MAX_LOCK_BYTES = 64 * 1024  # a lock object larger than this names no scoot run


def default_bucket(account: str, region: str) -> str:
    """The lock bucket of an account and region (`scoot-locks-123456789012-eu-west-1`)."""
    return f"scoot-locks-{account}-{region}"


class S3Lock(SharedLock):
    """The shared apply lock of one target (see the module's text)."""

    def __init__(self, scope: LockScope) -> None:
        self.options = AwsOptions.parse(scope.options)
        self.aws = Aws(self.options, pool_size=2)
        self.key = f"{scope.application}/{scope.target}.lock"
        self.bucket: str | None = self.options.lock_bucket
        self.token = secrets.token_hex(16)
        self._tried = False

    @property
    def where(self) -> str:
        return f"s3://{self.bucket or 'scoot-locks-<account>-<region>'}/{self.key}"

    async def acquire(self, holder: LockHolder) -> HeldLock | None:
        bucket = await self._bucket()
        body = orjson.dumps({**asdict(holder), "token": self.token}, option=orjson.OPT_SORT_KEYS)
        self._tried = True
        for _ in range(3):
            try:
                await self._put(bucket, body)
                return None
            except AwsDriverError as error:
                if error_code(error) == "NoSuchBucket" and self.options.lock_bucket is None:
                    await self._make_bucket(bucket)
                    continue
                if error_code(error) == "NoSuchBucket":
                    raise AwsDriverError(
                        f"the lock bucket {bucket} (the target's `lock_bucket` option) does not exist: "
                        "make it, or remove the option to let Scoot make its own"
                    ) from None
                if error_code(error) in {"AccessDenied", "403"}:
                    raise AwsDriverError(
                        f"cannot write the apply lock {self.where}: {error}. The identity needs s3:PutObject, "
                        "s3:GetObject and s3:DeleteObject on it (docs/drivers/aws.md); if the bucket is another "
                        "account's, set the target's `lock_bucket` option to a bucket of yours"
                    ) from None
                if error_code(error) not in _CONDITION_FAILED:
                    raise
            held = await self._read(bucket)
            if held is None:
                continue  # released between the two calls: try again
            if held[1] == self.token:
                return None  # ours: a retried write whose first answer was lost
            return held[0]
        return HeldLock(None, "")  # taken and released over and over: busy, look again later

    async def release(self) -> None:
        if not self._tried or self.bucket is None:
            return
        found = await self._read(self.bucket)
        if found is None or found[1] != self.token:
            return  # released already, or broken and taken by another run: not ours to remove
        await self.break_lock(found[0])

    async def read(self) -> HeldLock | None:
        found = await self._read(await self._bucket())
        return found[0] if found is not None else None

    async def break_lock(self, held: HeldLock) -> bool:
        bucket = await self._bucket()
        try:
            await self.aws.call("s3", "delete_object", Bucket=bucket, Key=self.key, IfMatch=held.version)
        except AwsDriverError as error:
            if error_code(error) in _CONDITION_FAILED or is_not_found(error):
                return False
            raise
        return True

    async def close(self) -> None:
        self.aws.close()

    async def _put(self, bucket: str, body: bytes) -> None:
        await self.aws.call(
            "s3",
            "put_object",
            Bucket=bucket,
            Key=self.key,
            Body=body,
            IfNoneMatch="*",
            ContentType="application/json",
            ServerSideEncryption="AES256",
        )

    async def _read(self, bucket: str) -> tuple[HeldLock, str | None] | None:
        """The lock, and the token in it; None when there is none."""
        found = await self.aws.maybe("s3", "get_object", Bucket=bucket, Key=self.key)
        if found is None:
            return None
        stream: Any = found["Body"]
        try:
            data: bytes = await asyncio.to_thread(stream.read, MAX_LOCK_BYTES + 1)
        finally:
            stream.close()
        version = str(found.get("ETag", ""))
        if len(data) > MAX_LOCK_BYTES:
            return HeldLock(None, version), None
        try:
            raw: Any = orjson.loads(data)
        except orjson.JSONDecodeError:
            raw = None
        token = raw.get("token") if isinstance(raw, dict) and isinstance(raw.get("token"), str) else None
        return HeldLock(parse_holder(data), version), token

    async def _bucket(self) -> str:
        if self.bucket is None:
            identity = await self.aws.call("sts", "get_caller_identity")
            self.bucket = default_bucket(str(identity["Account"]), self.aws.region)
        return self.bucket

    async def _make_bucket(self, bucket: str) -> None:
        await create_bucket(
            self.aws, bucket, "the apply lock's bucket (the target's `lock_bucket` option names another)"
        )
        await secure_bucket(self.aws, bucket, {PURPOSE_TAG: PURPOSE})

