"""The aws driver beyond the conformance suite: checks, options, names, ownership, rolls,
connections, secrets, retries. Against moto's server, like everything in tests/aws."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto_server import REGION, Moto, Proxy, leftovers

from scoot_runtime import drivers
from scoot_runtime.drivers.aws import AwsDriver
from scoot_runtime.drivers.aws.errors import AwsDriverError
from scoot_runtime.drivers.aws.launch import LAUNCHER
from scoot_runtime.drivers.aws.naming import Names
from scoot_runtime.drivers.base import Address, Created, ObjectSpec
from scoot_runtime.testing import context_for, make_spec, record

WEB = Address("api", "web")
FILES = Address("api", "files")


@pytest.fixture
def driver(tmp_path: Path, moto_server: Moto) -> Iterator[AwsDriver]:
    made = AwsDriver(context_for(tmp_path, region=REGION, endpoint_url=moto_server.endpoint_url))
    yield made
    asyncio.run(made.close())
    assert leftovers(moto_server, made.context.lineage) == []


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "server.py").write_text("print('hi')\n", encoding="utf-8")
    return folder


def compute(source: Path, revision: str = "sha256:" + "1" * 64, **config: Any) -> ObjectSpec:
    return make_spec(WEB, "compute", {"command": ["python3", "server.py"], "port": 8080, **config}, source, revision)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# -- plan time ------------------------------------------------------------------------------


def test_the_driver_is_registered_under_aws() -> None:
    assert drivers.load("aws") is AwsDriver
    assert AwsDriver.parallelism is not None and AwsDriver.option_names >= {"region", "endpoint_url"}


def test_check_refuses_engines_it_cannot_provide_and_names_those_it_can(driver: AwsDriver) -> None:
    [failure] = driver.check(make_spec(FILES, "storage", {"engine": "sqlite"}))
    assert failure.key == "engine"
    assert "`bucket` (S3) and `table` (DynamoDB), not `sqlite`" in failure.message
    assert driver.check(make_spec(FILES, "storage", {"engine": "bucket"})) == []
    assert driver.check(make_spec(FILES, "storage", {"engine": "${api.settings.engine}"})) == []
    assert driver.check(make_spec(FILES, "queue", {})) != []


def test_check_applies_the_compute_rules(driver: AwsDriver, source: Path) -> None:
    failures = driver.check(make_spec(WEB, "compute", {"command": "python3 server.py"}))
    assert [f.key for f in failures] == ["command"]
    assert driver.check(compute(source)) == []
    # Every replica is its own instance, all on `port`: no "port + i" limit here.
    assert driver.check(compute(source, port=65535, replicas=3)) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"region": "Europe"}, "region name"),
        ({"region": REGION, "endpoint_url": "localhost:5000"}, "http://"),
        ({"region": REGION, "ingress_cidr": "everyone"}, "CIDR"),
        ({"region": REGION, "boot_timeout": "soon"}, "boot_timeout"),
        ({"region": REGION, "profile": "no-such-profile-here"}, "no-such-profile-here"),
    ],
)
def test_bad_options_are_explained(tmp_path: Path, moto_server: Moto, options: dict[str, Any], message: str) -> None:
    with pytest.raises(AwsDriverError, match=re.escape(message)):
        AwsDriver(context_for(tmp_path, **options))


def test_no_region_anywhere_is_explained(tmp_path: Path, moto_server: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(AwsDriverError, match="no AWS region: set `region`"):
        AwsDriver(context_for(tmp_path))


def test_throttling_is_retried_with_backoff(tmp_path: Path, moto_server: Moto) -> None:
    proxy = Proxy(moto_server.endpoint_url, throttled=3)
    proxy.start()
    driver = AwsDriver(context_for(tmp_path, region=REGION, endpoint_url=proxy.url, max_attempts=5))
    assert driver.aws.client("s3").meta.config.retries["mode"] == "adaptive"
    spec = make_spec(FILES, "storage", {"engine": "bucket"})
    try:
        created = run(driver.create(spec))  # the first three calls are refused: retried
        assert proxy.seen > 3
        run(driver.delete(spec, record(spec, created), delete_data=True))
    finally:
        run(driver.close())
        proxy.stop()


def test_a_call_throttled_past_max_attempts_is_an_error_that_says_so(tmp_path: Path, moto_server: Moto) -> None:
    proxy = Proxy(moto_server.endpoint_url, throttled=1000)
    proxy.start()
    driver = AwsDriver(context_for(tmp_path, region=REGION, endpoint_url=proxy.url, max_attempts=2))
    try:
        with pytest.raises(AwsDriverError, match="still refused after 2 attempts with backoff"):
            run(driver.create(make_spec(FILES, "storage", {"engine": "bucket"})))
        assert proxy.seen == 2
    finally:
        run(driver.close())
        proxy.stop()


def test_no_credentials_is_explained(tmp_path: Path, moto_server: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to find here
    driver = AwsDriver(context_for(tmp_path, region=REGION, endpoint_url=moto_server.endpoint_url))
    try:
        with pytest.raises(AwsDriverError, match="no AWS credentials: set AWS_PROFILE"):
            run(driver.read(make_spec(FILES, "storage", {"engine": "bucket"}), None))
    finally:
        run(driver.close())


def test_names_are_deterministic_valid_and_per_lineage() -> None:
    names = Names("Shop_App", "lineage-one")
    long = Address("a_very_long_component_name_" * 3, "And_An_Object")
    bucket = names.bucket(long)
    assert bucket == names.bucket(long) and len(bucket) <= 63
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", bucket)
    assert len(names.role(long)) <= 64
    assert names.bucket(long) != Names("Shop_App", "lineage-two").bucket(long)
    # Lowercasing cannot make two objects share a bucket: the digest is of the exact names.
    assert names.bucket(Address("api", "Files")) != names.bucket(Address("api", "files"))


# -- ownership ------------------------------------------------------------------------------


def test_a_bucket_of_another_state_is_never_taken_over_or_deleted(
    tmp_path: Path, moto_server: Moto, driver: AwsDriver
) -> None:
    spec = make_spec(FILES, "storage", {"engine": "bucket"})
    name = driver.names.bucket(FILES)
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "scoot:lineage", "Value": "someone-else"}]})
    try:
        assert run(driver.read(spec, None)) is None
        with pytest.raises(AwsDriverError, match="not made by this scoot state"):
            run(driver.create(spec))
        fake = record(spec, Created({"engine": "bucket", "name": name}, {}))
        with pytest.raises(AwsDriverError, match="not made by this scoot state"):
            run(driver.delete(spec, fake, delete_data=True))
        s3.head_bucket(Bucket=name)  # still there
    finally:
        s3.delete_bucket(Bucket=name)


def test_renaming_the_application_finds_everything_again(
    tmp_path: Path, moto_server: Moto, driver: AwsDriver, source: Path
) -> None:
    spec, files = compute(source), make_spec(FILES, "storage", {"engine": "bucket"})
    created, stored = run(driver.create(spec)), run(driver.create(files))
    context = dataclasses.replace(driver.context, application="renamed")
    renamed = AwsDriver(context)
    try:
        found = run(renamed.read(spec, None))
        assert found is not None and found.identity == created.identity and found.drift == ()
        assert run(renamed.read(files, record(files, stored))) is not None
        run(renamed.delete(spec, record(spec, created)))
        run(renamed.delete(files, record(files, stored), delete_data=True))
    finally:
        run(renamed.close())


# -- compute --------------------------------------------------------------------------------


def test_replicas_scale_without_rolling_and_a_new_revision_rolls(
    driver: AwsDriver, source: Path, moto_server: Moto
) -> None:
    async def scenario() -> None:
        one = compute(source)
        created = await driver.create(one)
        [first] = created.identity["instances"]

        three = compute(source, replicas=3)
        scaled = await driver.update(three, record(one, created))
        assert scaled.identity["instances"][0] == first and len(scaled.identity["instances"]) == 3

        rolled_spec = compute(source, revision="sha256:" + "2" * 64, replicas=3)
        assert "revision" in driver.diff(rolled_spec, record(three, scaled)).changed
        rolled = await driver.update(rolled_spec, record(three, scaled))
        assert not set(rolled.identity["instances"]) & set(scaled.identity["instances"])
        observed = await driver.read(rolled_spec, record(rolled_spec, rolled))
        assert observed is not None and observed.drift == () and observed.identity == rolled.identity
        # Only the current revision's archive is left.
        s3 = moto_server.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=driver.artifacts.bucket)["Contents"]]
        assert keys == ["api/web/2222222222222222.tar.gz"]

        await driver.delete(rolled_spec, record(rolled_spec, rolled))
        assert await driver.read(rolled_spec, None) is None

    run(scenario())


def test_a_replica_terminated_behind_its_back_is_drift_and_only_it_is_replaced(
    driver: AwsDriver, source: Path, moto_server: Moto
) -> None:
    async def scenario() -> None:
        spec = compute(source, replicas=2)
        created = await driver.create(spec)
        kept, lost = created.identity["instances"]
        await asyncio.to_thread(moto_server.client("ec2").terminate_instances, InstanceIds=[lost])
        observed = await driver.read(spec, record(spec, created))
        assert observed is not None and any(lost in d for d in observed.drift)
        repaired = await driver.update(spec, record(spec, created))
        assert repaired.identity["instances"][0] == kept and lost not in repaired.identity["instances"]
        await driver.delete(spec, record(spec, repaired))

    run(scenario())


def test_an_interrupted_create_is_found_by_name_and_finished_by_the_next(
    driver: AwsDriver, source: Path
) -> None:
    async def scenario() -> None:
        spec = compute(source)
        first = await driver.create(spec)
        # The next run knows only that a create started: it finds what was made...
        found = await driver.read(spec, None)
        assert found is not None and found.identity == first.identity
        # ...and a create again converges on it instead of making a second set.
        again = await driver.create(spec)
        assert again.identity == first.identity
        await driver.delete(spec, record(spec, again))

    run(scenario())


def test_secrets_go_to_ssm_never_into_user_data(driver: AwsDriver, source: Path, moto_server: Moto) -> None:
    secret = "s3cr3t-value-that-must-not-leak"
    spec = compute(source, env={"TOKEN": secret, "DEBUG": True, "WORKERS": 4})

    async def scenario() -> None:
        created = await driver.create(spec)
        try:
            ec2 = moto_server.client("ec2")
            [instance] = created.identity["instances"]
            found = ec2.describe_instance_attribute(InstanceId=instance, Attribute="userData")
            script = base64.b64decode(found["UserData"]["Value"]).decode()
            assert secret not in script and "systemctl enable --now scoot-app.service" in script
            subprocess.run(["bash", "-n"], input=script, text=True, check=True)  # it parses
            compile(LAUNCHER, "launch.py", "exec")
            # The console output of the instance, where the unit also writes.
            lines = [line async for line in driver.logs(WEB, record(spec, created))]
            assert lines and {line.source for line in lines} == {instance}
            assert secret not in json.dumps(created.identity) + json.dumps(created.outputs)
            parameter = moto_server.client("ssm").get_parameter(
                Name=driver.names.parameter(WEB), WithDecryption=True
            )["Parameter"]
            assert parameter["Type"] == "SecureString"
            launch = json.loads(parameter["Value"])
            assert launch["env"] == {
                "TOKEN": secret,
                "DEBUG": "true",
                "WORKERS": "4",
                "PORT": "8080",
                "HOST": "0.0.0.0",
            }
            assert launch["command"] == ["python3", "server.py"]
        finally:
            await driver.delete(spec, record(spec, created))

    run(scenario())


def test_changing_the_port_changes_the_security_group(driver: AwsDriver, source: Path, moto_server: Moto) -> None:
    async def scenario() -> None:
        spec = compute(source)
        created = await driver.create(spec)
        moved = compute(source, port=9090)
        updated = await driver.update(moved, record(spec, created))
        assert updated.outputs["port"] == 9090 and updated.outputs["url"].endswith(":9090")
        assert updated.identity["security_group"] == created.identity["security_group"]
        groups = moto_server.client("ec2").describe_security_groups(GroupIds=[updated.identity["security_group"]])
        assert [p["FromPort"] for p in groups["SecurityGroups"][0]["IpPermissions"]] == [9090]
        await driver.delete(moved, record(moved, updated))

    run(scenario())


# -- connection -----------------------------------------------------------------------------


def test_a_connection_grants_the_compute_role_access_and_edits_are_drift(
    driver: AwsDriver, source: Path, moto_server: Moto
) -> None:
    async def scenario() -> None:
        web = compute(source)
        files = make_spec(FILES, "storage", {"engine": "bucket"})
        made_web, made_files = await driver.create(web), await driver.create(files)
        link = make_spec(
            Address("api", "web_files"),
            "connection",
            {
                "from": {"address": "api.web", "kind": "compute", "outputs": dict(made_web.outputs)},
                "to": {"address": "api.files", "kind": "storage", "outputs": dict(made_files.outputs)},
                "injected": ["FILES_URL"],
            },
        )
        made = await driver.create(link)
        assert made.outputs == {"env": "FILES_URL"}
        iam = moto_server.client("iam")
        role = made_web.identity["role"]
        policy = iam.get_role_policy(RoleName=role, PolicyName=made.identity["policy"])["PolicyDocument"]
        bucket = made_files.identity["name"]
        assert {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"} in policy["Statement"]
        recorded = record(link, made)
        by_name = await driver.read(link, None)  # after a crash: found by its name
        assert by_name is not None and by_name.identity == made.identity
        observed = await driver.read(link, recorded)
        assert observed is not None and observed.drift == () and observed.identity == made.identity
        # Widened behind scoot's back: drift, and update puts it back.
        iam.put_role_policy(
            RoleName=role,
            PolicyName=made.identity["policy"],
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
        )
        drifted = await driver.read(link, recorded)
        assert drifted is not None and drifted.drift
        assert (await driver.update(link, recorded)).identity == made.identity
        await driver.delete(link, recorded)
        assert await driver.read(link, recorded) is None
        await driver.delete(web, record(web, made_web))
        await driver.delete(files, record(files, made_files), delete_data=True)

    run(scenario())
