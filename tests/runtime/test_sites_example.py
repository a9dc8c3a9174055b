"""examples/sites, an application written with one module used three times, applied on
the local driver: real processes, each serving; the index reaches the three sites
through the module's output (`en.url`). Whole-system: the real CLI (issue 16)."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.runtime.test_cli_runtime import (
    ROOT,
    app_processes,
    kill_leftovers,
    scoot,
    wait_until_gone,
)

pytestmark = pytest.mark.slow


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Path]:
    app = tmp_path / "sites"
    shutil.copytree(ROOT / "examples" / "sites", app)
    yield app
    if (app / "scoot.lock").exists():
        pids = app_processes(app)
        scoot("destroy", "--yes", str(app))
        wait_until_gone(pids, 5)
        kill_leftovers(app, pids)


def test_the_sites_apply_and_serve_each_site_the_module_made(sites: Path) -> None:
    ports = {name: free_port() for name in ("en", "fr", "de", "index")}
    params = [arg for name, port in ports.items() for arg in ("--param", f"{name}_port={port}")]
    applied = scoot("apply", "--yes", *params, str(sites))
    assert applied.exit_code == 0, applied.output
    for name in ("en", "fr", "de"):
        assert f"web.{name}-server: create done" in applied.output, applied.output
    assert len(app_processes(sites)) == 4

    assert get(f"http://127.0.0.1:{ports['fr']}/") == {
        "site": "fr",
        "greeting": "bonjour from the fr site",
    }
    links = get(f"http://127.0.0.1:{ports['index']}/links")
    assert links == {name: f"http://127.0.0.1:{ports[name]}" for name in ("de", "en", "fr")}
    for url in links.values():  # type: ignore[union-attr]
        assert get(f"{url}/healthz") == {"ok": True}

    # A change inside one use touches only its object, and the plan points into the module.
    text = (sites / "architecture.sct").read_text()
    (sites / "architecture.sct").write_text(
        text.replace('greeting = "bonjour"', 'greeting = "salut"')
    )
    plan = scoot("plan", *params, str(sites))
    assert plan.exit_code == 0, plan.output
    assert "~ web.fr-server (compute) will be updated in place" in plan.output, plan.output
    assert (
        "modules/site/main.sct:15" in plan.output and "0 to create, 1 to update" in plan.output
    ), plan.output


def test_the_sites_for_makes_a_cache_a_region_and_the_if_follows_a_param(sites: Path) -> None:
    ports = {name: free_port() for name in ("en", "fr", "de", "index", "debug")}
    params = [arg for name, port in ports.items() for arg in ("--param", f"{name}_port={port}")]
    applied = scoot("apply", "--yes", *params, str(sites))
    assert applied.exit_code == 0, applied.output
    for name in ("cache-eu", "cache-us"):
        assert f"web.{name}: create done" in applied.output, applied.output
    assert "web.debug" not in applied.output

    debug = scoot("apply", "--yes", *params, "--param", "debug=true", str(sites))
    assert debug.exit_code == 0, debug.output
    assert "web.debug: create done" in debug.output and "1 to create" in debug.output, debug.output
    answer = get(f"http://127.0.0.1:{ports['debug']}/")
    # The two caches' paths, outputs known at apply time, interpolated into the greeting.
    assert isinstance(answer, dict) and answer["greeting"].startswith("2 caches: ")
    eu, us = answer["greeting"].removeprefix("2 caches: ").split(" ")
    assert eu != us and Path(eu).is_dir() and Path(us).is_dir()
