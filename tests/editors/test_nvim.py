"""Neovim (Debian's, headless) with the plugin in editors/nvim, talking to the real `scoot lsp`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scoot_lang.format import format_text

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editors" / "nvim"
SCRIPT = Path(__file__).with_name("nvim_test.lua")
SERVER = [sys.executable, "-m", "scoot_cli", "lsp"]

# Badly laid out (formatting has work to do), with one known error: the key `prot` on line 9
# (0-based 8). Line 10 (0-based 9) is an empty line inside `compute web`: completion there
# offers the compute's keys.
SAMPLE = """\
application shop {
owner="acme"
}

component api {
  source = "./api"
  compute web {
      command=["python3","server.py"]
      prot = 8080

    env = { DATABASE = orders.path, GREETING = "hi ${secret("TOKEN")}" }
  }
  storage orders {engine="sqlite"}
}

moved { from = api.old, to = api.orders }
"""
ERROR_LINE = 8
COMPLETION = (9, 4)

SECOND = """\
component worker {
  compute jobs { command = ["python3", "worker.py"] }
}
"""

# (1-based line, 1-based column) -> the syntax group expected there.
PROBES: list[tuple[int, int, str]] = [
    (1, 1, "scootKeyword"),  # application
    (1, 13, "scootBlockName"),  # shop
    (2, 1, "scootKey"),  # owner
    (2, 7, "scootString"),  # "acme"
    (7, 3, "scootKind"),  # compute
    (7, 11, "scootObjectName"),  # web
    (9, 14, "scootNumber"),  # 8080
    (11, 24, "scootReference"),  # orders.path
    (11, 52, "scootInterpolationDelimiter"),  # ${
    (11, 54, "scootBuiltin"),  # secret
    (11, 62, "scootString"),  # "TOKEN", nested in the interpolation
    (16, 1, "scootKeyword"),  # moved
    (16, 9, "scootMovedKey"),  # from
    (16, 16, "scootAddress"),  # api.old, a name and not a reference
    (16, 25, "scootMovedKey"),  # to
]


@pytest.fixture(scope="session")
def nvim() -> str:
    path = shutil.which("nvim")
    if path is None:
        pytest.fail(
            "Neovim is not installed: the editor tests need it. On Debian or Ubuntu: "
            "apt-get install neovim (.ci/run installs it)."
        )
    return path


@pytest.fixture(scope="module")
def session(nvim: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One headless Neovim session: open the sample, collect diagnostics, completion, formatting."""
    tmp = tmp_path_factory.mktemp("nvim")
    app = tmp / "app"
    app.mkdir()
    (app / "architecture.sct").write_text(SAMPLE, encoding="utf-8")
    (app / "worker.sct").write_text(SECOND, encoding="utf-8")
    output = tmp / "output.json"
    spec = {
        "cmd": SERVER,
        "file": str(app / "architecture.sct"),
        "second_file": str(app / "worker.sct"),
        "output": str(output),
        "completion": list(COMPLETION),
        "probes": [[line, col] for line, col, _ in PROBES],
        "timeout_ms": 20000,
    }
    spec_path = tmp / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    command = [
        nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n",
        "--cmd", f"set runtimepath^={PLUGIN}",
        "--cmd", "filetype plugin indent on",
        "--cmd", "syntax on",
        "-c", f"luafile {SCRIPT}",
    ]  # fmt: skip
    # The user's own Neovim configuration and data stay out of it.
    env = {
        **os.environ,
        "SCOOT_NVIM_TEST": str(spec_path),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
    }
    done = subprocess.run(
        command,
        cwd=app,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert output.exists(), (
        f"nvim wrote nothing (exit {done.returncode}): {done.stdout}\n{done.stderr}"
    )
    result: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    assert "error" not in result, f"{result['error']} (after steps {result['steps']})"
    return result


def test_filetype_comment_string_and_syntax(session: dict[str, Any]) -> None:
    assert session["filetype"] == "scoot"
    assert session["commentstring"] == "// %s"
    assert session["current_syntax"] == "scoot"
    expected = [group for _, _, group in PROBES]
    assert session["syntax"] == expected


def test_diagnostic_arrives_at_the_right_line(session: dict[str, Any]) -> None:
    assert session["diagnostics_arrived"], "no diagnostic from scoot lsp"
    codes = {(d["lnum"], d["code"]) for d in session["diagnostics"]}
    assert (ERROR_LINE, "SCT202") in codes, session["diagnostics"]
    (message,) = [d["message"] for d in session["diagnostics"] if d["code"] == "SCT202"]
    assert "prot" in message


def test_completion_offers_configuration_keys(session: dict[str, Any]) -> None:
    labels = session["completion"]
    assert "completion_error" not in session
    assert "replicas" in labels and "health" in labels, labels


def test_formatting_matches_scoot_fmt(session: dict[str, Any]) -> None:
    expected, problems = format_text(SAMPLE)
    assert expected is not None, problems
    assert expected != SAMPLE
    assert "\n".join(session["formatted"]) + "\n" == expected


def test_one_client_serves_the_folder(session: dict[str, Any]) -> None:
    assert session["second_attached"] == 1
    assert session["scoot_clients"] == 1
