"""A team on one AWS target (issue 14's must-show), through the real command line and real git.

One application repository (a bare remote), two clones, each with its own `.scoots/` and
prepared by `scoot init` (git's merge driver registered), applying the same target on
moto's server: what one clone applies and pushes, the other plans as "No changes"; a
changed secret is an update in both; two applies at once meet at the S3 lock; two
branches adding different objects are applied from their clones (each leaving the
other's alone) and merge through the merge driver into a state that plans "No changes".
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from moto_server import Moto, Proxy

from scoot_cli import cli
from tests.aws.test_aws_lock import point, release_both, scoot_process

# `scoot` as git runs the merge driver: the one installed beside this interpreter.
GIT_ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
OLD, NEW = "team-token-old-7c1e0f55", "team-token-new-d93a6b21"
ARCHITECTURE = """\
application NAME {
  owner = "acme"
}

component api {
  source = "./api"

  compute web {
    command = ["python3", "-u", "server.py"]
    port    = 8080
    env     = { ADMIN_TOKEN = secret("ADMIN_TOKEN") }
  }
}

component store {
  storage pictures { engine = "bucket" }
}
"""
# What each branch adds, in a file of its own (a folder of .sct files is one architecture).
ORDERS = 'component orders {\n  storage items { engine = "table" }\n}\n'
AUDIT = 'component audit {\n  storage trail { engine = "bucket" }\n}\n'
LEFT_ALONE = "found, not recorded in scoot.lock and not in the architecture: left alone"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def scoot(folder: Path, *args: str, token: str = OLD) -> str:
    result = CliRunner().invoke(
        cli, [*args, "--target", "aws", str(folder)], catch_exceptions=False, env={"ADMIN_TOKEN": token}
    )
    assert result.exit_code == 0, result.output
    assert OLD not in result.output and NEW not in result.output  # a secret reaches no output
    return result.output


def clone(remote: Path, folder: Path) -> Path:
    git(remote.parent, "clone", "-q", str(remote), str(folder))
    git(folder, "config", "user.email", f"{folder.name}@example.com")
    git(folder, "config", "user.name", folder.name)
    prepared = CliRunner().invoke(cli, ["init", str(folder)], catch_exceptions=False)
    assert prepared.exit_code == 0 and "registered  git's merge driver" in prepared.output, prepared.output
    return folder


def commit(folder: Path, message: str) -> None:
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", message)


class Team:
    def __init__(self, base: Path, moto: Moto) -> None:
        self.moto = moto
        self.name = "team" + os.urandom(4).hex()  # its own lock key and names on the shared server
        self.remote = base / "shop.git"
        git(base, "init", "-q", "--bare", "-b", "main", str(self.remote))
        self.one = clone(self.remote, base / "one")
        (self.one / "architecture.sct").write_text(ARCHITECTURE.replace("NAME", self.name), encoding="utf-8")
        (self.one / "api").mkdir()
        (self.one / "api" / "server.py").write_text("print('hello')\n", encoding="utf-8")
        point(self.one, moto.endpoint_url)
        ready = CliRunner().invoke(cli, ["init", str(self.one)], catch_exceptions=False)
        assert ready.exit_code == 0, ready.output
        commit(self.one, "the application")
        git(self.one, "push", "-q", "origin", "main")
        self.two = clone(self.remote, base / "two")

    def destroy(self) -> None:
        for folder in (self.one, self.two):
            point(folder, self.moto.endpoint_url)
            if (folder / "scoot.lock").exists():
                CliRunner().invoke(
                    cli, ["destroy", "--target", "aws", "--yes", "--delete-data", str(folder)], env={"ADMIN_TOKEN": OLD}
                )


@pytest.fixture
def team(tmp_path: Path, moto_server: Moto) -> Iterator[Team]:
    made = Team(tmp_path, moto_server)
    yield made
    made.destroy()


def test_two_clones_share_one_aws_target(team: Team, moto_server: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = team.one, team.two
    assert not (two / ".scoots").exists()  # ignored by git: each clone makes its own

    # -- clone 1 applies and pushes scoot.lock; clone 2 pulls: nothing to do ----------------------
    assert "Apply complete: 2 done, 0 failed" in scoot(one, "apply", "--yes")
    assert "No changes" in scoot(one, "plan")
    commit(one, "apply")
    git(one, "push", "-q", "origin", "main")
    git(two, "pull", "-q", "--ff-only")
    assert scoot(two, "plan").startswith("No changes")
    assert (two / ".scoots").is_dir() and not (two / ".scoots" / "written").exists()  # its own, fresh

    # -- a changed secret is an update in both clones ---------------------------------------------
    update = "~ env.ADMIN_TOKEN = secret(\"ADMIN_TOKEN\") (the secret's value changed)"
    assert update in scoot(one, "plan", token=NEW)
    assert update in scoot(two, "plan", token=NEW)
    scoot(one, "apply", "--yes", token=NEW)
    commit(one, "a new token")
    git(one, "push", "-q", "origin", "main")
    git(two, "pull", "-q", "--ff-only")
    assert scoot(two, "plan", token=NEW).startswith("No changes")
    # Clone 2 still given the old value: applying there would put it back, and its plan says so.
    assert update in scoot(two, "plan", token=OLD)

    # -- two branches, each adding an object, applied from their clones at once -------------------
    git(one, "checkout", "-q", "-b", "orders")
    (one / "orders.sct").write_text(ORDERS, encoding="utf-8")
    git(two, "checkout", "-q", "-b", "audit")
    (two / "audit.sct").write_text(AUDIT, encoding="utf-8")

    monkeypatch.setenv("ADMIN_TOKEN", NEW)  # for the applies in processes of their own
    proxy = Proxy(moto_server.endpoint_url, hang_on=b"scoot:object")
    try:
        proxy.start()
        point(one, proxy.url)  # clone 1's calls go through the proxy, held at its new table's tags
        applying = scoot_process("apply", "--target", "aws", "--yes", str(one))
        waiting: subprocess.Popen[str] | None = None
        try:
            assert proxy.hung.wait(60), "clone 1's apply never reached its table"
            refused = CliRunner().invoke(
                cli, ["apply", "--target", "aws", "--yes", str(two)], env={"ADMIN_TOKEN": NEW}
            )
            assert refused.exit_code == 1, refused.output
            assert f"locked by pid {applying.pid} on host {socket.gethostname()}" in refused.output, refused.output
            assert "apply --target aws --yes" in refused.output
            waiting = scoot_process("apply", "--target", "aws", "--yes", "--lock-timeout", "2m", str(two))
            assert waiting.stderr is not None
            said = waiting.stderr.readline()
            assert f"by pid {applying.pid}" in said and "waiting up to 2m for it" in said, said
        except BaseException:
            for process in (applying, waiting):
                if process is not None:
                    process.kill()
                    process.wait()
            raise
        out, _ = release_both(proxy, applying, waiting)
    finally:
        proxy.stop()
    git(one, "checkout", "-q", "--", "scoot.toml")
    # Clone 2 applied after clone 1, whose table its branch neither records nor wants: left alone.
    assert f"= orders.items (storage) {LEFT_ALONE}" in out, out
    assert "orders.items (storage) will be deleted" not in out
    assert "1 done, 0 failed" in out

    # -- before the merge, each branch lists the other's object, and leaves it alone --------------
    plan_two = scoot(two, "plan", token=NEW)
    assert "\nNo changes." in plan_two and f"= orders.items (storage) {LEFT_ALONE}" in plan_two, plan_two
    assert f"= audit.trail (storage) {LEFT_ALONE}" in scoot(one, "plan", token=NEW)

    # -- merged through the merge driver: no conflict, and nothing to do --------------------------
    commit(one, "orders")
    git(one, "push", "-q", "origin", "orders")
    commit(two, "audit")
    git(two, "fetch", "-q", "origin")
    git(two, "merge", "-q", "--no-edit", "origin/orders")
    assert git(two, "status", "--porcelain") == ""
    merged = scoot(two, "plan", token=NEW)
    assert merged.startswith("No changes") and LEFT_ALONE not in merged, merged
    git(two, "push", "-q", "origin", "audit:main")
    git(one, "checkout", "-q", "main")
    git(one, "pull", "-q", "--ff-only")
    assert scoot(one, "plan", token=NEW).startswith("No changes")
