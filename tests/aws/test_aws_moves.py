"""Moves, import and forget on target `aws`, through the real command line, against
moto's server: a store moved keeps its bucket (and its objects); a compute moved, alone
or with its component, keeps its instances; a bucket or an instance made beforehand
with boto3 is imported (the next plan creates nothing), one that cannot be is refused
with nothing recorded; and a forgotten bucket outlives destroy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto_server import REGION, Moto, leftovers

from scoot_cli import cli
from scoot_runtime.drivers.aws import AwsDriver
from scoot_runtime.drivers.aws.options import DEFAULT_AMI_PARAMETER
from scoot_runtime.drivers.base import Address, DriverContext, ObjectSpec, Recorded
from scoot_runtime.state import StateStore


def scoot(*args: str, code: int = 0) -> str:
    result: Result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def write(app: Path, body: str, moved: str = "") -> None:
    (app / "architecture.sct").write_text(
        f'application moving {{ owner = "acme" }}\n\ncomponent api {{\n  source = "./app"\n{body}\n}}\n{moved}\n'
    )


def objects(app: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((app / "scoot.lock").read_text())["targets"]["aws"]["objects"]
    return found


@pytest.fixture
def app(tmp_path: Path, moto_server: Moto) -> Iterator[Path]:
    folder = tmp_path / "moving"
    (folder / "app").mkdir(parents=True)
    (folder / "scoot.toml").write_text(
        f'[targets.aws]\ncloud = "aws"\nregion = "{REGION}"\nendpoint_url = "{moto_server.endpoint_url}"\n'
    )
    yield folder
    if (folder / "scoot.lock").exists():
        scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(folder))


def test_a_store_moved_keeps_its_bucket_and_its_objects(app: Path, moto_server: Moto) -> None:
    write(app, '  storage files { engine = "bucket" }\n')
    scoot("apply", "--target", "aws", "--yes", str(app))
    bucket = objects(app)["api.files"]["identity"]["name"]
    s3 = moto_server.client("s3")
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a file")

    write(app, '  storage uploads { engine = "bucket" }\n', "moved {\n  from = api.files\n  to = api.uploads\n}\n")
    plan = scoot("plan", "--target", "aws", str(app))
    assert "→ api.files (storage) will be moved to api.uploads" in plan and "0 to create" in plan, plan
    scoot("apply", "--target", "aws", "--yes", str(app))
    assert list(objects(app)) == ["api.uploads"] and objects(app)["api.uploads"]["identity"]["name"] == bucket
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"a file"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags["scoot:object"] == "uploads"
    assert "No changes" in scoot("plan", "--target", "aws", "--detailed-exitcode", str(app))


WEB = """
  compute web {
    command = ["python3", "server.py"]
    port    = 8080
  }
  storage files { engine = "bucket" }
  connection web_files { from = web, to = files }
