"""`scoot output`, the lines an apply prints while an operation is slow, the next steps
after apply and destroy, and commands run from a subfolder of an application: through
the CLI, on real files and real processes (the helpers of test_cli_runtime)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import Result

from tests.ports import free_port
from tests.runtime.test_cli_runtime import (
    ARCHITECTURE,
    app_processes,
    kill_leftovers,
    make_app,
    recorded,
    scoot,
    url_of,
    wait_until_gone,
)

# A compute that runs but never answers its health check.
NEVER_HEALTHY = ARCHITECTURE.replace('"-u", "server.py"', '"-c", "import time; time.sleep(120)"')


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An application folder, the current folder; whatever a test applied is destroyed
    at teardown, and any process left is killed."""
    folder = make_app(tmp_path / "tiny", free_port())
    monkeypatch.chdir(folder)
    try:
        yield folder
    finally:
        pids = app_processes(folder)
        if recorded(folder):
            scoot("destroy", "--yes", str(folder))
        wait_until_gone(pids, 5)
        kill_leftovers(folder, pids)


def apply(folder: Path, env: Mapping[str, str | None] | None = None) -> Result:
    result = scoot("apply", "--yes", str(folder), env=env)
    assert result.exit_code == 0, result.output
    return result


# -- scoot output -----------------------------------------------------------------------------


def test_output_before_anything_is_applied_says_to_apply(tiny: Path) -> None:
    listed = scoot("output")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout == ""
    assert "nothing is applied yet; run `scoot apply`" in listed.stderr
    assert json.loads(scoot("output", "--json").stdout) == {}
    one = scoot("output", "app.web.url")
    assert one.exit_code == 1
    assert "nothing is applied on target `local` yet; run `scoot apply`" in one.stderr
    assert not (tiny / "scoot.lock").exists()  # it only reads


@pytest.mark.slow
def test_output_lists_prints_one_raw_and_json(tiny: Path) -> None:
    apply(tiny)
    url = url_of(tiny)
    database = tiny / ".scoots" / "data" / "app" / "db.sqlite"
    listed = scoot("output")
    assert listed.exit_code == 0, listed.output
    assert re.search(rf"^app\.web\.url\s+{re.escape(url)}$", listed.stdout, re.MULTILINE), listed.stdout
    # A local store's path, recorded relative to the application folder, printed as one can use it.
    assert re.search(rf"^app\.db\.path\s+{re.escape(str(database))}$", listed.stdout, re.MULTILINE), listed.stdout
    assert database.is_file()
    one = scoot("output", "app.web.url")
    assert one.exit_code == 0 and one.stdout == url + "\n"
    port = scoot("output", "app.web.port")
    assert port.stdout == str(recorded(tiny)["app.web"]["outputs"]["port"]) + "\n"
    every = json.loads(scoot("output", "--json").stdout)
    assert every["app.web.url"] == url and every["app.db.path"] == str(database)
    assert json.loads(scoot("output", "app.web.url", "--json").stdout) == url
    # From elsewhere, with the folder; a lone argument that is no output name is the folder.
    os.chdir(tiny.parent)
    assert scoot("output", "app.web.url", "tiny").stdout == url + "\n"
    assert scoot("output", "tiny").stdout == listed.stdout


@pytest.mark.slow
def test_output_unknown_name_says_the_closest(tiny: Path) -> None:
    apply(tiny)
    result = scoot("output", "app.web.urls")
    assert result.exit_code == 1
    assert "there is no output `app.web.urls` on target `local` (did you mean `app.web.url`?)" in result.stderr
    shape = scoot("output", "web.url")
    assert shape.exit_code == 2 and "component.object.output" in shape.stderr


@pytest.mark.slow
def test_output_never_shows_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    # A secret whose value shows in an output (the compute's URL): masked wherever it is printed.
    secret = f"127.0.0.1:{port}"
    folder = make_app(
        tmp_path / "tiny",
        port,
        ARCHITECTURE.replace("DATA_PATH = db.path", 'DATA_PATH = db.path\n      TOKEN     = secret("TINY_TOKEN")'),
    )
    monkeypatch.chdir(folder)
    env = {"TINY_TOKEN": secret}
    try:
        applied = apply(folder, env)
        printed = [applied.output]
        for args in (("output",), ("output", "--json"), ("output", "app.web.url")):
            result = scoot(*args, env=env)
            assert result.exit_code == 0, result.output
            printed.append(result.output)
        assert scoot("output", "app.web.url", env=env).stdout == "http://***\n"
        assert all(secret not in text for text in printed), printed
    finally:
        pids = app_processes(folder)
        scoot("destroy", "--yes", str(folder), env=env)
        kill_leftovers(folder, pids)


# -- progress and next steps ------------------------------------------------------------------


