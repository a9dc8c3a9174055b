"""The options a target with `cloud = "aws"` may set in scoot.toml, read and checked.

    [targets.aws]
    cloud         = "aws"
    region        = "eu-west-1"            # else the region of the AWS configuration
    endpoint_url  = "http://127.0.0.1:5000" # an AWS-compatible API (moto, LocalStack)
    profile       = "work"                 # a profile of ~/.aws/config; else the usual chain
    instance_type = "t3.micro"
    ami           = "ami-0123456789abcdef0" # else the latest Amazon Linux 2023 (x86_64)
    subnet_id     = "subnet-0123"          # else the default VPC's default subnets
    ingress_cidr  = "0.0.0.0/0"            # who may reach a compute's `port`
    key_name      = "my-key"               # an EC2 key pair, for ssh
    boot_timeout  = 300                    # seconds an instance has to reach `running`
    health_timeout = 300                   # seconds a new target has to be healthy in its balancer
    drain_seconds = 30                     # the balancer's deregistration delay (draining)
    max_attempts  = 10                     # attempts per call when AWS throttles
    lock_bucket   = "acme-scoot-locks"     # the bucket of the apply lock (see `lock`); else
                                           # scoot-locks-<account>-<region>, made on first use

Credentials are never an option: they come from the environment, a profile, or
an instance role, and are never written down.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scoot_runtime.drivers.aws.errors import AwsDriverError

OPTION_NAMES = frozenset(
    {
        "region",
        "endpoint_url",
        "profile",
        "instance_type",
        "ami",
        "subnet_id",
        "ingress_cidr",
        "key_name",
        "boot_timeout",
        "health_timeout",
        "drain_seconds",
        "max_attempts",
        "lock_bucket",
    }
)
# The latest Amazon Linux 2023 for x86_64, as AWS publishes it in SSM Parameter Store.
DEFAULT_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class AwsOptions:
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    instance_type: str = "t3.micro"
    ami: str | None = None
    subnet_id: str | None = None
    ingress_cidr: str = "0.0.0.0/0"
    key_name: str | None = None
    boot_timeout: float = 300.0
    health_timeout: float = 300.0
    drain_seconds: int = 30
    max_attempts: int = 10
    lock_bucket: str | None = None

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> AwsOptions:
        def text(name: str) -> str | None:
            value = options.get(name)
            if value is None:
                return None
            if not isinstance(value, str) or not value:
                raise AwsDriverError(f"the aws option `{name}` must be a non-empty string")
            return value

        def number(name: str, default: float, low: float, high: float) -> float:
            value = options.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise AwsDriverError(f"the aws option `{name}` must be a number from {low:g} to {high:g}")
            return float(value)

        region = text("region")
        if region is not None and not _REGION.match(region):
            raise AwsDriverError(f"the aws option `region` must be a region name such as `eu-west-1`, not {region!r}")
        endpoint = text("endpoint_url")
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise AwsDriverError("the aws option `endpoint_url` must be an http:// or https:// address")
        cidr = text("ingress_cidr") or "0.0.0.0/0"
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            raise AwsDriverError(
                f"the aws option `ingress_cidr` must be a CIDR block such as `203.0.113.0/24`, not {cidr!r}"
            ) from None
        lock_bucket = text("lock_bucket")
        if lock_bucket is not None and not _BUCKET.match(lock_bucket):
            raise AwsDriverError(
                "the aws option `lock_bucket` must be an S3 bucket name (3-63 lowercase letters, digits, "
                f"`.` and `-`), not {lock_bucket!r}"
            )
        return cls(
            lock_bucket=lock_bucket,
            region=region,
            endpoint_url=endpoint,
            profile=text("profile"),
            instance_type=text("instance_type") or "t3.micro",
            ami=text("ami"),
            subnet_id=text("subnet_id"),
            ingress_cidr=cidr,
            key_name=text("key_name"),
            boot_timeout=number("boot_timeout", 300, 1, 3600),
            health_timeout=number("health_timeout", 300, 1, 3600),
            drain_seconds=int(number("drain_seconds", 30, 0, 3600)),
            max_attempts=int(number("max_attempts", 10, 1, 50)),
        )
