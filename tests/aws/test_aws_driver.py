"""The aws driver beyond the conformance suite: checks, options, names, ownership, rolls,
connections, secrets, retries. Against moto's server, like everything in tests/aws."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from moto_server import REGION, Moto, Proxy

from scoot_runtime import drivers
from scoot_runtime.conformance import context_for, make_spec, record
from scoot_runtime.drivers.aws import AwsDriver
from scoot_runtime.drivers.aws.errors import AwsDriverError
from scoot_runtime.drivers.aws.launch import LAUNCHER
from scoot_runtime.drivers.aws.naming import Names
from scoot_runtime.drivers.base import Address, Created, ObjectSpec

WEB = Address("api", "web")
FILES = Address("api", "files")


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


def with_options(driver: AwsDriver, **options: Any) -> AwsDriver:
    """Another driver on the same state, its target's options changed."""
    return AwsDriver(dataclasses.replace(driver.context, options={**driver.context.options, **options}))


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


# -- target options, the security group, what rolls ------------------------------------------


def instance_types(moto: Moto, ids: list[str]) -> list[str]:
    found = moto.client("ec2").describe_instances(InstanceIds=ids)["Reservations"]
    return [i["InstanceType"] for r in found for i in r["Instances"]]


def ingress(moto: Moto, group: str) -> list[tuple[int, list[str]]]:
    [found] = moto.client("ec2").describe_security_groups(GroupIds=[group])["SecurityGroups"]
    return [(p["FromPort"], [r["CidrIp"] for r in p.get("IpRanges", ())]) for p in found["IpPermissions"]]


def test_a_changed_instance_type_is_planned_by_name_and_rolls(
    tmp_path: Path, driver: AwsDriver, source: Path, moto_server: Moto
) -> None:
    spec = compute(source)
    larger = with_options(driver, instance_type="t3.large")

    async def scenario() -> None:
        created = await driver.create(spec)
        assert instance_types(moto_server, created.identity["instances"]) == ["t3.micro"]
        diff = larger.diff(spec, record(spec, created))
        assert diff.changed == ("instance_type",) and diff.replace == ()
        assert diff.outputs == ("host",)  # new instances; the port, and the balancer's url, stay
        rolled = await larger.update(spec, record(spec, created))
        assert not set(rolled.identity["instances"]) & set(created.identity["instances"])
        assert instance_types(moto_server, rolled.identity["instances"]) == ["t3.large"]
        assert larger.diff(spec, record(spec, rolled)).changed == ()
        observed = await larger.read(spec, record(spec, rolled))
        assert observed is not None and observed.drift == ()
        await larger.delete(spec, record(spec, rolled))

    try:
        run(scenario())
    finally:
        run(larger.close())


def test_a_record_without_the_options_reads_a_changed_instance_type_as_drift(
    tmp_path: Path, driver: AwsDriver, source: Path
) -> None:
    """State applied before the options were recorded: `read` compares with the target's."""
    spec = compute(source)
    larger = with_options(driver, instance_type="t3.large")

    async def scenario() -> None:
        created = await driver.create(spec)
        old = Created({k: v for k, v in created.identity.items() if k != "options"}, created.outputs)
        observed = await larger.read(spec, record(spec, old))
        assert observed is not None
        [instance] = created.identity["instances"]
        assert observed.drift == (f"instance {instance} (replica 0) is a t3.micro, not a t3.large",)
        rolled = await larger.update(spec, record(spec, old))
        assert instance not in rolled.identity["instances"]
        await larger.delete(spec, record(spec, rolled))

    try:
        run(scenario())
    finally:
        run(larger.close())


