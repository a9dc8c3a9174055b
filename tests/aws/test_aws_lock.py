"""The apply lock of an AWS target, shared by two clones of one application (each its own
`.scoots/`, as on two machines), against moto's server through the real command line.

The lock is an S3 object written only if absent (`If-None-Match: *`): one clone's apply
is refused naming the other's run, or waits for it with --lock-timeout; force-unlock
breaks a lock left behind; a failed or interrupted apply releases it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto_server import REGION, Moto, Proxy

from scoot_cli import cli
from scoot_runtime.drivers.aws.lock import default_bucket

ROOT = Path(__file__).resolve().parents[2]
STORE = """\
application NAME {
  owner = "acme"
}

component store {
  storage pictures { engine = "bucket" }
}
"""
# A compute whose subnet does not exist: EC2 refuses it when the apply makes it.
BROKEN = STORE + """
component api {
  source = "./api"

  compute web {
    command = ["python3", "-u", "server.py"]
    port    = 8080
  }
}
"""


def scoot(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def scoot_process(*args: str) -> subprocess.Popen[str]:
    """The real entry point in a new interpreter (a run of its own: its own pid)."""
    return subprocess.Popen(
        [sys.executable, "-m", "scoot_cli", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def point(folder: Path, endpoint: str, extra: str = "") -> None:
    """Point the folder's target `aws` at `endpoint` (moto, or a proxy in front of it)."""
    (folder / "scoot.toml").write_text(
        '[architecture]\npath = "."\n\n[targets.aws]\ncloud = "aws"\n'
        f'region = "{REGION}"\nendpoint_url = "{endpoint}"\n{extra}',
        encoding="utf-8",
    )


class Clones:
    """Two copies of one application folder, made before either applied: two clones."""

    def __init__(self, base: Path, moto: Moto, architecture: str = STORE) -> None:
        self.moto = moto
        self.name = "shop" + os.urandom(4).hex()  # each test its own lock key on the shared server
        self.one = base / "one" / self.name
        self.one.mkdir(parents=True)
        (self.one / "architecture.sct").write_text(architecture.replace("NAME", self.name), encoding="utf-8")
        (self.one / "api").mkdir()
        (self.one / "api" / "server.py").write_text("print('hello')\n", encoding="utf-8")
        point(self.one, moto.endpoint_url)
        self.two = base / "two" / self.name
        shutil.copytree(self.one, self.two, ignore=shutil.ignore_patterns(".scoots"))
        self.bucket = default_bucket(moto.client("sts").get_caller_identity()["Account"], REGION)
        self.key = f"{self.name}/aws.lock"

    def lock(self) -> dict[str, Any] | None:
        """The lock object's JSON, None when there is none."""
        s3 = self.moto.client("s3")
        try:
            body: bytes = s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
        except s3.exceptions.ClientError:
            return None
        found: dict[str, Any] = json.loads(body)
        return found

    def write_lock(self, **holder: Any) -> None:
        s3 = self.moto.client("s3")
        if self.bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
            s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=self.bucket, Key=self.key, Body=json.dumps(holder).encode(), IfNoneMatch="*")

    def destroy(self) -> None:
        for folder in (self.one, self.two):
            point(folder, self.moto.endpoint_url)
            if (folder / "scoot.lock").exists():
                scoot("destroy", "--target", "aws", "--yes", "--delete-data", str(folder))


@pytest.fixture
def clones(tmp_path: Path, moto_server: Moto) -> Iterator[Clones]:
    made = Clones(tmp_path, moto_server)
    yield made
    made.destroy()


def hold_apply(clones: Clones, proxy: Proxy) -> subprocess.Popen[str]:
    """Clone one applying, held in the middle (its bucket made, not yet tagged), lock taken."""
    proxy.start()
    point(clones.one, proxy.url)
    applying = scoot_process("apply", "--target", "aws", "--yes", str(clones.one))
    assert proxy.hung.wait(60), "the apply never reached the bucket's tags"
    return applying


def release_both(proxy: Proxy, applying: subprocess.Popen[str], waiting: subprocess.Popen[str]) -> tuple[str, str]:
    """Let the held apply go on; both end well: what the waiting one printed (stdout, stderr)."""
    try:
        proxy.release()
        out, err = applying.communicate(timeout=120)
        assert applying.returncode == 0, out + err
        out, err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, out + err
        return out, err
    finally:
        for process in (applying, waiting):
            process.kill()
            process.wait()


def test_a_second_clone_is_refused_naming_the_first_or_waits_for_it(clones: Clones, moto_server: Moto) -> None:
    proxy = Proxy(moto_server.endpoint_url, hang_on=b"scoot:object")
    try:
        applying = hold_apply(clones, proxy)
        held = clones.lock()
        assert held is not None
        assert held["pid"] == applying.pid and held["host"] == socket.gethostname()
        assert "apply --target aws --yes" in held["command"] and held["since"].endswith("Z")
        assert set(held) == {"pid", "host", "since", "command", "token"}

        refused = scoot("apply", "--target", "aws", "--yes", str(clones.two))
        assert refused.exit_code == 1
        assert f"locked by pid {applying.pid} on host {socket.gethostname()} since {held['since']}" in refused.output
        assert "apply --target aws --yes" in refused.output
        assert f"s3://{clones.bucket}/{clones.key}" in refused.output and "--lock-timeout" in refused.output
        assert not (clones.two / "scoot.lock").exists()  # nothing was tried

        waiting = scoot_process("apply", "--target", "aws", "--yes", "--lock-timeout", "2m", str(clones.two))
        assert waiting.stderr is not None
        said = waiting.stderr.readline()
        assert f"locked (s3://{clones.bucket}/{clones.key}) by pid {applying.pid}" in said, said
        assert "waiting up to 2m for it" in said
        assert waiting.poll() is None
        out, err = release_both(proxy, applying, waiting)
        assert "Apply complete: 1 done" in out
        assert "waiting" not in err  # said once
        assert clones.lock() is None  # released by both
    finally:
        proxy.stop()


