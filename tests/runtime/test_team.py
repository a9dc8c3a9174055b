"""A state a team shares: scoot.lock merged by git through `scoot merge-lock`, an older
scoot.lock refused, `.scoots/` ignoring itself, and `scoot init` in a clone.

Real git throughout: the merge driver is the one `scoot init` registers, run by `git merge`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scoot_cli import cli
from scoot_runtime.state import (
    ObjectState,
    StateFileModel,
    StateStore,
    TargetState,
    read_state_file,
    write_state_file,
)
from scoot_runtime.state_merge import MergeConflict, merge

LINEAGE = "22222222-2222-4222-8222-222222222222"
# `scoot` as git runs the merge driver: the one installed beside this interpreter.
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def scoot(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=check)


def store(root: Path, name: str, bucket: str = "b") -> ObjectState:
    return ObjectState(kind="storage", config={"engine": "directory", "label": bucket}, identity={"name": name})


def record(root: Path, **objects: ObjectState) -> None:
    """Apply, as far as scoot.lock knows: one run that records `objects` on target `aws`."""
    state = StateStore(root, "aws", "aws")
    state.load()
    state.begin()
    for address, recorded in objects.items():
        state.intent(address, "create", recorded.kind)
        state.result(address, recorded)
    state.commit()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An application in a git repository with `scoot init` done and scoot.lock committed."""
    root = tmp_path / "app"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "T")
    result = scoot("init", str(root), "--name", "shop")
    assert result.exit_code == 0, result.output
    assert "registered  git's merge driver" in result.output
    assert (root / ".gitattributes").read_text() == "scoot.lock merge=scoot\n"
    write_state_file(root / "scoot.lock", StateFileModel(targets={"aws": TargetState(lineage=LINEAGE, cloud="aws")}))
    record(root, **{"api.base": store(root, "base")})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def test_branches_that_recorded_different_objects_merge_with_no_conflict(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "a")
    record(repo, **{"api.from_a": store(repo, "a")})
    git(repo, "commit", "-q", "-am", "a")
    serial_a = read_state_file(repo / "scoot.lock").targets["aws"].serial
    git(repo, "checkout", "-q", "main")
    shutil.rmtree(repo / ".scoots" / "written")  # as another clone: it never wrote branch a's state
    git(repo, "checkout", "-q", "-b", "b")
    record(repo, **{"api.from_b": store(repo, "b")})
    git(repo, "commit", "-q", "-am", "b")
    serial_b = read_state_file(repo / "scoot.lock").targets["aws"].serial

    merged = git(repo, "merge", "-q", "--no-edit", "a", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    state = read_state_file(repo / "scoot.lock").targets["aws"]
    assert sorted(state.objects) == ["api.base", "api.from_a", "api.from_b"]
    assert state.serial > max(serial_a, serial_b)
    assert git(repo, "status", "--porcelain").stdout == ""


def test_branches_that_changed_one_object_differently_are_refused_naming_it(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "a")
    record(repo, **{"api.base": store(repo, "base", bucket="one")})
    git(repo, "commit", "-q", "-am", "a")
    git(repo, "checkout", "-q", "main")
    shutil.rmtree(repo / ".scoots" / "written")
    git(repo, "checkout", "-q", "-b", "b")
    record(repo, **{"api.base": store(repo, "base", bucket="two")})
    git(repo, "commit", "-q", "-am", "b")
    ours = (repo / "scoot.lock").read_text()

    merged = git(repo, "merge", "--no-edit", "a", check=False)
    assert merged.returncode != 0
    said = merged.stdout + merged.stderr
    assert "`api.base` of target `aws`" in said and "git checkout --ours" in said, said
    # The driver left our side as it was: git reports the conflict, nothing is half merged.
    assert (repo / "scoot.lock").read_text() == ours


def test_the_merge_itself() -> None:
    base = TargetState(lineage=LINEAGE, cloud="aws", serial=3, objects={"a.x": store(Path(), "x")})
    ours = base.model_copy(update={"serial": 5, "objects": {**base.objects, "a.y": store(Path(), "y")}})
    theirs = base.model_copy(update={"serial": 4, "objects": {}})  # x deleted on their side
    got = merge(*(StateFileModel(targets={"aws": t}) for t in (base, ours, theirs))).targets["aws"]
    assert sorted(got.objects) == ["a.y"] and got.serial == 6
    # A target only one side has is taken; one side's made anew is not merged with the other's.
    other = TargetState(lineage="33333333-3333-4333-8333-333333333333", cloud="aws")
    assert merge(StateFileModel(), StateFileModel(), StateFileModel(targets={"s": other})).targets == {"s": other}
    with pytest.raises(MergeConflict, match="made anew"):
        merge(*(StateFileModel(targets={"aws": t}) for t in (base, ours, other)))
    # Deleted on one side, changed on the other: refused, naming it.
    changed = base.model_copy(update={"objects": {"a.x": store(Path(), "x", bucket="new")}})
    with pytest.raises(MergeConflict, match=r"`a\.x` of target `aws` was removed on this side"):
        merge(*(StateFileModel(targets={"aws": t}) for t in (base, theirs, changed)))


def test_an_older_scoot_lock_is_refused(repo: Path) -> None:
    """Checking out an older scoot.lock than this clone wrote is refused by every command."""
    git(repo, "checkout", "-q", "-b", "newer")
    record(repo, **{"api.newer": store(repo, "newer")})
    git(repo, "commit", "-q", "-am", "newer")
    git(repo, "checkout", "-q", "main")
    with pytest.raises(Exception, match=r"older than serial \d+, which this clone wrote last"):
        StateStore(repo, "aws", "aws").load()
    (repo / "scoot.toml").write_text('[architecture]\npath = "."\n\n[targets.aws]\ncloud = "local"\n')
    refused = scoot("status", "--target", "aws", str(repo))
    assert refused.exit_code == 1 and "git pull" in refused.output, refused.output
    git(repo, "checkout", "-q", "newer")
    assert StateStore(repo, "aws", "aws").load().objects.keys() >= {"api.newer"}


def test_init_in_a_clone_registers_the_merge_driver_and_writes_nothing_else(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert git(clone, "config", "merge.scoot.driver", check=False).returncode != 0  # git does not copy it
    before = {p: p.read_bytes() for p in clone.rglob("*") if p.is_file() and ".git" not in p.parts}
    result = scoot("init", str(clone))
    assert result.exit_code == 0, result.output
    assert "already a Scoot application" in result.output and "registered" in result.output
    assert git(clone, "config", "merge.scoot.driver").stdout.strip() == "scoot merge-lock %O %A %B"
    after = {p: p.read_bytes() for p in clone.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before


def test_the_workspace_ignores_itself(tmp_path: Path) -> None:
    """`.scoots/` holds a `.gitignore` of its own, whoever made the folder (no `scoot init`)."""
    root = tmp_path / "app"
    root.mkdir()
    (root / "architecture.sct").write_text('application a { owner = "acme" }\ncomponent c {\n  storage s { engine = "directory" }\n}\n')
    git(root, "init", "-q")
    assert scoot("apply", "--yes", str(root)).exit_code == 0
    assert (root / ".scoots" / ".gitignore").read_text().splitlines()[-1] == "*"
    untracked = git(root, "status", "--porcelain", "--untracked-files=all").stdout
    assert ".scoots" not in untracked and "scoot.lock" in untracked, untracked
    assert json.loads((root / "scoot.lock").read_text())["version"] == 2
    assert scoot("destroy", "--yes", str(root)).exit_code == 0


def test_the_workspace_ignores_itself_when_only_the_architecture_was_fetched(tmp_path: Path) -> None:
    """`--from` fetches into `.scoots/repos/` before anything else makes `.scoots/` (`scoot repos`)."""
    remote, work, deploy = tmp_path / "shop.git", tmp_path / "work", tmp_path / "deploy"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(tmp_path, "clone", "-q", str(remote), str(work))
    (work / "architecture.sct").write_text('application shop {}\ncomponent c {\n  storage s { engine = "directory" }\n}\n')
    git(work, "add", "-A")
    git(work, "-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-q", "-m", "a")
    git(work, "push", "-q", "origin", "main")
    deploy.mkdir()
    git(deploy, "init", "-q")
    shown = scoot("repos", "--from", f"file://{remote}", str(deploy))
    assert shown.exit_code == 0, shown.output
    assert any((deploy / ".scoots" / "repos").iterdir())
    assert git(deploy, "status", "--porcelain", "--untracked-files=all").stdout == ""


def test_merge_lock_refuses_garbage_and_merges_from_no_common_ancestor(tmp_path: Path) -> None:
    """`scoot merge-lock` as git calls it: a damaged side is refused, naming it, and `ours`
    is left as it was; an empty base (the two sides share no ancestor) merges what each has."""
    base, ours, theirs = tmp_path / "base", tmp_path / "ours", tmp_path / "theirs"
    base.write_text("")
    ours.write_text("<<<<<<< HEAD\n{}\n")
    write_state_file(theirs, StateFileModel(targets={"aws": TargetState(lineage=LINEAGE, cloud="aws")}))
    refused = scoot("merge-lock", str(base), str(ours), str(theirs))
    assert refused.exit_code == 1 and "merge conflict markers" in refused.output and str(ours) in refused.output
    assert ours.read_text() == "<<<<<<< HEAD\n{}\n"
    write_state_file(ours, StateFileModel(targets={"local": TargetState(lineage=LINEAGE, cloud="local")}))
    merged = scoot("merge-lock", str(base), str(ours), str(theirs))
    assert merged.exit_code == 0, merged.output
    assert sorted(read_state_file(ours).targets) == ["aws", "local"]
