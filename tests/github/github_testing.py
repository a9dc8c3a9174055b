"""What the github driver's tests share: the token, a context for the driver, checks."""

from __future__ import annotations

import os
import secrets
import traceback
from pathlib import Path
from typing import Any

import pytest
from github_server import FakeGitHub

from scoot_runtime.repositories.base import RepositoryContext, RepositoryError

# One token for the whole run, random, so a search for it finds only leaks.
TOKEN = "ghp_" + secrets.token_hex(18)


def context(
    github: FakeGitHub, workspace: Path, *, environ: dict[str, str] | None = None, **options: Any
) -> RepositoryContext:
    return RepositoryContext(
        application="shop",
        owner="alice",
        root=workspace.parent,
        workspace=workspace,
        options={"api_url": github.url, **options},
        environ={"GITHUB_TOKEN": TOKEN} if environ is None else environ,
    )


def message(error: pytest.ExceptionInfo[RepositoryError]) -> str:
    """The error's message, after checking that neither it nor its chained causes hold the token."""
    text = "".join(traceback.format_exception(error.value))
    assert TOKEN not in text
    return str(error.value)


def git_home(tmp_path: Path) -> dict[str, str]:
    """An environment whose git configuration is only what the test gives it."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
    }
