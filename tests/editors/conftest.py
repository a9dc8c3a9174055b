"""The editor tests run the editors' own tooling: npm's (for VS Code) and Debian's Neovim."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode"


def run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a tool; its output is kept for the assertion message."""
    return subprocess.run(
        command, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def vscode() -> Path:
    """editors/vscode with its pinned dev dependencies installed (`npm ci` from the lock file)."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail(
            "Node.js and npm are needed for the VS Code extension's tests (Node.js 20 or newer)."
        )
    if not (VSCODE / "node_modules" / ".package-lock.json").exists():
        done = run([npm, "ci", "--no-audit", "--no-fund"], VSCODE, timeout=600)
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return VSCODE


def tool(vscode: Path, name: str) -> str:
    return str(vscode / "node_modules" / ".bin" / name)
