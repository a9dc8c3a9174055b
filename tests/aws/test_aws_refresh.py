"""The refresh in pages (`AwsDriver.read_many`, see `scoot_runtime.drivers.aws.refresh`):
it finds exactly what `read` finds, drift included, and a no-op plan of ten times the
objects makes at most twice the calls per service, counted at moto's server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from moto_server import REGION, Moto, Proxy

from bench.aws_calls import BOUND, figures, report
from scoot_runtime.conformance import context_for, make_spec, record
from scoot_runtime.drivers.aws import AwsDriver
from scoot_runtime.drivers.base import Address, CloudDriver, ObjectSpec, Recorded

WEB = Address("api", "web")
FILES = Address("api", "files")
ROWS = Address("api", "rows")
LINK = Address("api", "web_files")


def per_object(driver: AwsDriver, reads: Sequence[tuple[ObjectSpec, Recorded | None]]) -> dict[Address, Any]:
    """What `read` says of each, one object at a time: the base class's `read_many`."""
    return asyncio.run(CloudDriver.read_many(driver, reads))


def paged(driver: AwsDriver, reads: Sequence[tuple[ObjectSpec, Recorded | None]]) -> dict[Address, Any]:
    return asyncio.run(driver.read_many(reads))


def test_the_refresh_in_pages_finds_what_read_finds_drift_included(
    driver: AwsDriver, tmp_path: Path, moto_server: Moto
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "server.py").write_text("print('hi')\n", encoding="utf-8")
    web = make_spec(WEB, "compute", {"command": ["python3", "server.py"], "port": 8080, "replicas": 2}, source, "sha256:" + "1" * 64)
    files = make_spec(FILES, "storage", {"engine": "bucket"})
    rows = make_spec(ROWS, "storage", {"engine": "table"})
    made = {spec.address: asyncio.run(driver.create(spec)) for spec in (web, files, rows)}
    link = make_spec(
        LINK,
        "connection",
        {
            "from": {"address": "api.web", "kind": "compute", "outputs": dict(made[WEB].outputs)},
            "to": {"address": "api.files", "kind": "storage", "outputs": dict(made[FILES].outputs)},
            "injected": ["FILES_URL"],
        },
    )
    made[LINK] = asyncio.run(driver.create(link))
    specs = {spec.address: spec for spec in (web, files, rows, link)}
    recorded = [(spec, record(spec, made[address])) for address, spec in specs.items()]
    by_name = [(spec, None) for spec in specs.values()]  # after a crash: found by their names
    proxy = Proxy(moto_server.endpoint_url, refused=frozenset({"GetAccountAuthorizationDetails", "GetResources", "ListTables"}))
    proxy.start()
    refusing = AwsDriver(
        context_for(tmp_path, lineage=driver.context.lineage, region=REGION, endpoint_url=proxy.url, max_attempts=1)
    )
    try:
        for reads in (recorded, by_name):
            found = paged(driver, reads)
            assert found == per_object(driver, reads)
            assert all(o is not None and o.drift == () for o in found.values()), found

        # Broken behind scoot's back, each in its own way.
        ec2, iam = moto_server.client("ec2"), moto_server.client("iam")
        ec2.terminate_instances(InstanceIds=[made[WEB].identity["instances"][1]])
        ec2.authorize_security_group_ingress(
            GroupId=made[WEB].identity["security_group"],
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        moto_server.client("ssm").delete_parameter(Name=driver.names.parameter(WEB))
        elbv2 = moto_server.client("elbv2")
        [balancer] = elbv2.describe_load_balancers(Names=[driver.names.balancer(WEB)])["LoadBalancers"]
        elbv2.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])
        moto_server.client("s3").delete_bucket(Bucket=made[FILES].identity["name"])
        iam.put_role_policy(
            RoleName=made[LINK].identity["role"],
            PolicyName=made[LINK].identity["policy"],
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
        )
        moto_server.client("dynamodb").untag_resource(
            ResourceArn=moto_server.client("dynamodb").describe_table(TableName=made[ROWS].identity["name"])["Table"]["TableArn"],
            TagKeys=["scoot:lineage"],
        )
        for reads in (recorded, by_name):
            found = paged(driver, reads)
            assert found == per_object(driver, reads)
            # A listing AWS refuses (a policy without it): what it would list is read per object.
            assert paged(refusing, reads) == found
        found = paged(driver, recorded)
        drift = {address: " / ".join(o.drift) if o is not None else "gone" for address, o in found.items()}
        instance = made[WEB].identity["instances"][1]
        assert f"instance {instance} (replica 1) is not running" in drift[WEB]
        assert "lets in tcp 22 from 0.0.0.0/0;" in drift[WEB]
        assert "its launch parameter is gone" in drift[WEB]
        assert "its load balancer or target group is gone" in drift[WEB]
        assert drift[FILES] == "gone"
        assert "has lost its scoot tags" in drift[ROWS]
        assert "was changed" in drift[LINK]
    finally:
        asyncio.run(refusing.close())
        proxy.stop()
        for address, spec in specs.items():
            asyncio.run(driver.delete(spec, record(spec, made[address]), delete_data=True))


def test_a_no_op_plan_of_ten_times_the_objects_makes_at_most_twice_the_calls(moto_server: Moto) -> None:
    """`scoot plan`, a whole process, at 5 and 50 objects; the calls counted by a proxy in
    front of moto's server (bench/aws_calls.py prints the same at 20 and 200)."""
    listings: list[dict[str, Any]] = []

    def seen(request: bytes, answer: bytes) -> bytes:
        if b'"ResourceTypeFilters"' in request and b'"scoot:lineage"' in request:  # the driver's GetResources
            listings.append(json.loads(request))
        return answer

    proxy = Proxy(moto_server.endpoint_url, rewrite=seen)
    proxy.start()
    try:
        found = figures(1, proxy)
    finally:
        proxy.stop()
    assert found.rows and found.passed, report(found)
    # No call is per object any more: none is made as many times as there are objects.
    assert all(count < 10 for count in found.calls[1].values()), report(found)
    # The launch parameters come from the Tagging API's listing: SSM is not asked.
    assert not any(service == "ssm" for calls in found.calls for service, _ in calls), report(found)
    # Its pages are AWS's largest, by resources only (AWS recommends ResourcesPerPage instead of TagsPerPage).
    assert listings and all(body["ResourcesPerPage"] == 100 and "TagsPerPage" not in body for body in listings)
    assert BOUND == 2.0