def test_a_changed_ingress_cidr_is_planned_by_name_and_replaces_the_rule_without_a_roll(
    tmp_path: Path, driver: AwsDriver, source: Path, moto_server: Moto
) -> None:
    spec = compute(source)
    narrow = with_options(driver, ingress_cidr="203.0.113.0/24")

    async def scenario() -> None:
        created = await driver.create(spec)
        group = created.identity["security_group"]
        assert ingress(moto_server, group) == [(8080, ["0.0.0.0/0"])]
        diff = narrow.diff(spec, record(spec, created))
        assert diff.changed == ("ingress_cidr",) and diff.replace == () and diff.outputs == ()
        updated = await narrow.update(spec, record(spec, created))
        assert updated.identity["instances"] == created.identity["instances"]
        assert updated.outputs == created.outputs
        assert ingress(moto_server, group) == [(8080, ["203.0.113.0/24"])]
        observed = await narrow.read(spec, record(spec, updated))
        assert observed is not None and observed.drift == ()
        await narrow.delete(spec, record(spec, updated))

    try:
        run(scenario())
    finally:
        run(narrow.close())


def test_a_rule_edited_by_hand_on_the_security_group_is_drift_and_repaired(
    driver: AwsDriver, source: Path, moto_server: Moto
) -> None:
    async def scenario() -> None:
        spec = compute(source)
        created = await driver.create(spec)
        group = created.identity["security_group"]
        ec2 = moto_server.client("ec2")
        await asyncio.to_thread(
            ec2.authorize_security_group_ingress,
            GroupId=group,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        observed = await driver.read(spec, record(spec, created))
        assert observed is not None
        assert observed.drift == (
            # 8080 from the group itself too: its load balancer is in it.
            f"its security group {group} lets in tcp 22 from 0.0.0.0/0; tcp 8080 from 0.0.0.0/0, {group}, "
            f"not tcp 8080 from 0.0.0.0/0, {group}",
        )
        repaired = await driver.update(spec, record(spec, created))
        assert repaired.identity["instances"] == created.identity["instances"]
        assert ingress(moto_server, group) == [(8080, ["0.0.0.0/0"])]
        again = await driver.read(spec, record(spec, repaired))
        assert again is not None and again.drift == ()
        await driver.delete(spec, record(spec, repaired))

    run(scenario())


def test_an_instance_type_changed_by_hand_is_drift_and_the_instance_replaced(
    driver: AwsDriver, source: Path, moto_server: Moto
) -> None:
    async def scenario() -> None:
        spec = compute(source)
        created = await driver.create(spec)
        [instance] = created.identity["instances"]
        ec2 = moto_server.client("ec2")
        await asyncio.to_thread(
            ec2.modify_instance_attribute, InstanceId=instance, InstanceType={"Value": "m5.xlarge"}
        )
        observed = await driver.read(spec, record(spec, created))
        assert observed is not None
        assert observed.drift == (f"instance {instance} (replica 0) is a m5.xlarge, not a t3.micro",)
        repaired = await driver.update(spec, record(spec, created))
        assert instance not in repaired.identity["instances"]
        assert instance_types(moto_server, repaired.identity["instances"]) == ["t3.micro"]
        await driver.delete(spec, record(spec, repaired))

    run(scenario())


def test_only_a_change_that_rolls_the_instances_changes_their_outputs(driver: AwsDriver, source: Path) -> None:
    applied = compute(source, replicas=2, health="/healthz")
    options = {"instance_type": "t3.micro", "ami": None, "subnet_id": None, "key_name": None, "ingress_cidr": "0.0.0.0/0"}
    made = Created(
        {"instances": ["i-1", "i-2"], "security_group": "sg-1", "role": "r", "options": options},
        {"host": "10.0.0.1", "port": 8080, "url": "http://10.0.0.1:8080"},
    )
    recorded = record(applied, made)
    assert driver.diff(applied, recorded).changed == ()
    health = driver.diff(compute(source, replicas=2, health="/ready"), recorded)
    assert health.changed == ("health",) and health.outputs == ()
    replicas = driver.diff(compute(source, replicas=3, health="/healthz"), recorded)
    assert replicas.changed == ("replicas",) and replicas.outputs == ()
    env = driver.diff(compute(source, replicas=2, health="/healthz", env={"A": "1"}), recorded)
    assert env.changed == ("env",) and env.outputs == ("host", "url")
    port = driver.diff(compute(source, replicas=2, health="/healthz", port=9090), recorded)
    assert port.changed == ("port",) and port.outputs == ("host", "port", "url")
    batch = driver.diff(compute(source, replicas=2, health="/healthz", max_unavailable=2), recorded)
    assert batch.changed == ("max_unavailable",) and batch.outputs == ()
    # Behind its load balancer, a roll keeps `url` (the balancer's); a new port changes it.
    behind = record(applied, Created({**made.identity, "load_balancer": "arn:lb"}, made.outputs))
    env = driver.diff(compute(source, replicas=2, health="/healthz", env={"A": "1"}), behind)
    assert env.changed == ("env",) and env.outputs == ("host",)
    port = driver.diff(compute(source, replicas=2, health="/healthz", port=9090), behind)
    assert port.outputs == ("host", "port", "url")


# -- storage and artifacts after a crash --------------------------------------------------------


def test_a_bucket_left_untagged_by_a_crash_is_adopted_tagged_and_deleted(
    driver: AwsDriver, moto_server: Moto
) -> None:
    """A kill between CreateBucket and tagging: the bucket has this state's name, no tags."""
    spec = make_spec(FILES, "storage", {"engine": "bucket"})
    name = driver.names.bucket(FILES)
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})

    found = run(driver.read(spec, None))
    assert found is not None and found.identity == {"engine": "bucket", "name": name}
    assert found.drift == (f"the bucket {name} is not tagged yet (its create was interrupted)",)
    # Still untagged, deleting it (with its data) is allowed: it is ours.
    run(driver.delete(spec, record(spec, Created(found.identity, found.outputs)), delete_data=True))
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    created = run(driver.create(spec))  # the next apply takes it up and tags it
    observed = run(driver.read(spec, None))
    assert observed is not None and observed.drift == () and observed.identity == created.identity
    run(driver.delete(spec, record(spec, created), delete_data=True))


