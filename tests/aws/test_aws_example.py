"""examples/catalog on target `aws` through the real command line, against moto's server.

plan, apply (twice: the second does nothing), drift repaired, destroy; then boto3
lists what is left of the state's lineage: nothing (or, without --delete-data,
only the stores, with their data). A kill -9 in the middle of an apply loses nothing.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto_server import REGION, Moto, Proxy, leftovers

from scoot_cli import cli
from tests.ports import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog"
SECRET = "catalog-admin-token-5f0c2d9a"


def scoot(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env={"CATALOG_ADMIN_TOKEN": SECRET})


def lock(app: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((app / "scoot.lock").read_text(encoding="utf-8"))
    target: dict[str, Any] = data["targets"]["aws"]
    return target


@pytest.fixture
def app(tmp_path: Path, moto_server: Moto) -> Iterator[Path]:
    """A copy of the example, its aws target pointing at moto; destroyed (with data) at the end."""
    folder = tmp_path / "catalog"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".scoots", "scoot.lock", "__pycache__"))
    (folder / "scoot.toml").write_text(
        '[architecture]\npath = "."\n\n[targets.aws]\ncloud = "aws"\n'
        f'region = "{REGION}"\nendpoint_url = "{moto_server.endpoint_url}"\n',
        encoding="utf-8",
    )
    yield folder
    if (folder / "scoot.lock").exists():
        scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(folder))


def user_data(moto: Moto, instance: str) -> str:
    found = moto.client("ec2").describe_instance_attribute(InstanceId=instance, Attribute="userData")
    return base64.b64decode(found["UserData"]["Value"]).decode()


def run_like_an_instance(app: Path, env: Mapping[str, str], moto: Moto, bucket: str) -> None:
    """Start api/server.py with the environment the launcher would give it (moto for AWS)."""
    port = free_port()
    environment = {
        **os.environ,
        **env,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "AWS_ENDPOINT_URL": moto.endpoint_url,
        "AWS_REGION": REGION,
    }
    server = subprocess.Popen(
        [sys.executable, "-u", "server.py"], cwd=app / "api", env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout and server.stdout.read()
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {SECRET}"}
        put = urllib.request.Request(f"{url}/products/lamp", data=b'{"name": "lamp"}', method="PUT", headers=auth)
        urllib.request.urlopen(put, timeout=10).close()
        picture = urllib.request.Request(f"{url}/products/lamp/picture", data=b"\x89PNG", method="PUT", headers=auth)
        urllib.request.urlopen(picture, timeout=10).close()
        with urllib.request.urlopen(f"{url}/products", timeout=10) as answer:
            assert json.loads(answer.read()) == [{"name": "lamp", "id": "lamp"}]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert moto.client("s3").get_object(Bucket=bucket, Key="lamp")["Body"].read() == b"\x89PNG"


def objects(app: Path) -> Mapping[str, Any]:
    found: Mapping[str, Any] = lock(app)["objects"]
    return found


@pytest.mark.slow
def test_the_catalog_plans_applies_and_destroys_on_aws(app: Path, moto_server: Moto) -> None:
    planned = scoot("plan", "--target", "aws", str(app))
    assert planned.exit_code == 0, planned.output
    assert "Plan: 5 to create, 0 to update, 0 to replace, 0 to delete." in planned.output

    applied = scoot("apply", "--target", "aws", "--yes", str(app))
    assert applied.exit_code == 0, applied.output
    assert "5 done, 0 failed" in applied.output
    lineage = lock(app)["lineage"]
    recorded = objects(app)
    web, pictures, products = recorded["api.web"], recorded["api.pictures"], recorded["api.products"]

    # What boto3 sees: the instance, its role with the connections' policies, the stores.
    [instance] = web["identity"]["instances"]
    ec2, iam, s3 = moto_server.client("ec2"), moto_server.client("iam"), moto_server.client("s3")
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert described["State"]["Name"] == "running"
    assert web["outputs"]["host"] == described["PublicIpAddress"]
    # `url` is its load balancer's (see test_aws_balancer.py).
    balancers = moto_server.client("elbv2").describe_load_balancers()["LoadBalancers"]
    assert web["outputs"]["url"] in {f"http://{b['DNSName']}:8080" for b in balancers}
    role = web["identity"]["role"]
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == [
        "scoot-connection-api-web_pictures",
        "scoot-connection-api-web_products",
        "scoot-launch",
    ]
    grant = iam.get_role_policy(RoleName=role, PolicyName="scoot-connection-api-web_pictures")
    bucket = pictures["identity"]["name"]
    assert f"arn:aws:s3:::{bucket}/*" in json.dumps(grant["PolicyDocument"])
    s3.head_bucket(Bucket=bucket)
    moto_server.client("dynamodb").describe_table(TableName=products["identity"]["name"])
    [group] = ec2.describe_security_groups(GroupIds=[web["identity"]["security_group"]])["SecurityGroups"]
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in group["IpPermissions"]] == [(8080, "0.0.0.0/0")]

    # The secret: in the SSM SecureString the instance reads, nowhere else.
    assert SECRET not in user_data(moto_server, instance)
    assert SECRET not in (app / "scoot.lock").read_text() and SECRET not in applied.output
    assert not [p for p in (app / ".scoots").rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    parameter = [line for line in user_data(moto_server, instance).splitlines() if "SCOOT_PARAMETER=" in line]
    name = parameter[0].split("SCOOT_PARAMETER=")[1].split()[0]
    launch = json.loads(
        moto_server.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    )
    assert launch["env"]["ADMIN_TOKEN"] == SECRET
    assert launch["env"]["PICTURES_URL"] == f"s3://{bucket}" and launch["env"]["PORT"] == "8080"

    # The application itself, given what an instance gets (the launch parameter's environment),
    # stores products in the DynamoDB table and pictures in the S3 bucket.
    run_like_an_instance(app, launch["env"], moto_server, bucket)

    # `scoot logs`: the instance's console, as EC2 gives it.
    # (The API documents it base64-encoded; botocore hands over moto's as text.)
    expected = moto_server.client("ec2").get_console_output(InstanceId=instance)["Output"].splitlines()
    logs = scoot("logs", "--target", "aws", "api.web", str(app))
    assert logs.exit_code == 0 and expected and logs.output.splitlines() == expected, logs.output
    assert scoot("logs", "--target", "aws", "api.web", "--replica", "1", str(app)).output == ""
    storage_logs = scoot("logs", "--target", "aws", "api.pictures", str(app))
    assert storage_logs.exit_code == 1 and "only compute objects write logs" in storage_logs.output

    # Idempotence: nothing to do.
    again = scoot("apply", "--target", "aws", "--yes", str(app))
    assert again.exit_code == 0 and "No changes" in again.output, again.output

    # Drift: the bucket deleted behind scoot's back is reported, and repaired.
    s3.delete_object(Bucket=bucket, Key="lamp")
    s3.delete_bucket(Bucket=bucket)
    drifted = scoot("plan", "--target", "aws", str(app))
    assert "api.pictures (storage) is gone" in drifted.output, drifted.output
    repaired = scoot("apply", "--target", "aws", "--yes", str(app))
    assert repaired.exit_code == 0, repaired.output
    s3.head_bucket(Bucket=bucket)
    assert objects(app)["api.web"]["identity"] == web["identity"]  # the instance was not touched
    assert scoot("plan", "--target", "aws", str(app)).output.startswith("No changes")

    assert len(leftovers(moto_server, lineage)) >= 8  # what the listing below would catch
    destroyed = scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(app))
    assert destroyed.exit_code == 0, destroyed.output
    assert leftovers(moto_server, lineage) == []


@pytest.mark.slow
def test_destroy_keeps_the_stores_unless_asked_and_the_next_apply_takes_them_up(
    app: Path, moto_server: Moto
) -> None:
    assert scoot("apply", "--target", "aws", "--yes", str(app)).exit_code == 0
    lineage = lock(app)["lineage"]
    bucket = objects(app)["api.pictures"]["identity"]["name"]
    table = objects(app)["api.products"]["identity"]["name"]
    s3 = moto_server.client("s3")
    s3.put_object(Bucket=bucket, Key="p1", Body=b"a picture")

    destroyed = scoot("destroy", "--target", "aws", "--yes", str(app))
    assert destroyed.exit_code == 0, destroyed.output
    assert "Storage data was kept" in destroyed.output and f"s3://{bucket}" in destroyed.output
    # The stores stay; the instances, roles, groups, parameters and archives are gone.
    assert sorted(leftovers(moto_server, lineage)) == [f"bucket {bucket}", f"table {table}"]

    # The next apply takes the kept stores up again, data and all.
    assert scoot("apply", "--target", "aws", "--yes", str(app)).exit_code == 0
    assert objects(app)["api.pictures"]["identity"]["name"] == bucket
    assert s3.get_object(Bucket=bucket, Key="p1")["Body"].read() == b"a picture"


@pytest.mark.slow
def test_a_kill_9_after_aws_made_an_instance_loses_nothing(app: Path, moto_server: Moto) -> None:
    """`kill -9` while RunInstances has happened but its answer has not come back: the next
    plan finds the instance by its tags, the next apply adopts it, and destroy removes all."""
    proxy = Proxy(moto_server.endpoint_url, hang_on=b"Action=RunInstances")
    proxy.start()
    settings = (app / "scoot.toml").read_text(encoding="utf-8")
    (app / "scoot.toml").write_text(settings.replace(moto_server.endpoint_url, proxy.url), encoding="utf-8")
    environment = {**os.environ, "CATALOG_ADMIN_TOKEN": SECRET}
    try:
        applying = subprocess.Popen(
            [sys.executable, "-m", "scoot_cli", "apply", "--target", "aws", "--yes", str(app)],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert proxy.hung.wait(60), "the apply never reached RunInstances"
        finally:
            applying.kill()
            applying.wait()
        proxy.release()
        made = [
            i["InstanceId"]
            for r in moto_server.client("ec2").describe_instances(
                Filters=[{"Name": "tag:scoot:object", "Values": ["web"]}, {"Name": "instance-state-name", "Values": ["running"]}]
            )["Reservations"]
            for i in r["Instances"]
            if {"Key": "scoot:application", "Value": "catalog"} in i["Tags"]
        ]
        assert len(made) == 1, made

        planned = scoot("plan", "--target", "aws", str(app))
        assert planned.exit_code == 0, planned.output
        # EC2 keeps no record of what an instance was made from: it is updated to what is
        # wanted (the same generation: the instance is kept, not rolled).
        assert "api.web (compute) found after an interrupted run: it will be updated" in planned.output, planned.output
        assert "what it was made from cannot be told" in planned.output
        # The kill left the shared apply lock in S3: the next apply names the dead run and how to break it.
        refused = scoot("apply", "--target", "aws", "--yes", str(app))
        assert refused.exit_code == 1
        assert f"pid {applying.pid} no longer runs on this host" in refused.output, refused.output
        unlocked = scoot("force-unlock", "aws", str(app))
        assert unlocked.exit_code == 0, unlocked.output
        applied = scoot("apply", "--target", "aws", "--yes", str(app))
        assert applied.exit_code == 0, applied.output
        # The instance made before the kill is the one recorded: no second one.
        assert objects(app)["api.web"]["identity"]["instances"] == made
        lineage = lock(app)["lineage"]
        destroyed = scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(app))
        assert destroyed.exit_code == 0, destroyed.output
        assert leftovers(moto_server, lineage) == []
    finally:
        proxy.stop()


@pytest.mark.slow
def test_the_same_architecture_runs_on_the_local_target(app: Path) -> None:
    """No `--target`: the local driver, whose `table` and `bucket` are a SQLite file and a folder."""
    port = free_port()
    param = f"api_port={port}"
    try:
        applied = scoot("apply", "--yes", "--param", param, str(app))
        assert applied.exit_code == 0, applied.output
        auth = {"Authorization": f"Bearer {SECRET}"}
        url = f"http://127.0.0.1:{port}"
        put = urllib.request.Request(f"{url}/products/lamp", data=b'{"name": "lamp"}', method="PUT", headers=auth)
        urllib.request.urlopen(put, timeout=10).close()
        with urllib.request.urlopen(f"{url}/products/lamp", timeout=10) as answer:
            assert json.loads(answer.read()) == {"name": "lamp", "id": "lamp"}
        local = json.loads((app / "scoot.lock").read_text(encoding="utf-8"))["targets"]["local"]["objects"]
        # Recorded relative to the application folder (scoot.lock holds no machine's paths).
        assert local["api.products"]["outputs"]["url"] == "sqlite:.scoots/data/api/products.table.sqlite"
        assert local["api.pictures"]["outputs"]["url"].startswith("file:.scoots/data/api/")
    finally:
        destroyed = scoot("destroy", "--yes", "--delete-data", "--param", param, str(app))
        assert destroyed.exit_code == 0, destroyed.output


@pytest.mark.slow
def test_a_changed_target_option_is_planned_by_name_and_applied(app: Path, moto_server: Moto) -> None:
    assert scoot("apply", "--target", "aws", "--yes", str(app)).exit_code == 0
    before = objects(app)["api.web"]["identity"]
    settings = (app / "scoot.toml").read_text(encoding="utf-8")
    (app / "scoot.toml").write_text(
        settings + 'instance_type = "t3.large"\ningress_cidr = "203.0.113.0/24"\n', encoding="utf-8"
    )

    planned = scoot("plan", "--target", "aws", str(app))
    assert planned.exit_code == 0, planned.output
    assert "api.web (compute) will be updated in place" in planned.output, planned.output
    assert "~ instance_type changed" in planned.output and "~ ingress_cidr changed" in planned.output
    # New instances, a new address: the connections from web get it.
    assert "api.web_pictures (connection) will be updated in place" in planned.output
    assert "Plan: 0 to create, 3 to update, 0 to replace, 0 to delete." in planned.output, planned.output

    applied = scoot("apply", "--target", "aws", "--yes", str(app))
    assert applied.exit_code == 0, applied.output
    after = objects(app)["api.web"]["identity"]
    assert not set(after["instances"]) & set(before["instances"])  # rolled onto t3.large
    ec2 = moto_server.client("ec2")
    found = ec2.describe_instances(InstanceIds=after["instances"])["Reservations"]
    assert [i["InstanceType"] for r in found for i in r["Instances"]] == ["t3.large"]
    [group] = ec2.describe_security_groups(GroupIds=[after["security_group"]])["SecurityGroups"]
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in group["IpPermissions"]] == [(8080, "203.0.113.0/24")]
    assert scoot("plan", "--target", "aws", str(app)).output.startswith("No changes")

    # A rule added by hand is drift, and the next apply takes it away.
    ec2.authorize_security_group_ingress(
        GroupId=after["security_group"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    drifted = scoot("plan", "--target", "aws", str(app))
    assert "api.web (compute) has drifted: it will be repaired" in drifted.output, drifted.output
    assert "lets in tcp 22 from 0.0.0.0/0" in drifted.output
    assert scoot("apply", "--target", "aws", "--yes", str(app)).exit_code == 0
    [group] = ec2.describe_security_groups(GroupIds=[after["security_group"]])["SecurityGroups"]
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in group["IpPermissions"]] == [(8080, "203.0.113.0/24")]
    assert objects(app)["api.web"]["identity"]["instances"] == after["instances"]  # no roll for that


CRASH_AFTER_CREATE_BUCKET = """
import os, sys
from scoot_cli import cli
from scoot_runtime.drivers.aws import session

