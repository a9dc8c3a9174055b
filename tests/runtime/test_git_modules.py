"""Modules from git, `git::URL//FOLDER?ref=COMMIT`: fetched through the git repository
driver into `.scoots/repos/` by `scoot plan` (real git, a real repository), pinned to a
commit; a tag is refused until scoot.lock records what it named (issue 16)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.runtime.test_cli_runtime import scoot
from tests.runtime.test_git_sources import Remote

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git program")

MODULE = """\
param port: number
compute server {
  command = ["python3", "-m", "http.server", "${port}"]
  port    = port
}
module extra { source = "./extra" }
output url = server.url
"""
EXTRA = """\
storage files { engine = "directory" }
"""


def app(folder: Path, source: str) -> Path:
    (folder / "api").mkdir(parents=True)
    (folder / "architecture.sct").write_text(
        'application shop { owner = "acme" }\n\ncomponent api {\n  source = "./api"\n'
        f'  module web {{ source = "{source}", port = 8080 }}\n}}\n',
        encoding="utf-8",
    )
    return folder


def test_a_git_module_pinned_to_a_commit_is_fetched_and_used(tmp_path: Path) -> None:
    remote = Remote(tmp_path / "modules.git", tmp_path / "work")
    commit = remote.commit({"web/main.sct": MODULE, "web/extra/main.sct": EXTRA})
    folder = app(tmp_path / "app", f"git::file://{remote.bare}//web?ref={commit}")
    plan = scoot("plan", str(folder))
    assert plan.exit_code == 0, plan.output
    assert (
        "+ api.web-server (compute)" in plan.output
        and "+ api.web-extra-files (storage)" in plan.output
    ), plan.output
    assert (folder / ".scoots" / "repos").is_dir()

    # A later commit changes nothing until the source names it.
    remote.commit({"web/main.sct": MODULE.replace("server", "renamed")})
    again = scoot("plan", str(folder))
    assert (
        again.exit_code == 0
        and "+ api.web-server (compute)" in again.output
        and "renamed" not in again.output
    )


def test_a_git_module_named_by_a_tag_is_refused_for_now(tmp_path: Path) -> None:
    remote = Remote(tmp_path / "modules.git", tmp_path / "work")
    remote.commit({"web/main.sct": MODULE, "web/extra/main.sct": EXTRA})
    folder = app(tmp_path / "app", f"git::file://{remote.bare}//web?ref=v1")
    plan = scoot("plan", str(folder))
    assert plan.exit_code != 0
    assert "SCT701" in plan.output and "pin a git module to a whole commit id" in plan.output, (
        plan.output
    )


def test_a_local_source_inside_a_git_module_stays_in_its_repository(tmp_path: Path) -> None:
    remote = Remote(tmp_path / "modules.git", tmp_path / "work")
    commit = remote.commit(
        {"web/main.sct": MODULE.replace('"./extra"', '"../../../../../../outside"')}
    )
    folder = app(tmp_path / "app", f"git::file://{remote.bare}//web?ref={commit}")
    plan = scoot("plan", str(folder))
    assert plan.exit_code != 0
    assert "SCT702" in plan.output and "outside its git repository" in plan.output, plan.output