def test_an_artifact_bucket_left_untagged_by_a_crash_is_deleted_with_the_last_archive(
    driver: AwsDriver, moto_server: Moto
) -> None:
    s3 = moto_server.client("s3")
    bucket = driver.artifacts.bucket
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    run(driver.artifacts.remove(WEB))
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


# -- logs ---------------------------------------------------------------------------------------


def test_logs_follow_a_console_window_that_slides_and_say_when_lines_were_missed(
    tmp_path: Path, driver: AwsDriver, source: Path, moto_server: Moto, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EC2 keeps a console's newest 64 KiB: once full, each refresh drops old lines. moto's
    console never changes, so a proxy answers GetConsoleOutput with these windows in turn."""
    windows = [range(0, 5), range(3, 8), range(6, 11), range(6, 11), range(20, 24)]
    served: list[int] = []

    def console(request: bytes, answer: bytes) -> bytes:
        if b"Action=GetConsoleOutput" not in request:
            return answer
        lines = windows[min(len(served), len(windows) - 1)]
        served.append(1)
        text = base64.b64encode("".join(f"line {i}\n" for i in lines).encode()).decode()
        return re.sub(rb"<output>[^<]*</output>", f"<output>{text}</output>".encode(), answer)

    monkeypatch.setattr("scoot_runtime.drivers.aws.driver.FOLLOW_SECONDS", 0.01)
    proxy = Proxy(moto_server.endpoint_url, rewrite=console)
    proxy.start()
    following = with_options(driver, endpoint_url=proxy.url)
    spec = compute(source)

    async def scenario() -> list[str]:
        created = await driver.create(spec)
        printed: list[str] = []
        try:
            lines = following.logs(WEB, record(spec, created), follow=True)
            async for line in lines:
                assert line.source == created.identity["instances"][0]
                printed.append(line.text)
                if printed[-1] == "line 23":
                    break
            await lines.aclose()  # type: ignore[attr-defined]
        finally:
            await driver.delete(spec, record(spec, created))
        return printed

    try:
        printed = asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        run(following.close())
        proxy.stop()
    skipped = "[scoot: EC2 dropped console output here before it could be read; lines are missing. "
    assert printed[:11] == [f"line {i}" for i in range(11)]
    assert printed[11].startswith(skipped)
    assert printed[12:] == [f"line {i}" for i in range(20, 24)]
