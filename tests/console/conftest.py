"""The console's fixtures for every test file of this folder: the example shop applied on
the local driver (`shop`) and `scoot console` serving it (`console`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.harness import SECRET, running_console
from tests.ports import free_port
from tests.runtime.test_cli_runtime import (
    ROOT,
    app_processes,
    kill_leftovers,
    scoot,
    wait_until_gone,
)


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """The example shop applied on the local driver: its folder and its `--param`;
    destroyed at teardown, and any process left killed."""
    monkeypatch.setenv("SHOP_ADMIN_TOKEN", SECRET)
    app = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", app)
    param = f"api_port={free_port()}"
    applied = scoot("apply", "--yes", "--param", param, str(app))
    assert applied.exit_code == 0, applied.output
    try:
        yield app, param
    finally:
        pids = app_processes(app)
        scoot("destroy", "--yes", "--param", param, str(app))
        wait_until_gone(pids, 5)
        kill_leftovers(app, pids)


@pytest.fixture
def console(shop: tuple[Path, str]) -> Iterator[str]:
    """`scoot console` running on the shop: the address it printed."""
    app, param = shop
    with running_console(app, "--param", param) as url:
        yield url
