"""The compiled architecture kept under `.scoots/cache/` (scoot_app/compile_cache.py),
through `scoot plan --json` on real files.

To see whether a plan used the entry, a test poisons it: it adds an object to the
kept architecture that the source does not have. A plan that shows the poison read
the entry; one that does not compiled the source. Each change that must invalidate
the entry (an edit, a param, a module's file, the file `file()` reads) is made after
poisoning, so a stale entry would show.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoot_cli import cli
from scoot_model.objects import KIND_GROUP

ROOT = Path(__file__).resolve().parents[2]

ARCHITECTURE = """\
application tiny {
  owner = "acme"
}

param greeting: string = "hello"

component app {
  source = "./src"

  storage files { engine = "directory" }

  compute web {
    command = ["python3", "-c", "pass"]
    env     = { GREETING = greeting }
  }
}
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "src").mkdir(parents=True)
    (root / "architecture.sct").write_text(ARCHITECTURE)
    return root


def plan(app: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["plan", "--json", *args, str(app)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def changes(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {change["address"]: change for change in data["changes"]}


def entries(app: Path) -> list[Path]:
    return sorted((app / ".scoots" / "cache").glob("architecture-*.json"))


def poison(app: Path) -> None:
    """Add `app.poison`, an object the source does not declare, to the kept architecture."""
    [entry] = entries(app)
    kept = json.loads(entry.read_text())
    kept["components"]["app"]["objects"]["poison"] = {"kind": "storage", "engine": "directory"}
    entry.write_text(json.dumps(kept))


def test_a_second_plan_reads_the_entry_with_the_same_lines(app: Path) -> None:
    first = plan(app)
    assert len(entries(app)) == 1
    poison(app)
    second = changes(plan(app))
    assert "app.poison" in second  # the entry was read, not the source
    # The lines of the changes, which the entry does not hold, are the source's.
    for address, change in changes(first).items():
        assert second[address]["location"] == change["location"]
        assert second[address]["key_locations"] == change["key_locations"]


def test_an_edit_a_param_or_a_damaged_entry_is_a_new_compile(app: Path) -> None:
    plan(app)
    poison(app)
    (app / "architecture.sct").write_text(ARCHITECTURE.replace('"directory"', '"directory" ', 1))
    assert "app.poison" not in changes(plan(app))
    assert len(entries(app)) == 1  # the old entry went

    poison(app)
    given = changes(plan(app, "--param", "greeting=hi"))
    assert "app.poison" not in given
    assert given["app.web"]["values"]["env"]["after"] == {"GREETING": "hi"}

    [entry] = entries(app)
    entry.write_text('{"version": 1, "application": ')
    assert "app.poison" not in changes(plan(app, "--param", "greeting=hi"))
    assert json.loads(entry.read_text())["application"]["name"] == "tiny"  # written again


def test_a_compile_with_a_warning_is_not_kept(app: Path) -> None:
    (app / "architecture.sct").write_text(ARCHITECTURE + "\nlet unused = 1\n")
    for _ in range(2):
        result = CliRunner().invoke(cli, ["plan", str(app)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "warning" in result.output
    assert entries(app) == []


def test_a_module_or_a_file_read_is_compiled_every_time(app: Path) -> None:
    (app / "modules" / "box").mkdir(parents=True)
    (app / "modules" / "box" / "box.sct").write_text('storage inner { engine = "directory" }\n')
    (app / "motd.txt").write_text("hello\n")
    (app / "architecture.sct").write_text(
        ARCHITECTURE.replace("env     = { GREETING = greeting }", 'env     = { MOTD = file("motd.txt") }').replace(
            "  storage files", '  module box { source = "./modules/box" }\n\n  storage files'
        )
    )
    assert {"app.box-inner", "app.files", "app.web"} <= set(changes(plan(app)))
    assert entries(app) == []

    (app / "modules" / "box" / "box.sct").write_text('storage other { engine = "directory" }\n')
    (app / "motd.txt").write_text("bonjour\n")
    now = changes(plan(app))
    assert "app.box-other" in now and "app.box-inner" not in now
    assert now["app.web"]["values"]["env"]["after"] == {"MOTD": "bonjour\n"}


def test_an_object_of_a_plugins_kind_is_compiled_every_time(app: Path, tmp_path: Path) -> None:
    """A kind from a package (found by importlib.metadata on PYTHONPATH, as an installed one
    is): its version is not in the key, so nothing is kept. The command is a process of its
    own, since the kinds are read once a process."""
    plugin = tmp_path / "plugin"
    info = plugin / "scoot_bell-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: scoot-bell\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{KIND_GROUP}]\nbell = scoot_bell:Bell\n")
    (plugin / "scoot_bell.py").write_text(
        "from typing import ClassVar, Literal\n"
        "from scoot_model.objects import SctObject\n"
        "class Bell(SctObject):\n    kind: Literal['bell'] = 'bell'\n    kind_name: ClassVar[str] = 'bell'\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def plan_process() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scoot_cli", "plan", str(app)], env=env, capture_output=True, text=True, timeout=120
        )

    assert plan_process().returncode == 0
    assert len(entries(app)) == 1  # the same process, without a plugin's kind: kept
    (app / "architecture.sct").write_text(ARCHITECTURE.replace("  storage files", "  bell ring {}\n\n  storage files"))
    shutil.rmtree(app / ".scoots" / "cache")
    done = plan_process()
    assert "bell" in done.stdout + done.stderr  # compiled: the local driver says it serves no bell
    assert entries(app) == []
