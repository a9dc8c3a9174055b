"""Object kinds as plugins, as a user gets them: the package in `scoot-queue/` (a `queue`
kind, and `queue-local`, a driver serving it) installed with pip into an environment of its
own, and that environment's `scoot` validating, printing the schema, applying and completing.

The environment sees this one's packages (Scoot and its dependencies) through a `.pth` file,
so pip installs the plugin alone, offline, with the build backend installed here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from scoot_model.objects import KIND_GROUP, Compute, KindRegistry
from tests.lsp.conftest import find, open_file, until

PACKAGE = Path(__file__).resolve().parent / "scoot-queue"

MAIL = """\
application mail {
  owner = "acme"
}

component inbox {
  source = "./inbox"

  queue incoming {
    max_messages = 50
  }

  compute reader {
    command = ["python3", "-c", "import os, pathlib, time; pathlib.Path(os.environ['QUEUE'], 'hello').write_text('hi'); time.sleep(600)"]
    env     = { QUEUE = incoming.path }
  }
}
"""


@pytest.fixture(scope="session")
def plugged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a fresh environment holding this one's packages and, installed with
    pip, the plugin package."""
    home = tmp_path_factory.mktemp("plugged") / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(home)
    python = home / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # This environment's packages, and its editable install's paths (a .pth of their own).
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in sorted(ours))
    Path(purelib, "_scoot_parent.pth").write_text(lines, encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-index",
            "--no-build-isolation",
            str(PACKAGE),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return python


def scoot(
    python: Path, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "scoot_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


@pytest.fixture
def mail(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "architecture.sct").write_text(MAIL, encoding="utf-8")
    return tmp_path


pytestmark = pytest.mark.slow


def test_the_plugin_kind_validates_and_is_in_the_schema(plugged: Path, mail: Path) -> None:
    result = scoot(plugged, "validate", cwd=mail)
    assert result.returncode == 0, result.stderr
    schema = json.loads(scoot(plugged, "schema", cwd=mail).stdout)
    queue = schema["$defs"]["Queue"]
    assert queue["properties"]["max_messages"]["description"].startswith("The most messages")
    objects = schema["$defs"]["Component"]["properties"]["objects"]["additionalProperties"]
    assert objects["discriminator"]["mapping"]["queue"] == "#/$defs/Queue"
    # A wrong key of the plugin's kind is reported as a built-in kind's would be.
    (mail / "architecture.sct").write_text(
        MAIL.replace("max_messages", "max_mesages"), encoding="utf-8"
    )
    result = scoot(plugged, "validate", cwd=mail)
    assert result.returncode == 1 and "SCT202" in result.stderr and "max_messages" in result.stderr
    # An unknown kind is told among the installed ones.
    (mail / "architecture.sct").write_text(
        MAIL.replace("queue incoming", "queu incoming"), encoding="utf-8"
    )
    result = scoot(plugged, "validate", cwd=mail)
    assert (
        "unknown object kind `queu` (did you mean `queue`?); the kinds are `compute`, `connection`, `queue` and `storage`"
        in result.stderr
    )


def test_the_json_form_and_decompile_know_the_plugin_kind(plugged: Path, mail: Path) -> None:
    compiled = scoot(plugged, "compile", cwd=mail)
    assert compiled.returncode == 0, compiled.stderr
    data = json.loads(compiled.stdout)
    assert data["components"]["inbox"]["objects"]["incoming"] == {
        "kind": "queue",
        "max_messages": 50,
    }
    (mail / "json").mkdir()
    (mail / "json" / "architecture.json").write_text(compiled.stdout, encoding="utf-8")
    assert scoot(plugged, "validate", "json", cwd=mail).returncode == 0
    text = scoot(plugged, "decompile", "json/architecture.json", cwd=mail)
    assert text.returncode == 0, text.stderr
    assert "queue incoming {" in text.stdout and "QUEUE = incoming.path" in text.stdout


def test_without_the_plugin_the_kind_is_unknown_and_says_a_package_may_add_it(mail: Path) -> None:
    result = scoot(Path(sys.executable), "validate", cwd=mail)
    assert result.returncode == 1
    assert "SCT201: unknown object kind `queue`" in result.stderr
    assert (
        f"a package may add `queue` (it registers the kind under the entry-point group `{KIND_GROUP}`)"
        in result.stderr
    )


def test_a_plugin_driver_applies_the_plugin_kind(plugged: Path, mail: Path) -> None:
    # The local driver does not serve `queue`: refused at plan time, saying what serves what.
    planned = scoot(plugged, "plan", cwd=mail)
    assert planned.returncode == 1
    assert (
        "the local driver serves `compute`, `connection` and `storage`, not `queue`"
        in planned.stderr
    )
    assert "the package `scoot-queue`" in planned.stderr
    assert not (mail / ".scoots" / "queues").exists()
    # The plugin's driver does, and the built-in kinds through the local driver's code.
    (mail / "scoot.toml").write_text('[targets.local]\ncloud = "queue-local"\n', encoding="utf-8")
    applied = scoot(plugged, "apply", "--yes", cwd=mail)
    assert applied.returncode == 0, applied.stderr
    folder = mail / ".scoots" / "queues" / "inbox" / "incoming"
    assert json.loads((folder / "queue.json").read_text())["max_messages"] == 50
    lock = json.loads((mail / "scoot.lock").read_text())
    recorded = lock["targets"]["local"]["objects"]["inbox.incoming"]
    assert recorded["kind"] == "queue" and recorded["outputs"] == {
        "path": ".scoots/queues/inbox/incoming"
    }
    # The compute got the queue's path, made absolute (`path` is a local output).
    deadline = time.monotonic() + 30
    while not (folder / "hello").exists():
        assert time.monotonic() < deadline, "the reader never wrote into the queue"
        time.sleep(0.05)
    again = scoot(plugged, "plan", "--detailed-exitcode", cwd=mail)
    assert again.returncode == 0, again.stdout + again.stderr
    destroyed = scoot(plugged, "destroy", "--yes", cwd=mail)
    assert destroyed.returncode == 0, destroyed.stderr
    assert not folder.exists()


@pytest.mark.asyncio
async def test_the_language_server_completes_the_plugin_kind_and_its_keys(
    plugged: Path, mail: Path
) -> None:
    client = await ClientServerConfig(
        server_command=[str(plugged), "-m", "scoot_cli", "lsp"]
    ).start()
    assert isinstance(client, LanguageClient)

    @client.feature(lsp.WORKSPACE_CODE_LENS_REFRESH)
    def lens_refresh(params: None) -> None:
        pass

    try:
        await client.initialize_session(
            lsp.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                initialization_options={"debounce": 0.0},
            )
        )
        text = MAIL.replace("    max_messages = 50\n", "    \n")
        doc = open_file(client, mail / "architecture.sct", text)
        await until(lambda: doc in client.diagnostics)
        assert not client.diagnostics[doc]

        async def labels(position: lsp.Position) -> dict[str, lsp.CompletionItem]:
            result = await client.text_document_completion_async(
                lsp.CompletionParams(
                    text_document=lsp.TextDocumentIdentifier(uri=doc), position=position
                )
            )
            items = result.items if isinstance(result, lsp.CompletionList) else result or []
            return {item.label: item for item in items}

        kinds = await labels(find(text, "  queue incoming"))
        assert {"compute", "storage", "connection", "queue"} <= set(kinds)
        assert isinstance(kinds["queue"].documentation, lsp.MarkupContent)
        assert "scoot-queue" in kinds["queue"].documentation.value
        keys = await labels(find(text, "    \n", delta=4))
        assert (
            "max_messages" in keys
            and keys["max_messages"].detail
            and "whole number" in keys["max_messages"].detail
        )
        outputs = await labels(find(text, "incoming.path", delta=len("incoming.")))
        assert set(outputs) == {"path"}
        hover = await client.text_document_hover_async(
            lsp.HoverParams(
                text_document=lsp.TextDocumentIdentifier(uri=doc),
                position=find(text, "queue incoming", delta=1),
            )
        )
        assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
        assert "A queue of messages kept in a folder" in hover.contents.value
    finally:
        await client.shutdown_session()


BROKEN = {
    "missing": "scoot_broken_absent.kind:Missing",  # its module is not there
    "notakind": "scoot_broken:NotAKind",  # not an SctObject
    "compute": "scoot_broken:Compute",  # a built-in kind's name
    "let": "scoot_broken:Let",  # a keyword
    "misnamed": "scoot_broken:Queue2",  # the entry point named after another kind
}


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[Path]:
    """A folder holding a package whose `scoot.object_kinds` entry points are all broken,
    found by importlib.metadata as an installed package is (on PYTHONPATH)."""
    folder = tmp_path / "broken"
    info = folder / "scoot_broken-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: scoot-broken\nVersion: 1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in BROKEN.items())
    (info / "entry_points.txt").write_text(f"[{KIND_GROUP}]\n{lines}")
    (folder / "scoot_broken.py").write_text(
        "from typing import ClassVar, Literal\n"
        "from scoot_model.objects import SctObject\n"
        "class NotAKind:\n    pass\n"
        "class Compute(SctObject):\n    kind: Literal['compute'] = 'compute'\n    kind_name: ClassVar[str] = 'compute'\n"
        "class Let(SctObject):\n    kind: Literal['let'] = 'let'\n    kind_name: ClassVar[str] = 'let'\n"
        "class Queue2(SctObject):\n    kind: Literal['queue2'] = 'queue2'\n    kind_name: ClassVar[str] = 'queue2'\n"
    )
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("scoot_broken", None)


def test_broken_plugins_are_reported_and_the_built_in_kinds_stay(broken: Path) -> None:
    registry = KindRegistry()
    assert "scoot_broken" not in sys.modules  # read on the first question, not before
    assert registry.get("compute") is Compute
    assert "scoot_broken" in sys.modules
    assert registry.names() == ["compute", "connection", "storage"]
    problems = {problem.name: problem for problem in registry.problems()}
    assert set(problems) == set(BROKEN)
    assert len(registry.problems()) == len(BROKEN)  # once: asking again loads nothing again
    assert all(problem.distribution == "scoot-broken" for problem in problems.values())
    assert "ModuleNotFoundError" in problems["missing"].reason
    assert "not a subclass of scoot_model.objects.SctObject" in problems["notakind"].reason
    assert "a built-in kind" in problems["compute"].reason
    assert "keyword" in problems["let"].reason
    assert "name it after the kind" in problems["misnamed"].reason
    assert str(problems["missing"]).startswith(
        "the kind plugin `missing = scoot_broken_absent.kind:Missing` (entry-point group "
        f"`{KIND_GROUP}`) of the package `scoot-broken` is not loaded"
    )


def test_a_broken_plugin_is_an_error_where_its_kind_is_used_not_a_traceback(
    plugged: Path, mail: Path, broken: Path
) -> None:
    env = {"PYTHONPATH": str(broken)}
    # The working plugin and the built-in kinds are untouched.
    assert scoot(plugged, "validate", cwd=mail, env=env).returncode == 0
    schema = scoot(plugged, "schema", cwd=mail, env=env)
    assert schema.returncode == 0 and "Queue" in json.loads(schema.stdout)["$defs"]
    assert "warning: the kind plugin `missing = scoot_broken_absent.kind:Missing`" in schema.stderr
    (mail / "architecture.sct").write_text(
        MAIL + "component extra {\n  missing thing {}\n}\n", encoding="utf-8"
    )
    result = scoot(plugged, "validate", cwd=mail, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "SCT201: unknown object kind `missing`" in result.stderr
    assert (
        "of the package `scoot-broken` is not loaded: importing `scoot_broken_absent.kind:Missing` failed"
        in result.stderr
    )
