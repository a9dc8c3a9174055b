"""What the plan finds of a target that scoot.lock does not record and the architecture does
not want (another branch's, another clone's) is listed and left alone: plan, `plan --json`,
apply and destroy never touch it. Real processes of the local driver, the real CLI."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scoot_cli import cli
from scoot_runtime.state import StateStore
from tests.runtime.test_ownership import SLEEPER, kill_tagged, tagged

LEFT_ALONE = "= api.jobs (compute) found, not recorded in scoot.lock and not in the architecture: left alone"


def architecture(tag: str, *computes: str) -> str:
    blocks = "\n".join(
        f'  compute {name} {{\n    command = ["{sys.executable}", "-c", "{SLEEPER}", "{name}"]\n'
        f'    env = {{ TAG = "{tag}" }}\n  }}'
        for name in computes
    )
    return f'application owned {{ owner = "acme" }}\n\ncomponent api {{\n  source = "./app"\n\n{blocks}\n}}\n'


def scoot(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def pids(tag: str, name: str) -> set[int]:
    return {pid for pid, env in tagged(tag).items() if json.loads(env["ARGV"])[-1] == name}


@pytest.fixture
def tag() -> Iterator[str]:
    tag = uuid.uuid4().hex
    yield tag
    kill_tagged(tag)  # what was left alone, and whatever a failing test left running


def test_what_another_branch_applied_is_listed_and_never_touched(tmp_path: Path, tag: str) -> None:
    app = tmp_path / "app"
    (app / "app").mkdir(parents=True)
    (app / "architecture.sct").write_text(architecture(tag, "web", "jobs"))
    scoot("apply", "--yes", str(app))
    jobs = pids(tag, "jobs")
    assert len(jobs) == 1

    # This branch's scoot.lock never recorded `jobs`, and its architecture does not have it.
    store = StateStore(app, "local", "local")
    store.load()
    store.begin()
    store.result("api.jobs", None)
    store.commit()
    (app / "architecture.sct").write_text(architecture(tag, "web"))

    plan = scoot("plan", str(app)).output
    assert LEFT_ALONE in plan, plan
    assert "another branch's" in plan
    assert "No changes. The infrastructure matches the architecture. 1 left alone" in plan
    assert "will be deleted" not in plan
    data = json.loads(scoot("plan", "--json", str(app)).output)
    assert data["left_alone"] == [{"address": "api.jobs", "kind": "compute"}]
    assert data["has_changes"] is False and data["summary"]["delete"] == 0

    assert "No changes" in scoot("apply", "--yes", str(app)).output
    assert pids(tag, "jobs") == jobs
    web = pids(tag, "web")
    destroyed = scoot("destroy", "--yes", str(app)).output
    assert "= api.jobs (compute) found, not recorded in scoot.lock: left alone" in destroyed, destroyed
    assert not pids(tag, "web") & web and pids(tag, "jobs") == jobs  # only what scoot.lock records
