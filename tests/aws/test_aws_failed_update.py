"""A failed roll on target `aws` leaves the old instances serving: the real command line
against moto's server.

"Cannot start" here is an image that does not exist: RunInstances refuses it (moto's
server checks images, as AWS does). moto runs no process and does not boot
instances, so an instance whose command fails on it cannot be shown here (see
docs/drivers/aws.md). What is checked: the old instances run, no new one is left,
the launch parameter holds the old command and environment again, the security
group opens the old port again, scoot.lock and `scoot status` name the old version,
the apply exits 1 saying so, and the next plan plans the update again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto_server import MISSING_AMI, REGION, Moto

from scoot_cli import cli

ARCHITECTURE = """\
application shop {
  owner = "acme"
}

component api {
  source = "./api"

  compute web {
    command = ["python3", "server.py"]
    port    = PORT
    env = {
      GREETING = "GREETING_VALUE"
    }
  }
}
"""


def scoot(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write(app: Path, port: int, greeting: str, ami: str | None = None) -> None:
    text = ARCHITECTURE.replace("PORT", str(port)).replace("GREETING_VALUE", greeting)
    (app / "architecture.sct").write_text(text, encoding="utf-8")
    toml = (app / "scoot.toml").read_text(encoding="utf-8").split("ami = ")[0]
    (app / "scoot.toml").write_text(toml + (f'ami = "{ami}"\n' if ami else ""), encoding="utf-8")


def web(app: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((app / "scoot.lock").read_text())["targets"]["aws"]["objects"]["api.web"]
    return found


def live_instances(moto: Moto, lineage: str) -> set[str]:
    found = moto.client("ec2").describe_instances(
        Filters=[
            {"Name": "tag:scoot:lineage", "Values": [lineage]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )
    return {i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]}


@pytest.fixture
def app(tmp_path: Path, moto_server: Moto) -> Iterator[Path]:
    folder = tmp_path / "shop"
    (folder / "api").mkdir(parents=True)
    (folder / "api" / "server.py").write_text("print('hello')\n", encoding="utf-8")
    (folder / "scoot.toml").write_text(
        '[architecture]\npath = "."\n\n[targets.aws]\ncloud = "aws"\n'
        f'region = "{REGION}"\nendpoint_url = "{moto_server.endpoint_url}"\n',
        encoding="utf-8",
    )
    write(folder, 8080, "hi")
    yield folder
    if (folder / "scoot.lock").exists():
        scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(folder))


@pytest.mark.slow
def test_a_roll_to_an_image_that_does_not_exist_leaves_the_old_instances_serving(
    app: Path, moto_server: Moto
) -> None:
    first = scoot("apply", "--target", "aws", "--yes", str(app))
    assert first.exit_code == 0, first.output
    before = web(app)
    lineage = json.loads((app / "scoot.lock").read_text())["targets"]["aws"]["lineage"]
    old = set(before["identity"]["instances"])
    assert live_instances(moto_server, lineage) == old

    # A new command environment, a new port and an image that does not exist: a roll that fails.
    write(app, 9090, "bonjour", ami=MISSING_AMI)
    failed = scoot("apply", "--target", "aws", "--yes", str(app))
    assert failed.exit_code == 1, failed.output
    assert "api.web: the new version failed to start (" in failed.output, failed.output
    assert MISSING_AMI in failed.output and "): the previous version is still running" in failed.output
    assert "Traceback" not in failed.output
    # What runs is the old version, and scoot.lock and status say so; the Outputs name its URL.
    assert live_instances(moto_server, lineage) == old
    assert web(app) == before
    assert f"api.web  {before['outputs']['url']}" in failed.output
    status = json.loads(scoot("status", "--target", "aws", "--json", str(app)).stdout)
    assert {o["address"]: o["observed"] for o in status["objects"]} == {"api.web": "ok"}
    # What the old instances start from, and let in, is theirs again.
    ssm, ec2 = moto_server.client("ssm"), moto_server.client("ec2")
    parameter = ssm.get_parameter(Name=_parameter(ssm, lineage), WithDecryption=True)
    assert json.loads(parameter["Parameter"]["Value"])["env"]["GREETING"] == "hi"
    group = ec2.describe_security_groups(GroupIds=[before["identity"]["security_group"]])["SecurityGroups"][0]
    assert [p["FromPort"] for p in group["IpPermissions"]] == [8080]
    plan = scoot("plan", "--target", "aws", "--detailed-exitcode", str(app))
    assert plan.exit_code == 2, plan.output

    # With an image that exists, the same change rolls: new instances, the old ones gone.
    write(app, 9090, "bonjour")
    good = scoot("apply", "--target", "aws", "--yes", str(app))
    assert good.exit_code == 0, good.output
    new = set(web(app)["identity"]["instances"])
    assert new and not new & old and live_instances(moto_server, lineage) == new
    assert web(app)["outputs"]["port"] == 9090


def _parameter(ssm: Any, lineage: str) -> str:
    """The name of the one launch parameter of the lineage's compute."""
    ours = [{"Key": "Name", "Option": "BeginsWith", "Values": ["/scoot/"]}]
    for page in ssm.get_paginator("describe_parameters").paginate(ParameterFilters=ours):
        for found in page["Parameters"]:
            tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=found["Name"])["TagList"]
            if {"Key": "scoot:lineage", "Value": lineage} in tags:
                return str(found["Name"])
    raise AssertionError(f"no launch parameter of {lineage}")


def test_a_replacement_starts_new_instances_before_the_old_ones_go_and_keeps_them_if_it_fails(
    app: Path, moto_server: Moto
) -> None:
    """`--replace` of a compute whose configuration did not change: a roll that keeps no
    instance. One that cannot start (an image that does not exist) leaves the old ones."""
    first = scoot("apply", "--target", "aws", "--yes", str(app))
    assert first.exit_code == 0, first.output
    before = web(app)
    lineage = json.loads((app / "scoot.lock").read_text())["targets"]["aws"]["lineage"]
    old = set(before["identity"]["instances"])

    write(app, 8080, "hi", ami=MISSING_AMI)
    failed = scoot("apply", "--target", "aws", "--yes", "--replace", "api.web", str(app))
    assert failed.exit_code == 1, failed.output
    assert "+/- api.web (compute) must be replaced, the new one first" in failed.output, failed.output
    assert "): the previous version is still running" in failed.output, failed.output
    assert live_instances(moto_server, lineage) == old
    assert web(app) == before

    write(app, 8080, "hi")
    replaced = scoot("apply", "--target", "aws", "--yes", "--replace", "api.web", str(app))
    assert replaced.exit_code == 0, replaced.output
    new = set(web(app)["identity"]["instances"])
    assert new and not new & old and live_instances(moto_server, lineage) == new
    assert web(app)["identity"]["security_group"] == before["identity"]["security_group"]
    status = json.loads(scoot("status", "--target", "aws", "--json", str(app)).stdout)
    assert {o["address"]: o["observed"] for o in status["objects"]} == {"api.web": "ok"}
