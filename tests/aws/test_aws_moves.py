"""Moves, import and forget on target `aws`, through the real command line, against
moto's server: a store moved keeps its bucket (and its objects), a bucket made beforehand
with boto3 is imported (the next plan creates nothing), and a forgotten one outlives
destroy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto_server import REGION, Moto

from scoot_cli import cli
from scoot_runtime.state import ObjectState, StateStore


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


def test_a_compute_move_is_refused_at_plan_time(app: Path) -> None:
    # Recorded without applying (a compute on moto runs nothing worth waiting for).
    store = StateStore(app, "aws", "aws")
    store.load()
    store.begin()
    store.result("api.web", ObjectState(kind="compute", config={}))
    store.commit()
    write(app, '  compute site {\n    command = ["true"]\n  }\n', "moved {\n  from = api.web\n  to = api.site\n}\n")
    refused = scoot("plan", "--target", "aws", str(app), code=1)
    assert "the aws driver cannot move a compute" in refused and "remove the `moved` block" in refused, refused
    (app / "scoot.lock").unlink()  # nothing was made: nothing to destroy


def test_import_a_bucket_then_forget_it_and_destroy_leaves_it(app: Path, moto_server: Moto) -> None:
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket="made-by-hand", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="made-by-hand", Key="k", Body=b"v")
    write(app, '  storage files { engine = "bucket" }\n')

    imported = scoot("import", "--target", "aws", "api.files", "made-by-hand", str(app))
    assert "Imported api.files (storage): engine bucket, name made-by-hand." in imported, imported
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
