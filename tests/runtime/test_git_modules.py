"""Modules from git, `git::URL//FOLDER?ref=REVISION`: fetched through the git repository
driver into `.scoots/repos/` (real git, a real repository), pinned to a commit, or to a
tag or branch whose commit scoot.lock records until `scoot modules update` (issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scoot_runtime.state import (
    ModulePin,
    ObjectState,
    StateError,
    StateFileModel,
    StateStore,
    pin_modules,
    read_state_file,
)
from scoot_runtime.state_merge import MergeConflict, merge
from tests.runtime.test_cli_runtime import scoot
from tests.runtime.test_git_sources import Remote, git

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


def test_a_tag_is_resolved_once_recorded_in_scoot_lock_and_moved_by_update(tmp_path: Path) -> None:
    remote = Remote(tmp_path / "modules.git", tmp_path / "work")
    first = remote.commit({"web/main.sct": MODULE, "web/extra/main.sct": EXTRA})
    git("tag", "v1", cwd=remote.work)
    git("push", "--quiet", "origin", "v1", cwd=remote.work)
    folder = app(tmp_path / "app", f"git::file://{remote.bare}//web?ref=v1")
    pinned = f"file://{remote.bare}?ref=v1"

    plan = scoot("plan", str(folder))
    assert plan.exit_code == 0 and "+ api.web-server (compute)" in plan.output, plan.output
    assert read_state_file(folder / "scoot.lock").modules[pinned].commit == first

    # The tag moves to a commit that renames the server: scoot.lock still says the first.
    second = remote.commit({"web/main.sct": MODULE.replace("server", "renamed")})
    git("tag", "--force", "v1", cwd=remote.work)
    git("push", "--quiet", "--force", "origin", "v1", cwd=remote.work)
    again = scoot("compile", str(folder / "architecture.sct"))
    assert again.exit_code == 0 and '"web-server"' in again.output and "renamed" not in again.output, again.output
    assert read_state_file(folder / "scoot.lock").modules[pinned].commit == first

    updated = scoot("modules", "update", str(folder))
    assert updated.exit_code == 0, updated.output
    assert f"~ {pinned}: {first[:12]} → {second[:12]}" in updated.output, updated.output
    assert read_state_file(folder / "scoot.lock").modules[pinned].commit == second
    after = scoot("plan", str(folder))
    assert after.exit_code == 0 and "+ api.web-renamed (compute)" in after.output, after.output
    nothing = scoot("modules", "update", str(folder))
    assert nothing.exit_code == 0 and "nothing to update" in nothing.output, nothing.output


def test_a_branch_is_pinned_and_a_pin_no_source_uses_is_dropped_by_update(tmp_path: Path) -> None:
    remote = Remote(tmp_path / "modules.git", tmp_path / "work")
    commit = remote.commit({"web/main.sct": MODULE, "web/extra/main.sct": EXTRA})
    folder = app(tmp_path / "app", f"git::file://{remote.bare}//web?ref=main")
    assert scoot("validate", str(folder / "architecture.sct")).exit_code == 0
    assert read_state_file(folder / "scoot.lock").modules[f"file://{remote.bare}?ref=main"].commit == commit

    # The use now names the commit itself: the branch's pin is left over, and update drops it.
    text = (folder / "architecture.sct").read_text(encoding="utf-8").replace("ref=main", f"ref={commit}")
    (folder / "architecture.sct").write_text(text, encoding="utf-8")
    assert scoot("modules", "update", str(folder)).exit_code == 0
    assert read_state_file(folder / "scoot.lock").modules == {}


def test_compile_and_validate_read_git_modules_by_themselves(tmp_path: Path) -> None:
    remote = Remote(tmp_path / "modules.git", tmp_path / "work")
    commit = remote.commit({"web/main.sct": MODULE, "web/extra/main.sct": EXTRA})
    folder = app(tmp_path / "app", f"git::file://{remote.bare}//web?ref={commit}")
    compiled = scoot("compile", str(folder / "architecture.sct"))
    assert compiled.exit_code == 0 and '"web-extra-files"' in compiled.output, compiled.output
    assert scoot("validate", str(folder)).exit_code == 0


def test_a_local_source_inside_a_git_module_stays_in_its_repository(tmp_path: Path) -> None:
    remote = Remote(tmp_path / "modules.git", tmp_path / "work")
    commit = remote.commit(
        {"web/main.sct": MODULE.replace('"./extra"', '"../../../../../../outside"')}
    )
    folder = app(tmp_path / "app", f"git::file://{remote.bare}//web?ref={commit}")
    plan = scoot("plan", str(folder))
    assert plan.exit_code != 0
    assert "SCT702" in plan.output and "outside its git repository" in plan.output, plan.output


def test_module_pins_are_kept_by_an_apply_checked_and_merged(tmp_path: Path) -> None:
    pin_modules(tmp_path, {"https://h/m.git?ref=v1": "a" * 40})
    store = StateStore(tmp_path, "local", "local")
    store.load()
    store.begin()
    store.result("api.db", ObjectState(kind="storage", config={"engine": "sqlite"}))
    store.commit()
    lock = read_state_file(tmp_path / "scoot.lock")
    assert lock.modules["https://h/m.git?ref=v1"].commit == "a" * 40 and "api.db" in lock.targets["local"].objects

    # Each pin carries its checksum: a hand edit is refused, naming it.
    path = tmp_path / "scoot.lock"
    path.write_text(path.read_text(encoding="utf-8").replace("a" * 40, "b" * 40), encoding="utf-8")
    with pytest.raises(StateError, match=re.escape("module `https://h/m.git?ref=v1`")):
        read_state_file(path)

    # Two branches that pinned different sources merge; one source pinned differently does not.
    base = StateFileModel()
    ours = StateFileModel(modules={"x?ref=v1": ModulePin(commit="1" * 40)})
    theirs = StateFileModel(modules={"y?ref=v2": ModulePin(commit="2" * 40)})
    assert set(merge(base, ours, theirs).modules) == {"x?ref=v1", "y?ref=v2"}
    other = StateFileModel(modules={"x?ref=v1": ModulePin(commit="3" * 40)})
    with pytest.raises(MergeConflict):
        merge(base, ours, other)
