"""The driver conformance suite (`scoot_runtime.conformance`) against the aws driver, on moto's server.

Samples: a compute (EC2 instances, its role, security group, launch parameter and
source archive), an S3 bucket and a DynamoDB table. Each is broken behind the
driver's back with boto3 for the drift check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from moto_server import MISSING_AMI, REGION, Moto, leftovers

from scoot_runtime.conformance import DriverConformance, Sample, context_for
from scoot_runtime.drivers.aws import AwsDriver
from scoot_runtime.drivers.base import Address, Created, ObjectSpec


class TestAwsConformance(DriverConformance):
    lineage: str | None = None

    @pytest.fixture(autouse=True)
    def _moto(self, moto_server: Moto) -> Iterator[None]:
        self.moto = moto_server
        yield
        # Every check deletes what it made: nothing of its lineage may be left on "AWS".
        if self.lineage is not None:
            assert leftovers(self.moto, self.lineage) == []

    def make_driver(self, root: Path) -> AwsDriver:
        driver = AwsDriver(context_for(root, region=REGION, endpoint_url=self.moto.endpoint_url))
        self.lineage = driver.context.lineage
        return driver

    def samples(self, root: Path) -> Sequence[Sample]:
        source = root / "src"
        source.mkdir(exist_ok=True)
        (source / "server.py").write_text("print('hello')\n", encoding="utf-8")
        return [
            Sample(
                Address("api", "web"),
                "compute",
                {"command": ["python3", "server.py"], "port": 8080, "replicas": 2, "env": {"GREETING": "hi"}},
                source=source,
                update={"env": {"GREETING": "bonjour"}},
                revision="sha256:" + "ab" * 32,
                # An image that does not exist: RunInstances refuses the new instances.
                broken={"env": {"GREETING": "hallo"}},
                broken_options={"ami": MISSING_AMI},
            ),
            Sample(
                Address("api", "files"),
                "storage",
                {"engine": "bucket"},
                update={"size": "2GB"},
                replace={"engine": "table"},
            ),
            Sample(
                Address("api", "orders"),
                "storage",
                {"engine": "table"},
                update={"size": "1GB"},
                replace={"engine": "bucket"},
            ),
        ]

    async def break_out_of_band(self, spec: ObjectSpec, created: Created) -> None:
        def destroy() -> None:
            if spec.kind == "compute":
                ec2 = self.moto.client("ec2")
                ec2.terminate_instances(InstanceIds=created.identity["instances"])
                ec2.get_waiter("instance_terminated").wait(
                    InstanceIds=created.identity["instances"], WaiterConfig={"Delay": 1}
                )
            elif created.identity["engine"] == "bucket":
                self.moto.client("s3").delete_bucket(Bucket=created.identity["name"])
            else:
                self.moto.client("dynamodb").delete_table(TableName=created.identity["name"])

        await asyncio.to_thread(destroy)