@pytest.mark.slow
def test_a_compute_never_healthy_prints_what_it_waits_for_then_names_health_timeout(tiny: Path) -> None:
    (tiny / "architecture.sct").write_text(
        NEVER_HEALTHY.replace("PYTHON", json.dumps(sys.executable)), encoding="utf-8"
    )
    (tiny / "scoot.toml").write_text(
        (tiny / "scoot.toml").read_text() + "\n[targets.local]\nhealth_timeout = 3\n", encoding="utf-8"
    )
    result = scoot("apply", "--yes", env={"SCOOT_PROGRESS_SECONDS": "0.5"})
    assert result.exit_code == 1, result.output
    out = result.stdout
    ticks = re.findall(r"^app\.web: still starting, (\d+) s, waiting for GET /healthz$", out, re.MULTILINE)
    assert len(ticks) >= 3, out
    assert [int(t) for t in ticks] == sorted(int(t) for t in ticks)
    failed = re.search(r"^app\.web: create failed .*not healthy within 3 s .*health_timeout = 3 s: raise it", out, re.M)
    assert failed is not None, out
    assert out.index("still starting") < failed.start()
    assert "scoot logs app.web" in out  # where to look next


def test_a_bad_progress_interval_is_a_usage_error(tiny: Path) -> None:
    result = scoot("apply", "--yes", env={"SCOOT_PROGRESS_SECONDS": "soon"})
    assert result.exit_code == 2
    assert "SCOOT_PROGRESS_SECONDS='soon': give a number of seconds above 0" in result.stderr
    assert not recorded(tiny)


@pytest.mark.slow
def test_next_steps_after_a_changing_apply_and_destroy_not_after_a_no_op(tiny: Path) -> None:
    first = apply(tiny)
    steps = first.stdout[first.stdout.index("\nNext:\n") :]
    for command in ("scoot logs app.web", "scoot status", "scoot output", "scoot destroy"):
        assert f"  {command} " in steps, steps
    again = apply(tiny)
    assert "Nothing to do." in again.stdout and "Next:" not in again.stdout
    # Run from elsewhere, each command names the folder (as typed from here) and the target.
    os.chdir(tiny.parent)
    gone = scoot("destroy", "--yes", "tiny", "--target", "local")
    assert gone.exit_code == 0, gone.output
    assert re.search(r"^  scoot status tiny\s+#", gone.stdout, re.MULTILINE), gone.stdout
    assert re.search(r"^  scoot apply tiny\s+#", gone.stdout, re.MULTILINE), gone.stdout


# -- from a subfolder -------------------------------------------------------------------------


def test_commands_find_the_application_upward(tiny: Path) -> None:
    os.chdir(tiny / "app")
    validated = scoot("validate")
    assert validated.exit_code == 0, validated.output
    assert f"{tiny}: ok" in validated.stdout
    planned = scoot("plan")
    assert planned.exit_code == 0, planned.output
    assert "+ app.web (compute) will be created" in planned.stdout
    assert f"{tiny / 'architecture.sct'}:" in planned.stdout  # a location one can open from here
    assert (tiny / ".scoots").is_dir() and not (tiny / "app" / ".scoots").exists()
    status = scoot("status")
    assert "has no recorded objects: run `scoot apply`" in status.stdout
    compiled = scoot("compile")
    assert compiled.exit_code == 0 and json.loads(compiled.stdout)["application"]["name"] == "tiny"


def test_an_architecture_folder_belongs_to_the_scoot_toml_that_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "shop"
    (root / "arch").mkdir(parents=True)
    (root / "arch" / "main.sct").write_text('application shop {\n  owner = "acme"\n}\n', encoding="utf-8")
    (root / "scoot.toml").write_text('[architecture]\npath = "arch"\n', encoding="utf-8")
    monkeypatch.chdir(root / "arch")
    planned = scoot("plan")
    assert planned.exit_code == 0, planned.output
    assert (root / ".scoots").is_dir() and not (root / "arch" / ".scoots").exists()


def test_an_explicit_folder_wins_and_no_application_upward_suggests_init(tiny: Path, tmp_path: Path) -> None:
    other = make_app(tmp_path / "other", free_port(), ARCHITECTURE.replace("application tiny", "application other"))
    os.chdir(tiny / "app")
    assert "application other" in (other / "architecture.sct").read_text()
    compiled = scoot("compile", str(other))
    assert json.loads(compiled.stdout)["application"]["name"] == "other"
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    strays = [f for f in lonely.parents if (f / "scoot.toml").exists() or (f / "architecture.sct").exists()]
    assert not strays, f"an application above the test's folder would be found upward: {strays}"
    os.chdir(lonely)
    result = scoot("plan")
    assert result.exit_code == 1
    assert "no .sct files in `.`" in result.output and "scoot init" in result.output