call = session.Aws.call

async def crashing(self, service, operation, **arguments):
    if operation == "put_public_access_block" and "pictures" in arguments.get("Bucket", ""):
        os._exit(9)  # like kill -9: S3 made the bucket, scoot has not tagged it
    return await call(self, service, operation, **arguments)

session.Aws.call = crashing
cli(["apply", "--target", "aws", "--yes", sys.argv[1]])
"""


@pytest.mark.slow
def test_a_crash_before_a_bucket_is_tagged_leaks_nothing(app: Path, moto_server: Moto) -> None:
    environment = {**os.environ, "CATALOG_ADMIN_TOKEN": SECRET}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_CREATE_BUCKET, str(app)], env=environment, capture_output=True, timeout=120
    )
    assert crashed.returncode == 9, crashed.stderr.decode()
    s3 = moto_server.client("s3")
    pictures = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("scoot-api-pictures-")]
    assert len(pictures) == 1
    [bucket] = pictures
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchTagSet"):
        s3.get_bucket_tagging(Bucket=bucket)

    planned = scoot("plan", "--target", "aws", str(app))
    assert planned.exit_code == 0, planned.output
    assert f"the bucket {bucket} is not tagged yet (its create was interrupted)" in planned.output, planned.output
    # The crash left the shared apply lock in S3: broken once its run is known to be gone.
    assert "no longer runs on this host" in scoot("destroy", "--target", "aws", "--yes", str(app)).output
    assert scoot("force-unlock", "aws", str(app)).exit_code == 0
    # Destroyed before any apply finished: the untagged bucket is found, and deleted with the data.
    destroyed = scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(app))
    assert destroyed.exit_code == 0, destroyed.output
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert leftovers(moto_server, lock(app)["lineage"]) == []
