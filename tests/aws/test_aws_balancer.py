"""examples/catalog with `replicas = 3` on target `aws`, against moto's server: one load
balancer, three healthy targets, a roll whose health check fails leaving the old three
serving, and destroy leaving nothing.

moto reports every registered, running instance `healthy` (it probes nothing), and a
registered instance that is stopped `unused` (`Target.InvalidState`): a failing health
check is provoked by stopping the roll's new instance once it is registered (a proxy in
front of moto holds the answer to RegisterTargets until the test has stopped it). The
driver sees only what the target group says, as on AWS (see docs/drivers/aws.md).
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto_server import REGION, Moto, Proxy, leftovers

from scoot_cli import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog"
SECRET = "catalog-admin-token-5f0c2d9a"


def scoot(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env={"CATALOG_ADMIN_TOKEN": SECRET})


def target(app: Path, endpoint: str, extra: str = "") -> None:
    (app / "scoot.toml").write_text(
        '[architecture]\npath = "."\n\n[targets.aws]\ncloud = "aws"\n'
        f'region = "{REGION}"\nendpoint_url = "{endpoint}"\n{extra}',
        encoding="utf-8",
    )


def web(app: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((app / "scoot.lock").read_text())["targets"]["aws"]["objects"]["api.web"]
    return found


def lineage(app: Path) -> str:
    return str(json.loads((app / "scoot.lock").read_text())["targets"]["aws"]["lineage"])


def live(moto: Moto, of: str) -> set[str]:
    found = moto.client("ec2").describe_instances(
        Filters=[
            {"Name": "tag:scoot:lineage", "Values": [of]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ]
    )
    return {i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]}


def balancers(moto: Moto, of: str) -> list[dict[str, Any]]:
    elbv2 = moto.client("elbv2")
    ours = []
    for balancer in elbv2.describe_load_balancers()["LoadBalancers"]:
        tags = elbv2.describe_tags(ResourceArns=[balancer["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
        if {"Key": "scoot:lineage", "Value": of} in tags:
            ours.append(balancer)
    return ours


def targets(moto: Moto, balancer: dict[str, Any]) -> dict[str, str]:
    """instance id → state, of the target group the balancer's listener forwards to."""
    elbv2 = moto.client("elbv2")
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert len(listeners) == 1
    group = listeners[0]["DefaultActions"][0]["TargetGroupArn"]
    health = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in health}


@pytest.fixture
def app(tmp_path: Path, moto_server: Moto) -> Iterator[Path]:
    folder = tmp_path / "catalog"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".scoots", "scoot.lock", "__pycache__"))
    text = (folder / "architecture.sct").read_text(encoding="utf-8")
    assert "param replicas: number = 1" in text
    (folder / "architecture.sct").write_text(text.replace("param replicas: number = 1", "param replicas: number = 3"))
    target(folder, moto_server.endpoint_url)
    yield folder
    if (folder / "scoot.lock").exists():
        target(folder, moto_server.endpoint_url)
        scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(folder))