"""


def component(name: str, body: str) -> str:
    return f'component {name} {{\n  source = "./app"\n{body}\n}}\n'


def write_components(app: Path, *components: str, moved: str = "") -> None:
    head = 'application moving { owner = "acme" }\n\n'
    (app / "architecture.sct").write_text(head + "\n".join(components) + "\n" + moved)


def lineage(app: Path) -> str:
    found: str = json.loads((app / "scoot.lock").read_text())["targets"]["aws"]["lineage"]
    return found


def live(moto: Moto, ids: list[str]) -> dict[str, dict[str, str]]:
    """The running instances of `ids`: id → tags."""
    reservations = moto.client("ec2").describe_instances(InstanceIds=ids)["Reservations"]
    return {
        i["InstanceId"]: {t["Key"]: t["Value"] for t in i.get("Tags", [])}
        for r in reservations
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
    }


def balancer_owners(moto: Moto, balancer: str) -> dict[str, str]:
    """What the load balancer `balancer` (an ARN), its listeners and its target groups say
    they are part of: kind → `component.object` (as their scoot: tags say)."""
    elbv2 = moto.client("elbv2")
    arns = {"load balancer": balancer}
    for listener in elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]:
        arns["listener"] = listener["ListenerArn"]
        for action in listener["DefaultActions"]:
            arns["target group"] = action["TargetGroupArn"]
    assert len(arns) == 3, arns
    described = elbv2.describe_tags(ResourceArns=list(arns.values()))["TagDescriptions"]
    tags = {d["ResourceArn"]: {t["Key"]: t["Value"] for t in d["Tags"]} for d in described}
    return {kind: f"{tags[arn]['scoot:component']}.{tags[arn]['scoot:object']}" for kind, arn in arns.items()}


def status_ok(app: Path) -> dict[str, str]:
    status = json.loads(scoot("status", "--target", "aws", "--json", str(app)))
    return {o["address"]: o["observed"] for o in status["objects"]}


def test_a_moved_compute_keeps_its_instances_and_a_new_one_may_take_its_old_address(
    app: Path, moto_server: Moto
) -> None:
    write_components(app, component("api", WEB))
    scoot("apply", "--target", "aws", "--yes", str(app))
    before = objects(app)
    instances = before["api.web"]["identity"]["instances"]
    role = before["api.web"]["identity"]["role"]
    iam = moto_server.client("iam")

    moved = WEB.replace("web", "site")
    blocks = "moved {\n  from = api.web\n  to = api.site\n}\nmoved {\n  from = api.web_files\n  to = api.site_files\n}\n"
    write_components(app, component("api", moved), moved=blocks)
    plan = scoot("plan", "--target", "aws", str(app))
    assert "→ api.web (compute) will be moved to api.site" in plan, plan
    assert "0 to create" in plan and "0 to replace" in plan and "0 to delete" in plan, plan
    scoot("apply", "--target", "aws", "--yes", str(app))
    after = objects(app)
    assert sorted(after) == ["api.files", "api.site", "api.site_files"]
    # The same instances run, untouched, tagged with their new address; the role is theirs still.
    assert after["api.site"]["identity"]["instances"] == instances
    assert {tags["scoot:object"] for tags in live(moto_server, instances).values()} == {"site"}
    assert after["api.site"]["identity"]["role"] == role
    assert after["api.site"]["outputs"] == before["api.web"]["outputs"]
    # The same load balancer, its listener and target group tagged with the new address too.
    balancer = before["api.web"]["identity"]["load_balancer"]
    assert after["api.site"]["identity"]["load_balancer"] == balancer
    assert balancer_owners(moto_server, balancer) == dict.fromkeys(["load balancer", "listener", "target group"], "api.site")
    # The connection's policy is renamed on that role, the old name gone.
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == ["scoot-connection-api-site_files", "scoot-launch"]
    assert status_ok(app) == {"api.files": "ok", "api.site": "ok", "api.site_files": "ok"}
    assert "No changes" in scoot("plan", "--target", "aws", "--detailed-exitcode", str(app))

    # A new compute at the old address: its names are not the moved one's.
    write_components(app, component("api", moved + WEB.replace("storage files { engine = \"bucket\" }", "")))
    plan = scoot("plan", "--target", "aws", str(app))
    assert "+ api.web (compute) will be created" in plan and "1 to update" not in plan, plan
    scoot("apply", "--target", "aws", "--yes", str(app))
    both = objects(app)
    assert both["api.web"]["identity"]["named"] == "api.web.2" and both["api.site"]["identity"]["named"] == "api.web"
    assert not set(both["api.web"]["identity"]["instances"]) & set(instances)
    assert set(live(moto_server, instances)) == set(instances)
    assert status_ok(app) == dict.fromkeys(["api.files", "api.site", "api.site_files", "api.web", "api.web_files"], "ok")
    assert "No changes" in scoot("plan", "--target", "aws", "--detailed-exitcode", str(app))

    # Nothing of either is left behind by destroy: the moved one's resources went with it.
    state = lineage(app)
    scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(app))
    assert leftovers(moto_server, state) == []


def test_a_moved_component_keeps_its_instances(app: Path, moto_server: Moto) -> None:
    write_components(app, component("api", WEB))
    scoot("apply", "--target", "aws", "--yes", str(app))
    instances = objects(app)["api.web"]["identity"]["instances"]
    balancer = objects(app)["api.web"]["identity"]["load_balancer"]

    write_components(app, component("shop", WEB), moved="moved {\n  from = api\n  to = shop\n}\n")
    plan = scoot("plan", "--target", "aws", "--json", str(app))
    changes = {c["address"]: c for c in json.loads(plan)["changes"]}
    assert {a: (c["action"], c.get("moved_from")) for a, c in changes.items() if a == "shop.web"} == {
        "shop.web": ("move", "api.web")
    }, plan
    assert json.loads(plan)["summary"]["create"] == 0 and json.loads(plan)["summary"]["delete"] == 0
    scoot("apply", "--target", "aws", "--yes", str(app))
    assert sorted(objects(app)) == ["shop.files", "shop.web", "shop.web_files"]
    assert objects(app)["shop.web"]["identity"]["instances"] == instances
    assert {tags["scoot:component"] for tags in live(moto_server, instances).values()} == {"shop"}
    assert objects(app)["shop.web"]["identity"]["load_balancer"] == balancer
    assert balancer_owners(moto_server, balancer) == dict.fromkeys(["load balancer", "listener", "target group"], "shop.web")
    assert status_ok(app) == {"shop.files": "ok", "shop.web": "ok", "shop.web_files": "ok"}
    assert "No changes" in scoot("plan", "--target", "aws", "--detailed-exitcode", str(app))
    state = lineage(app)
    scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(app))
    assert leftovers(moto_server, state) == []


@pytest.mark.parametrize("interrupted", ["after re-tagging the instances", "before the move was recorded"])
def test_an_interrupted_compute_move_converges_at_the_next_apply(app: Path, moto_server: Moto, interrupted: str) -> None:
    compute = '  compute {name} {{\n    command = ["python3", "server.py"]\n    port = 8080\n  }}\n'
    write(app, compute.format(name="web"))
    scoot("apply", "--target", "aws", "--yes", str(app))
    web = objects(app)["api.web"]
    instances = web["identity"]["instances"]
    write(app, compute.format(name="site"), "moved {\n  from = api.web\n  to = api.site\n}\n")
    # The run that was killed: its intent journalled, never committed.
    store = StateStore(app, "aws", "aws")
    store.load()
    store.begin()
    store.intent("api.site", "move", "compute")
    if interrupted == "after re-tagging the instances":
        tags = [{"Key": "scoot:object", "Value": "site"}]
        moto_server.client("ec2").create_tags(Resources=instances, Tags=tags)
    else:
        options = {"region": REGION, "endpoint_url": moto_server.endpoint_url}
        context = DriverContext("moving", "aws", lineage(app), app / ".scoots", app, options)
        recorded = Recorded("compute", web["config"], web["digests"], web["identity"], web["outputs"], web.get("revision"))

        async def move() -> None:
            driver = AwsDriver(context)
            try:
                await driver.move(ObjectSpec(Address("api", "site"), "compute", web["config"]), recorded, Address("api", "web"))
            finally:
                await driver.close()

        asyncio.run(move())

    scoot("apply", "--target", "aws", "--yes", str(app))
    assert sorted(objects(app)) == ["api.site"]
    assert objects(app)["api.site"]["identity"]["instances"] == instances
    balancer = objects(app)["api.site"]["identity"]["load_balancer"]
    assert balancer_owners(moto_server, balancer) == dict.fromkeys(["load balancer", "listener", "target group"], "api.site")
    assert set(live(moto_server, instances)) == set(instances)
    assert status_ok(app) == {"api.site": "ok"}
    assert "No changes" in scoot("plan", "--target", "aws", "--detailed-exitcode", str(app))
    state = lineage(app)
    scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(app))
    assert leftovers(moto_server, state) == []


def run_instance(moto: Moto, **tags: str) -> str:
    """An instance made by hand (as a user's console or script would), tagged with `tags`."""
    ami = moto.client("ssm").get_parameter(Name=DEFAULT_AMI_PARAMETER)["Parameter"]["Value"]
    arguments: dict[str, Any] = {"ImageId": ami, "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1}
    if tags:
        arguments["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
    found: str = moto.client("ec2").run_instances(**arguments)["Instances"][0]["InstanceId"]
    return found


def test_import_a_running_instance_then_plan_creates_nothing(app: Path, moto_server: Moto) -> None:
    instance = run_instance(moto_server, Name="made-by-hand")
    write(app, '  compute web {\n    command = ["python3", "server.py"]\n    port = 8080\n  }\n')

    imported = scoot("import", "--target", "aws", "api.web", instance, str(app))
    assert f"Imported api.web (compute) from {instance}." in imported, imported
    # What scoot cannot know of it is what the next apply changes, and the import says so.
    assert "api.web (compute) has drifted: it will be repaired" in imported, imported
    assert f"instance {instance} (replica 0) was not launched by scoot: the next apply replaces it" in imported
    assert "no security group, IAM role or launch parameter of scoot's yet (imported)" in imported
    assert "will be created" not in imported, imported
    tags = live(moto_server, [instance])[instance]
    assert tags["scoot:lineage"] == lineage(app) and tags["scoot:object"] == "web" and tags["scoot:replica"] == "0"
    assert tags["Name"] == "made-by-hand"  # its own tags stay
    assert json.loads(scoot("plan", "--target", "aws", "--json", str(app)))["summary"]["create"] == 0

    # The apply makes the rest and rolls the instance into one scoot launched (new before old).
    scoot("apply", "--target", "aws", "--yes", str(app))
    assert live(moto_server, [instance]) == {}
    assert status_ok(app) == {"api.web": "ok"}
    assert "No changes" in scoot("plan", "--target", "aws", "--detailed-exitcode", str(app))


def test_an_instance_that_cannot_be_imported_is_refused_and_nothing_recorded(app: Path, moto_server: Moto) -> None:
    ec2 = moto_server.client("ec2")
    write(app, '  compute web {\n    command = ["true"]\n  }\n  compute two {\n    command = ["true"]\n    replicas = 2\n  }\n')
    scoot("apply", "--target", "aws", "--yes", str(app), "--only", "api.web")
    managed = objects(app)["api.web"]["identity"]["instances"][0]
    gone = run_instance(moto_server)
    ec2.terminate_instances(InstanceIds=[gone])
    foreign = run_instance(moto_server, **{"scoot:lineage": "another-state", "scoot:object": "web"})
    fine = run_instance(moto_server)

    cases = {
        "i-0123456789abcdef0": "there is no EC2 instance 'i-0123456789abcdef0' in region",
        "not-an-id": "there is no EC2 instance 'not-an-id'",
        gone: f"the EC2 instance {gone} is terminated: only a running (or pending) instance can be imported",
        foreign: f"the EC2 instance {foreign} is managed by another scoot state (scoot:lineage another-state)",
        managed: f"the EC2 instance {managed} is already `api.web`'s",
    }
    for given, message in cases.items():
        refused = scoot("import", "--target", "aws", "api.two", f"{given},{fine}", str(app), code=1)
        assert message in refused and "Traceback" not in refused, refused
    one = scoot("import", "--target", "aws", "api.two", fine, str(app), code=1)
    assert "it has 2 replicas: give 2 different EC2 instance ids, comma-separated, replica 0 first" in one, one
    same = scoot("import", "--target", "aws", "api.two", f"{fine},{fine}", str(app), code=1)
    assert "give 2 different EC2 instance ids" in same, same
    assert sorted(objects(app)) == ["api.web"]
    # Nothing was tagged on the way: the instance that was fine is no one's still.
    assert "scoot:lineage" not in live(moto_server, [fine])[fine]
    assert live(moto_server, [foreign])[foreign]["scoot:lineage"] == "another-state"
    ec2.terminate_instances(InstanceIds=[fine, foreign])


def test_import_a_bucket_then_forget_it_and_destroy_leaves_it(app: Path, moto_server: Moto) -> None:
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket="made-by-hand", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="made-by-hand", Key="k", Body=b"v")
    write(app, '  storage files { engine = "bucket" }\n')

    imported = scoot("import", "--target", "aws", "api.files", "made-by-hand", str(app))
    assert "Imported api.files (storage) from made-by-hand." in imported, imported
    assert "will be created" not in imported and "to create" not in imported.replace("0 to create", ""), imported
    plan = scoot("plan", "--target", "aws", "--json", str(app))
    assert json.loads(plan)["summary"]["create"] == 0
    scoot("apply", "--target", "aws", "--yes", str(app))  # tags it: it is managed now
    assert "No changes" in scoot("plan", "--target", "aws", "--detailed-exitcode", str(app))

    missing = scoot("import", "--target", "aws", "api.files", "no-such-bucket", str(app), code=1)
    assert "is recorded in scoot.lock already" in missing
    write(app, '  storage other { engine = "bucket" }\n')
    nothing = scoot("import", "--target", "aws", "api.other", "no-such-bucket", str(app), code=1)
    assert "there is no S3 bucket named 'no-such-bucket'" in nothing, nothing

    assert "Forgot api.files (storage)" in scoot("forget", "--target", "aws", "api.files", str(app))
    scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(app))
    s3.head_bucket(Bucket="made-by-hand")  # still there
    assert s3.get_object(Bucket="made-by-hand", Key="k")["Body"].read() == b"v"