def test_a_too_short_lock_timeout_fails_naming_the_holder(clones: Clones, moto_server: Moto) -> None:
    clones.write_lock(pid=4_000_001, host="build-7", since="2026-01-01T00:00:00Z", command="scoot apply --yes", token="t")
    refused = scoot("apply", "--target", "aws", "--yes", "--lock-timeout", "1s", str(clones.two))
    assert refused.exit_code == 1
    assert "is locked (s3://" in refused.output and "waiting up to 1s" in refused.output
    assert "locked by pid 4000001 on host build-7 since 2026-01-01T00:00:00Z, running `scoot apply --yes`" in refused.output
    # How long it really waited: at least the timeout, more on a busy machine.
    waited = re.search(r"; waited ([0-9.]+)s; ", refused.output)
    assert waited is not None and float(waited.group(1)) >= 1, refused.output


def test_force_unlock_breaks_a_shared_lock_left_behind(clones: Clones) -> None:
    # A crashed run of this host: its pid is gone. apply says so, and how to break it.
    clones.write_lock(pid=4_000_000, host=socket.gethostname(), since="2026-01-01T00:00:00Z", command="scoot apply", token="t")
    refused = scoot("apply", "--target", "aws", "--yes", str(clones.one))
    assert refused.exit_code == 1
    assert "pid 4000000 no longer runs on this host" in refused.output
    assert "scoot force-unlock aws" in refused.output
    broken = scoot("force-unlock", "aws", str(clones.one))
    assert broken.exit_code == 0, broken.output
    assert f"Broke the shared apply lock of target `aws` (s3://{clones.bucket}/{clones.key}), held by pid 4000000" in broken.output
    assert clones.lock() is None
    again = scoot("force-unlock", "aws", str(clones.one))
    assert again.exit_code == 0 and "has no apply lock; nothing to do" in again.output

    # A run on another host: its pid cannot be checked, so --force is needed.
    clones.write_lock(pid=77, host="build-7", since="2026-01-01T00:00:00Z", command="scoot apply", token="t")
    unknown = scoot("force-unlock", "aws", str(clones.two))
    assert unknown.exit_code == 1
    assert "pid 77 on host build-7" in unknown.output and "cannot be checked from here" in unknown.output
    assert "scoot force-unlock --force aws" in unknown.output
    assert clones.lock() is not None
    forced = scoot("force-unlock", "--force", "aws", str(clones.two))
    assert forced.exit_code == 0, forced.output
    assert "held by pid 77 on host build-7" in forced.output
    assert clones.lock() is None

    # A live pid of this host (this very test): refused; --force breaks it, with a warning.
    clones.write_lock(pid=os.getpid(), host=socket.gethostname(), since="2026-01-01T00:00:00Z", command="scoot apply", token="t")
    alive = scoot("force-unlock", "aws", str(clones.two))
    assert alive.exit_code == 1 and f"pid {os.getpid()} still runs on this host" in alive.output
    assert clones.lock() is not None
    forced = scoot("force-unlock", "--force", "aws", str(clones.two))
    assert forced.exit_code == 0 and "still runs on this host" in forced.output
    assert clones.lock() is None


def test_the_lock_is_released_after_an_interrupted_apply(clones: Clones, moto_server: Moto) -> None:
    proxy = Proxy(moto_server.endpoint_url, hang_on=b"scoot:object")
    try:
        applying = hold_apply(clones, proxy)
        try:
            assert clones.lock() is not None
            applying.send_signal(signal.SIGINT)
            proxy.release()  # the call in flight gets its answer; the run is interrupted already
            out, err = applying.communicate(timeout=120)
        finally:
            applying.kill()
            applying.wait()
        assert applying.returncode == 1, out + err
        assert "Interrupted" in err
        assert clones.lock() is None
    finally:
        proxy.stop()
    # The other clone applies at once: nothing left to wait for.
    applied = scoot("apply", "--target", "aws", "--yes", str(clones.two))
    assert applied.exit_code == 0, applied.output


def test_the_lock_is_released_after_a_failed_apply(tmp_path: Path, moto_server: Moto) -> None:
    clones = Clones(tmp_path, moto_server, BROKEN)
    proxy = Proxy(moto_server.endpoint_url, hang_on=b"scoot:object")
    try:
        proxy.start()
        point(clones.one, proxy.url, 'subnet_id = "subnet-0bad0bad"\n')
        applying = scoot_process("apply", "--target", "aws", "--yes", str(clones.one))
        try:
            assert proxy.hung.wait(60), "the apply never reached the bucket's tags"
            assert clones.lock() is not None  # held while it runs
            proxy.release()
            out, err = applying.communicate(timeout=120)
        finally:
            applying.kill()
            applying.wait()
        assert applying.returncode == 1, out + err
        assert "InvalidSubnetID.NotFound" in out + err
        assert clones.lock() is None
        # The other clone takes the lock at once (refresh takes it too, and changes nothing here).
        refreshed = scoot("refresh", "--target", "aws", str(clones.two))
        assert refreshed.exit_code == 0, refreshed.output
    finally:
        proxy.stop()
        clones.destroy()
