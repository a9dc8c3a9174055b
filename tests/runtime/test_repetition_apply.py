"""An architecture with a `for` and an `if` applied on the local driver through the command
line: the instances are ordinary objects, each located at the header that made it, and a
param turns the `if` on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.runtime.test_cli_runtime import ARCHITECTURE as BASE
from tests.runtime.test_cli_runtime import get, make_app, recorded, scoot
from tests.runtime.test_saved_plan import cleaned_up

# The runtime tests' application, its storage made by a `for` and a scratch folder by an `if`.
ARCHITECTURE = (
    BASE.replace(
        "param port: number = 8080\n",
        'param port: number = 8080\nparam debug: bool = false\nlet regions = ["eu", "us"]\n',
    )
    .replace("DATA_PATH = db.path", 'DATA_PATH = db-eu.path\n      REGIONS   = join(",", regions)')
    .replace("storage db {", "storage db for region in regions {")
    .removesuffix("}\n")
    + '\n  storage scratch if debug && length(regions) > 1 {\n    engine = "directory"\n  }\n}\n'
)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from cleaned_up(make_app(tmp_path / "tiny", free_port(), ARCHITECTURE), monkeypatch)


@pytest.mark.slow
def test_a_for_and_an_if_apply_serve_and_follow_a_param(app: Path) -> None:
    plan = scoot("plan", "--json", str(app))
    assert plan.exit_code == 0, plan.output
    changes = {c["address"]: c for c in json.loads(plan.stdout)["changes"]}
    assert set(changes) == {"app.web", "app.db-eu", "app.db-us"}
    # Each instance points at the header of the block that made it.
    header = ARCHITECTURE.splitlines().index("  storage db for region in regions {") + 1
    assert (
        changes["app.db-eu"]["location"]["line"]
        == changes["app.db-us"]["location"]["line"]
        == header
    )

    result = scoot("apply", "--yes", str(app))
    assert result.exit_code == 0, result.output
    objects = recorded(app)
    assert set(objects) == {"app.web", "app.db-eu", "app.db-us"}
    assert get(objects["app.web"]["outputs"]["url"] + "/healthz") is not None

    again = scoot("apply", "--yes", str(app))
    assert again.exit_code == 0 and "Nothing to do." in again.output, again.output

    debug = scoot("apply", "--yes", "--param", "debug=true", str(app))
    assert debug.exit_code == 0, debug.output
    assert set(recorded(app)) == {"app.web", "app.db-eu", "app.db-us", "app.scratch"}
