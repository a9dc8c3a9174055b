"""Saved plans (`plan -o FILE`, `apply FILE`), `--only`, `--replace` and `plan --json`'s
values, through the CLI on real files and real processes.

A saved plan is applied exactly, or refused with nothing touched: the processes that run
and scoot.lock are compared before and after each refusal.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.runtime.test_cli_runtime import (
    ARCHITECTURE,
    app_processes,
    get,
    kill_leftovers,
    make_app,
    recorded,
    scoot,
    url_of,
    wait_until_gone,
)

SECRET_VALUE = "s3cr3t-value-that-must-stay-out-of-files"

WITH_SECRET = ARCHITECTURE.replace(
    "      DATA_PATH = db.path\n", '      DATA_PATH = db.path\n      TOKEN     = secret("API_TOKEN")\n'
)

# A second compute that needs nothing: what `--only app.web` leaves out.
WITH_OTHER = ARCHITECTURE.replace(
    "  storage db {",
    """  compute other {
    command = [PYTHON, "-u", "server.py"]
    port    = OTHER_PORT
    health  = "/healthz"
    env     = { PORT = OTHER_PORT }
  }

  storage db {""",
)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An application folder (the current folder), with its secret set; whatever it ran
    is destroyed at teardown, and any process left is killed."""
    monkeypatch.setenv("API_TOKEN", SECRET_VALUE)
    architecture = WITH_SECRET.replace("OTHER_PORT", str(free_port()))
    yield from cleaned_up(make_app(tmp_path / "tiny", free_port(), architecture), monkeypatch)


def cleaned_up(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`folder`, the current folder; what it ran destroyed afterwards, and any process left killed."""
    monkeypatch.chdir(folder)
    try:
        yield folder
    finally:
        pids = app_processes(folder)
        scoot("destroy", "--yes", str(folder))
        wait_until_gone(pids, 5)
        kill_leftovers(folder, pids)


def applied(app: Path) -> Path:
    result = scoot("apply", "--yes", str(app))
    assert result.exit_code == 0, result.output
    return app


def edit(app: Path, old: str, new: str) -> None:
    sct = app / "architecture.sct"
    text = sct.read_text()
    assert old in text
    sct.write_text(text.replace(old, new, 1))


def save_plan(app: Path, *options: str) -> Path:
    result = scoot("plan", "-o", "saved.plan", *options, str(app))
    assert result.exit_code == 0, result.output
    assert "Saved the plan to saved.plan" in result.output
    return app / "saved.plan"


def assert_refused(app: Path, plan_file: Path, *said: str) -> None:
    """`apply FILE` refuses, saying `said`, and touches nothing."""
    lock_before = (app / "scoot.lock").read_bytes() if (app / "scoot.lock").exists() else None
    processes_before = sorted(app_processes(app))
    result = scoot("apply", str(plan_file))
    assert result.exit_code == 1, result.output
    assert "the saved plan is stale; nothing was changed" in result.output
    assert "scoot plan -o FILE" in result.output
    for words in said:
        assert words in result.output, result.output
    lock_after = (app / "scoot.lock").read_bytes() if (app / "scoot.lock").exists() else None
    assert lock_after == lock_before
    assert sorted(app_processes(app)) == processes_before


# -- saved plans ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_saved_plan_applies_exactly_what_it_showed(app: Path) -> None:
    plan_file = save_plan(app)
    assert plan_file.stat().st_mode & 0o777 == 0o600
    assert app_processes(app) == [] and recorded(app) == {}  # planning touched nothing
    result = scoot("apply", str(plan_file))  # no --yes: the saved plan is what was reviewed
    assert result.exit_code == 0, result.output
    assert "+ app.web (compute) will be created" in result.output
    assert sorted(recorded(app)) == ["app.db", "app.web"]
    assert get(url_of(app) + "/healthz")
    again = scoot("plan", "--detailed-exitcode", str(app))
    assert again.exit_code == 0, again.output
    # Applied, the plan is stale: scoot.lock moved on.
    assert_refused(app, plan_file, "serial 1, the plan was made at serial 0")


@pytest.mark.slow
def test_a_saved_plan_applies_in_another_checkout_of_the_application(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a CI run's apply job does: the plan made in one checkout, applied in another
    (the folder it was made in is gone), from that checkout's folder."""
    monkeypatch.setenv("API_TOKEN", SECRET_VALUE)
    made = make_app(tmp_path / "plan-job", free_port(), WITH_SECRET.replace("OTHER_PORT", str(free_port())))
    monkeypatch.chdir(made)
    save_plan(made)
    checkout = tmp_path / "apply-job"
    shutil.copytree(made, checkout)
    shutil.rmtree(made)
    with contextmanager(cleaned_up)(checkout, monkeypatch):
        result = scoot("apply", "saved.plan")
        assert result.exit_code == 0, result.output
        assert sorted(recorded(checkout)) == ["app.db", "app.web"]
        assert get(url_of(checkout) + "/healthz")
        assert not made.exists()  # nothing was made where the plan was made


@pytest.mark.slow
def test_a_saved_plan_is_refused_after_the_architecture_changed(app: Path) -> None:
    applied(app)
    edit(app, "PORT      = port", 'PORT      = port\n      MODE      = "one"')
    plan_file = save_plan(app)
    edit(app, 'MODE      = "one"', 'MODE      = "two"')
    assert_refused(app, plan_file, "the architecture changed")
    # Put back as planned, it applies: exactly the shown update.
    edit(app, 'MODE      = "two"', 'MODE      = "one"')
    result = scoot("apply", str(plan_file))
    assert result.exit_code == 0, result.output
    assert recorded(app)["app.web"]["config"]["env"]["MODE"] == "one"


@pytest.mark.slow
def test_a_saved_plan_is_refused_after_another_apply(app: Path) -> None:
    applied(app)
    edit(app, "PORT      = port", 'PORT      = port\n      MODE      = "one"')
    plan_file = save_plan(app)
    other = scoot("apply", "--yes", str(app))
    assert other.exit_code == 0, other.output
    assert_refused(app, plan_file, "scoot.lock changed", "another apply ran since")


@pytest.mark.slow
def test_a_saved_plan_is_refused_after_drift(app: Path) -> None:
    applied(app)
    edit(app, "PORT      = port", 'PORT      = port\n      MODE      = "one"')
    plan_file = save_plan(app)
    [(pid, _)] = app_processes(app)
    os.kill(pid, signal.SIGKILL)  # behind Scoot's back
    assert wait_until_gone([(pid, None)]) == []
    assert_refused(app, plan_file, "app.web: what the driver observes changed since the plan")
    assert app_processes(app) == []  # not started again


@pytest.mark.slow
def test_a_saved_plan_holds_no_secret_and_is_refused_when_the_secret_changed(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_file = save_plan(app)
    text = plan_file.read_text()
    assert SECRET_VALUE not in text
    assert '${secret(\\"API_TOKEN\\")}' in text
    monkeypatch.setenv("API_TOKEN", "another-value")
    assert_refused(app, plan_file, "the value of secret `API_TOKEN` changed")
    monkeypatch.setenv("API_TOKEN", SECRET_VALUE)
    assert scoot("apply", str(plan_file)).exit_code == 0


@pytest.mark.parametrize(
    ("contents", "said"),
    [
        (b"garbage", "is not a Scoot plan file, or it is truncated"),
        (b'{"format": "terraform"}', "is not a Scoot plan file"),
        (b'{"format": "scoot-plan", "version": 99}', "version 99; this scoot applies version 1"),
    ],
)
def test_a_foreign_plan_file_is_refused(app: Path, contents: bytes, said: str) -> None:
    (app / "bad.plan").write_bytes(contents)
    result = scoot("apply", str(app / "bad.plan"))
    assert result.exit_code == 1
    assert said in result.output and "scoot plan -o FILE" in result.output
    assert not (app / "scoot.lock").exists()


def test_a_damaged_or_truncated_plan_file_is_refused(app: Path) -> None:
    plan_file = save_plan(app)
    whole = plan_file.read_bytes()
    plan_file.write_bytes(whole[: len(whole) // 2])
    truncated = scoot("apply", str(plan_file))
    assert truncated.exit_code == 1 and "truncated" in truncated.output
    plan_file.write_bytes(whole.replace(b'"port"', b'"Port"', 1))
    edited = scoot("apply", str(plan_file))
    assert edited.exit_code == 1 and "is damaged: its checksum does not match" in edited.output
    assert not (app / "scoot.lock").exists() and app_processes(app) == []


def test_a_saved_plan_takes_no_other_options(app: Path) -> None:
    plan_file = save_plan(app)
    result = scoot("apply", "--target", "local", str(plan_file))
    assert result.exit_code == 2
    assert "--target cannot go with a saved plan" in result.output


# -- plan --json: values ----------------------------------------------------------------------


@pytest.mark.slow
def test_plan_json_carries_values_before_and_after_with_secrets_masked(app: Path) -> None:
    created = json.loads(scoot("plan", "--json", str(app)).stdout)
    web = next(c for c in created["changes"] if c["address"] == "app.web")
    env = web["values"]["env"]
    assert env["before"] is None and env["secret"] is True
    assert env["after"]["TOKEN"] == '${secret("API_TOKEN")}'
    assert env["after"]["DATA_PATH"] == "${app.db.path}"  # a reference, symbolic
    assert SECRET_VALUE not in json.dumps(created)
    applied(app)
    edit(app, "PORT      = port", 'PORT      = port\n      MODE      = "one"')
    updated = json.loads(scoot("plan", "--json", str(app)).stdout)
    [web] = [c for c in updated["changes"] if c["action"] != "no-op"]
    assert web["keys"] == ["env"]
    assert "MODE" not in web["values"]["env"]["before"]
    assert web["values"]["env"]["after"]["MODE"] == "one"
    assert web["values"]["env"]["after_unknown"] is False


# -- --only and --replace ---------------------------------------------------------------------


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An application with a second compute that needs nothing (`app.other`)."""
    architecture = WITH_OTHER.replace("OTHER_PORT", str(free_port()))
    yield from cleaned_up(make_app(tmp_path / "two", free_port(), architecture), monkeypatch)


@pytest.mark.slow
def test_only_plans_and_applies_an_object_and_what_it_needs(two: Path) -> None:
    planned = scoot("plan", "--only", "app.web", str(two))
    assert planned.exit_code == 0, planned.output
    assert "+ app.web" in planned.output and "+ app.db" in planned.output
    assert "app.other (compute)" not in planned.output
    assert "Only app.web and what it needs were planned; 1 other change was left out (app.other)." in planned.output
    plan_file = save_plan(two, "--only", "app.web")
    result = scoot("apply", str(plan_file))
    assert result.exit_code == 0, result.output
    assert sorted(recorded(two)) == ["app.db", "app.web"]
    # Destroying with --only: the object and what depends on it.
    everything = scoot("apply", "--yes", str(two))
    assert everything.exit_code == 0 and sorted(recorded(two)) == ["app.db", "app.other", "app.web"]
    gone = scoot("destroy", "--yes", "--only", "app.db", str(two))
    assert gone.exit_code == 0, gone.output
    assert "Only app.db and what depends on it were planned" in gone.output
    assert sorted(recorded(two)) == ["app.other"]


def test_an_unknown_address_is_refused_with_the_closest(two: Path) -> None:
    for option in ("--only", "--replace"):
        result = scoot("plan", option, "app.wbe", str(two))
        assert result.exit_code == 1
        assert f"{option}: no object `app.wbe`" in result.output
        assert "(did you mean `app.web`?)" in result.output


@pytest.mark.slow
def test_replace_replaces_an_unchanged_object(two: Path) -> None:
    applied(two)
    before = {pid for pid, _ in app_processes(two)}
    planned = scoot("plan", "--replace", "app.web", "--detailed-exitcode", str(two))
    assert planned.exit_code == 2, planned.output
    assert "+/- app.web (compute) must be replaced, the new one first" in planned.output
    assert "replaced as asked (--replace)" in planned.output
    assert "Plan: 0 to create, 0 to update, 1 to replace, 0 to delete." in planned.output
    result = scoot("apply", "--yes", "--replace", "app.web", "--target", "local", str(two))
    assert result.exit_code == 0, result.output
    after = {pid for pid, _ in app_processes(two)}
    assert len(before - after) == 1 and len(after - before) == 1  # web's process is new, other's kept
    assert get(url_of(two) + "/healthz")


@pytest.mark.slow
def test_a_saved_plan_of_destruction_destroys_what_it_showed(app: Path) -> None:
    applied(app)
    plan_file = save_plan(app, "--destroy")
    result = scoot("apply", str(plan_file))
    assert result.exit_code == 0, result.output
    assert "Destroy complete: 2 done" in result.output
    assert recorded(app) == {} and app_processes(app) == []