@pytest.mark.slow
def test_three_replicas_behind_a_balancer_and_a_failed_health_check_keeps_the_old_three(
    app: Path, moto_server: Moto
) -> None:
    applied = scoot("apply", "--target", "aws", "--yes", str(app))
    assert applied.exit_code == 0, applied.output
    before = web(app)
    state = lineage(app)
    old = set(before["identity"]["instances"])
    assert len(old) == 3 and live(moto_server, state) == old
    [balancer] = balancers(moto_server, state)
    assert targets(moto_server, balancer) == dict.fromkeys(old, "healthy")
    assert before["outputs"]["url"] == f"http://{balancer['DNSName']}:8080"
    listener = moto_server.client("elbv2").describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])
    assert listener["Listeners"][0]["Port"] == 8080
    group = moto_server.client("elbv2").describe_target_groups(LoadBalancerArn=balancer["LoadBalancerArn"])
    assert group["TargetGroups"][0]["HealthCheckPath"] == "/healthz"
    again = scoot("plan", "--target", "aws", "--detailed-exitcode", str(app))
    assert again.exit_code == 0, again.output

    # A new TITLE rolls web. Its first new instance is stopped once registered: the target
    # group never says it is healthy, and the roll gives up after `health_timeout`.
    text = (app / "architecture.sct").read_text(encoding="utf-8")
    (app / "architecture.sct").write_text(text.replace('"Acme catalog"', '"Acme catalogue"'), encoding="utf-8")
    proxy = Proxy(moto_server.endpoint_url, hang_on=b"Action=RegisterTargets")
    proxy.start()
    stopped: list[str] = []

    def stop_the_new_one() -> None:
        if proxy.hung.wait(120):
            stopped.extend(sorted(live(moto_server, state) - old))
            moto_server.client("ec2").stop_instances(InstanceIds=stopped)
        proxy.release()

    stopper = threading.Thread(target=stop_the_new_one)
    stopper.start()
    try:
        target(app, proxy.url, "health_timeout = 4\n")
        failed = scoot("apply", "--target", "aws", "--yes", str(app))
    finally:
        proxy.release()
        stopper.join(30)
        proxy.stop()
    assert failed.exit_code == 1, failed.output
    assert len(stopped) == 1, stopped  # max_unavailable = 1: one replica at a time
    assert f"instance {stopped[0]} is not healthy in its load balancer after 4 s" in failed.output, failed.output
    assert "the target's `health_timeout`" in failed.output and "HTTP GET /healthz on port 8080" in failed.output
    assert "the previous version is still running" in failed.output
    # The old three serve: running, healthy in the balancer; the new one is gone from both.
    target(app, moto_server.endpoint_url)
    assert live(moto_server, state) == old
    assert targets(moto_server, balancer) == dict.fromkeys(old, "healthy")
    assert web(app) == before
    status = json.loads(scoot("status", "--target", "aws", "--json", str(app)).stdout)
    assert {o["address"]: o["observed"] for o in status["objects"]}["api.web"] == "ok"

    # Healthy, the same roll replaces the three, one at a time, behind the same balancer.
    rolled = scoot("apply", "--target", "aws", "--yes", str(app))
    assert rolled.exit_code == 0, rolled.output
    new = set(web(app)["identity"]["instances"])
    assert len(new) == 3 and not new & old and live(moto_server, state) - old == new
    assert targets(moto_server, balancer) == dict.fromkeys(new, "healthy")
    assert web(app)["outputs"]["url"] == before["outputs"]["url"]

    destroyed = scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(app))
    assert destroyed.exit_code == 0, destroyed.output
    assert leftovers(moto_server, state) == []
    assert balancers(moto_server, state) == []


@pytest.mark.slow
def test_a_roll_replaces_max_unavailable_replicas_at_a_time_and_keeps_them_healthy(
    app: Path, moto_server: Moto
) -> None:
    """replicas = 3, max_unavailable = 2: two batches (two new, then one); each old instance
    leaves the balancer only once its batch is healthy, so three are healthy throughout."""
    text = (app / "architecture.sct").read_text(encoding="utf-8")
    (app / "architecture.sct").write_text(
        text.replace("replicas = replicas\n", "replicas = replicas\n    max_unavailable = 2\n"), encoding="utf-8"
    )
    applied = scoot("apply", "--target", "aws", "--yes", str(app))
    assert applied.exit_code == 0, applied.output
    state = lineage(app)
    old = set(web(app)["identity"]["instances"])
    [balancer] = balancers(moto_server, state)

    calls: list[str] = []
    healthy_after_deregistering: list[int] = []

    def watch(request: bytes, answer: bytes) -> bytes:
        for action in (b"RunInstances", b"RegisterTargets", b"DeregisterTargets", b"TerminateInstances"):
            if b"Action=" + action + b"&" in request:
                calls.append(action.decode())
                if action == b"DeregisterTargets":
                    states = targets(moto_server, balancer).values()
                    healthy_after_deregistering.append(sum(s == "healthy" for s in states))
        return answer

    text = (app / "architecture.sct").read_text(encoding="utf-8")
    (app / "architecture.sct").write_text(text.replace('"Acme catalog"', '"Acme catalogue"'), encoding="utf-8")
    proxy = Proxy(moto_server.endpoint_url, rewrite=watch)
    proxy.start()
    try:
        target(app, proxy.url)
        rolled = scoot("apply", "--target", "aws", "--yes", str(app))
    finally:
        proxy.stop()
    assert rolled.exit_code == 0, rolled.output
    assert calls == [
        "RunInstances", "RunInstances", "RegisterTargets", "DeregisterTargets",
        "RunInstances", "RegisterTargets", "DeregisterTargets",
        "TerminateInstances",
    ], calls
    assert healthy_after_deregistering == [3, 3]
    new = set(web(app)["identity"]["instances"])
    assert len(new) == 3 and not new & old
    assert targets(moto_server, balancer) == dict.fromkeys(new, "healthy")
