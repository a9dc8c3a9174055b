"""The github driver's tests: PyGithub against a local GitHub held to GitHub's REST description."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from github_server import DESCRIPTION, Description, FakeGitHub
from github_testing import TOKEN, context

from scoot_runtime.repositories.github import GitHubDriver


@pytest.fixture(scope="session")
def description() -> Description:
    """GitHub's REST API description, loaded once: the pinned npm package, installed if missing."""
    if not DESCRIPTION.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("the github driver's tests need Node.js 20 and npm, to install GitHub's REST description")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=Path(__file__).parent,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"npm ci in tests/github failed:\n{done.stdout}\n{done.stderr}"
    return Description.load()


@pytest.fixture
def github(
    description: Description, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FakeGitHub]:
    """The local GitHub, with user `alice` (the token's) and organisation `acme`; no violations allowed."""
    server = FakeGitHub(description, tmp_path_factory.mktemp("github"), TOKEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert not server.violations, "GitHub's REST description was not kept:\n" + "\n".join(
        server.violations
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "app" / ".scoots"


@pytest.fixture
def driver(github: FakeGitHub, workspace: Path) -> Iterator[GitHubDriver]:
    made = GitHubDriver(context(github, workspace))
    yield made
    made.close()


@pytest.fixture(autouse=True)
def no_outside_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver reads scoot's own environment too: none of the machine's tokens or git settings."""
    for name in list(os.environ):
        if name in {"GITHUB_TOKEN", "GH_TOKEN"} or name.startswith(("GIT_CONFIG", "GIT_ASKPASS")):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def token_never_leaks(
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> Iterator[None]:
    """Every test runs with all logs at DEBUG; after it, no log, output or file holds the token.

    The files searched are all those the test made: its `tmp_path` (the workspace, the
    application's folder, scoot.lock) and the folders it made with `tmp_path_factory`.
    """
    basetemp = tmp_path_factory.getbasetemp()
    before = set(basetemp.iterdir()) - {tmp_path}
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="github")  # PyGithub's stops at INFO by default
    yield
    # At teardown, `caplog.records` holds the teardown's only: read the test's own phases.
    for record in [*caplog.get_records("setup"), *caplog.get_records("call")]:
        assert TOKEN not in record.getMessage(), f"the token is in a log record of {record.name}"
    out, err = capfd.readouterr()
    assert TOKEN not in out and TOKEN not in err, "the token was printed"
    needle = TOKEN.encode()
    for top in {tmp_path, *(set(basetemp.iterdir()) - before)}:
        for folder, _, files in os.walk(top):
            for name in files:
                path = Path(folder) / name
                if path.is_file() and not path.is_symlink():
                    assert needle not in path.read_bytes(), f"the token is written in {path}"
