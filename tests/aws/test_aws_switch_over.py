"""A replaced compute on target `aws` switches what depends on it over before its old
instances go (Terraform's create_before_destroy order), against moto's server.

`app.web` listens on no port, so what `app.api` reads of it, its `host` (replica 0's
address), is a new instance's after a replacement: the api's environment really changes.
The order is read from the calls a proxy in front of moto forwards: the web's new
instance is launched, then the api's (while the web's old instance still runs, as EC2
says at that moment), and only then is the web's old instance terminated. If the api
cannot be updated (its RunInstances refused), its previous version still uses the old
web instance, which keeps running; the next apply terminates it and updates the api.
Behind a load balancer (the web with a port), the old and the new instances are both
registered and healthy while the api is updated, and the `url` stays the balancer's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto_server import REGION, Moto, Proxy, leftovers
from test_aws_balancer import balancers, targets
from test_aws_failed_update import live_instances

from scoot_cli import cli

ARCHITECTURE = """\
application shop {
  owner = "acme"
}

component app {
  source = "./app"

  compute web {
    command = ["python3", "server.py"]
  }

  compute api {
    command = ["python3", "server.py"]
    env = {
      WEB_HOST = web.host
    }
  }
}
"""
# What the web's progress line says while the api is updated in its switch-over.
WAITING = "waiting for `app.api` to be updated to its new outputs"
# The api's RunInstances: its instances' Name tag is its role's name.
API_LAUNCH = (b"Action=RunInstances&", b"scoot-app-api-")


def scoot(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def target(app: Path, endpoint: str) -> None:
    (app / "scoot.toml").write_text(
        '[architecture]\npath = "."\n\n[targets.aws]\ncloud = "aws"\n'
        f'region = "{REGION}"\nendpoint_url = "{endpoint}"\n',
        encoding="utf-8",
    )


def objects(app: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((app / "scoot.lock").read_text())["targets"]["aws"]["objects"]
    return found


def lineage(app: Path) -> str:
    return str(json.loads((app / "scoot.lock").read_text())["targets"]["aws"]["lineage"])


def states(moto: Moto, ids: set[str]) -> dict[str, str]:
    found = moto.client("ec2").describe_instances(InstanceIds=sorted(ids))
    return {i["InstanceId"]: i["State"]["Name"] for r in found["Reservations"] for i in r["Instances"]}


def api_env(moto: Moto, app: Path) -> dict[str, str]:
    """The environment the api's instances start with: its launch parameter's."""
    ssm = moto.client("ssm")
    ours = [{"Key": "Name", "Option": "BeginsWith", "Values": ["/scoot/"]}]
    for page in ssm.get_paginator("describe_parameters").paginate(ParameterFilters=ours):
        for found in page["Parameters"]:
            tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=found["Name"])["TagList"]
            if found["Name"].endswith("/app/api/launch") and {"Key": "scoot:lineage", "Value": lineage(app)} in tags:
                value = ssm.get_parameter(Name=found["Name"], WithDecryption=True)["Parameter"]["Value"]
                env: dict[str, str] = json.loads(value)["env"]
                return env
    raise AssertionError("no launch parameter of app.api")


@pytest.fixture
def app(tmp_path: Path, moto_server: Moto) -> Iterator[Path]:
    yield from applied(tmp_path, moto_server, ARCHITECTURE)


@pytest.fixture
def balanced_app(tmp_path: Path, moto_server: Moto) -> Iterator[Path]:
    """The web listens on a port, behind its load balancer; the api reads its host and url."""
    text = ARCHITECTURE.replace(
        '    command = ["python3", "server.py"]\n  }',
        '    command = ["python3", "server.py"]\n    port    = 8080\n    health  = "/healthz"\n  }',
        1,
    ).replace("WEB_HOST = web.host", "WEB_HOST = web.host\n      WEB_URL  = web.url")
    assert "port    = 8080" in text and "WEB_URL" in text
    yield from applied(tmp_path, moto_server, text)


def applied(tmp_path: Path, moto_server: Moto, architecture: str) -> Iterator[Path]:
    """The application applied on moto; destroyed at the end, leaving nothing."""
    folder = tmp_path / "shop"
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "server.py").write_text("print('hello')\n", encoding="utf-8")
    (folder / "architecture.sct").write_text(architecture, encoding="utf-8")
    target(folder, moto_server.endpoint_url)
    first = scoot("apply", "--target", "aws", "--yes", str(folder))
    assert first.exit_code == 0, first.output
    yield folder
    target(folder, moto_server.endpoint_url)
    of = lineage(folder)
    assert scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(folder)).exit_code == 0
    assert leftovers(moto_server, of) == []


@pytest.mark.slow
def test_a_replaced_compute_is_terminated_only_after_what_uses_its_host_switched_over(
    app: Path, moto_server: Moto
) -> None:
    before = objects(app)
    old_web = set(before["app.web"]["identity"]["instances"])
    old_host = before["app.web"]["outputs"]["host"]
    assert api_env(moto_server, app)["WEB_HOST"] == old_host

    calls: list[tuple[str, Any]] = []
    progress_told = threading.Event()

    def watch(request: bytes, answer: bytes) -> bytes:
        if all(part in request for part in API_LAUNCH):
            calls.append(("api launched", states(moto_server, old_web)))
            # The api's update is held here until the web's progress line says it waits for it.
            progress_told.wait(120)
        elif b"Action=RunInstances&" in request:
            calls.append(("web launched", None))
        elif b"Action=TerminateInstances&" in request:
            calls.append(("terminated", set(re.findall(r"InstanceId\.\d+=(i-[0-9a-f]+)", request.decode()))))
        return answer

    proxy = Proxy(moto_server.endpoint_url, rewrite=watch)
    proxy.start()
    target(app, proxy.url)
    # A real `scoot` process, whose progress lines are read as it prints them.
    command = [sys.executable, "-m", "scoot_cli", "apply", "--target", "aws", "--yes", "--replace", "app.web", str(app)]
    lines: list[str] = []
    try:
        with subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "SCOOT_PROGRESS_SECONDS": "0.2"},
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line.rstrip("\n"))
                if WAITING in line:
                    progress_told.set()
        output = "\n".join(lines)
        assert process.returncode == 0, output
    finally:
        progress_told.set()
        proxy.stop()
    assert "+/- app.web (compute) must be replaced, the new one first" in output, output
    # While the api is updated, the web's progress line says so (its health check passed).
    assert re.search(rf"^app\.web: still replacing, \d+ s, {re.escape(WAITING)}$", output, re.M), output

    after = objects(app)
    new_host = after["app.web"]["outputs"]["host"]
    new_web = set(after["app.web"]["identity"]["instances"])
    assert new_web and not new_web & old_web
    # The order: the web's new instance, the api's (the old web still running), the old web gone.
    kinds = [kind for kind, _ in calls]
    web_launched, api_launched = kinds.index("web launched"), kinds.index("api launched")
    old_web_terminated = next(i for i, (kind, ids) in enumerate(calls) if kind == "terminated" and ids == old_web)
    assert web_launched < api_launched < old_web_terminated, calls
    assert calls[api_launched][1] == dict.fromkeys(old_web, "running"), calls
    event_lines = output.splitlines()
    order = [
        next(i for i, line in enumerate(event_lines) if line.startswith(start))
        for start in ("app.web: replace started", "app.api: update done", "app.web: replace done")
    ]
    assert order == sorted(order), output
    # The api's configuration really changed: it starts with the new web's address.
    assert new_host != old_host and api_env(moto_server, app)["WEB_HOST"] == new_host
    assert states(moto_server, old_web) == dict.fromkeys(old_web, "terminated")
    assert live_instances(moto_server, lineage(app)) == new_web | set(after["app.api"]["identity"]["instances"])
    target(app, moto_server.endpoint_url)
    assert scoot("plan", "--target", "aws", "--detailed-exitcode", str(app)).exit_code == 0


@pytest.mark.slow
def test_when_what_uses_it_cannot_switch_over_the_old_instances_keep_running_until_the_next_apply(
    app: Path, moto_server: Moto
) -> None:
    before = objects(app)
    old_web = set(before["app.web"]["identity"]["instances"])
    old_api = before["app.api"]
    old_host = before["app.web"]["outputs"]["host"]

    proxy = Proxy(moto_server.endpoint_url, refused_holding=API_LAUNCH)
    proxy.start()
    target(app, proxy.url)
    try:
        failed = scoot("apply", "--target", "aws", "--yes", "--replace", "app.web", str(app))
        assert failed.exit_code == 1, failed.output
        assert "app.web: replace done" in failed.output, failed.output
        assert "app.api: the new version failed to start (" in failed.output, failed.output
        # The api's previous version, on the old web's address, still runs: so does the old web.
        assert states(moto_server, old_web) == dict.fromkeys(old_web, "running")
        assert objects(app)["app.api"] == old_api
        assert api_env(moto_server, app)["WEB_HOST"] == old_host
        # scoot.lock records the new web, which the old instances run beside, unrecorded.
        new_web = set(objects(app)["app.web"]["identity"]["instances"])
        assert new_web and not new_web & old_web
        assert live_instances(moto_server, lineage(app)) == old_web | new_web | set(old_api["identity"]["instances"])
        plan = scoot("plan", "--target", "aws", str(app))
        assert "! app.web (compute) has drifted: it will be repaired" in plan.output, plan.output
        assert "runs, which the state does not record (an old version kept for what still used it" in plan.output

        # Once the api can be updated, the next apply terminates the old web and switches the api.
        proxy.refused_holding = ()
        again = scoot("apply", "--target", "aws", "--yes", str(app))
        assert again.exit_code == 0, again.output
    finally:
        proxy.stop()
    target(app, moto_server.endpoint_url)
    after = objects(app)
    assert set(after["app.web"]["identity"]["instances"]) == new_web
    assert states(moto_server, old_web) == dict.fromkeys(old_web, "terminated")
    assert api_env(moto_server, app)["WEB_HOST"] == after["app.web"]["outputs"]["host"] != old_host
    assert live_instances(moto_server, lineage(app)) == new_web | set(after["app.api"]["identity"]["instances"])
    assert scoot("plan", "--target", "aws", "--detailed-exitcode", str(app)).exit_code == 0


@pytest.mark.slow
def test_behind_a_load_balancer_the_old_instances_serve_beside_the_new_ones_until_the_switch_over(
    balanced_app: Path, moto_server: Moto
) -> None:
    """The url is the balancer's and stays; the host is a new instance's. While the api is
    updated, the old and the new web instances are both healthy in the target group; the
    old one is deregistered and terminated only after."""
    app = balanced_app
    before = objects(app)
    old_web = set(before["app.web"]["identity"]["instances"])
    [balancer] = balancers(moto_server, lineage(app))
    assert targets(moto_server, balancer) == dict.fromkeys(old_web, "healthy")

    during: list[dict[str, str]] = []
    calls: list[str] = []

    def watch(request: bytes, answer: bytes) -> bytes:
        if all(part in request for part in API_LAUNCH):
            during.append(targets(moto_server, balancer))
        for action in ("RegisterTargets", "DeregisterTargets", "TerminateInstances"):
            if f"Action={action}&".encode() in request:
                calls.append(action)
        if all(part in request for part in API_LAUNCH):
            calls.append("api launched")
        return answer

    proxy = Proxy(moto_server.endpoint_url, rewrite=watch)
    proxy.start()
    target(app, proxy.url)
    try:
        replaced = scoot("apply", "--target", "aws", "--yes", "--replace", "app.web", str(app))
    finally:
        proxy.stop()
        target(app, moto_server.endpoint_url)
    assert replaced.exit_code == 0, replaced.output
    after = objects(app)
    new_web = set(after["app.web"]["identity"]["instances"])
    assert new_web and not new_web & old_web
    # The api was updated while both served: registered and healthy, old beside new.
    assert during == [{**dict.fromkeys(old_web, "healthy"), **dict.fromkeys(new_web, "healthy")}], during
    # Then (after the api's own roll, which has no balancer) the old web left it and went.
    assert calls.index("api launched") < calls.index("DeregisterTargets"), calls
    assert targets(moto_server, balancer) == dict.fromkeys(new_web, "healthy")
    assert states(moto_server, old_web) == dict.fromkeys(old_web, "terminated")
    # What the api reads: the same url (the balancer's), a new host.
    assert after["app.web"]["outputs"]["url"] == before["app.web"]["outputs"]["url"]
    env = api_env(moto_server, app)
    assert env["WEB_URL"] == before["app.web"]["outputs"]["url"]
    assert env["WEB_HOST"] == after["app.web"]["outputs"]["host"] != before["app.web"]["outputs"]["host"]
    assert scoot("plan", "--target", "aws", "--detailed-exitcode", str(app)).exit_code == 0
