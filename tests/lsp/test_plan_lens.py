"""The plan in the editor: a code lens on each object saying what `scoot apply` would do."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import SHOP, change, find, open_file, until


async def lenses(client: LanguageClient, doc: str) -> dict[int, str]:
    result = await client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=doc))
    )
    assert result is not None
    return {lens.range.start.line: lens.command.title for lens in result if lens.command}


@pytest.mark.asyncio
async def test_plan_lens_against_scoot_lock(client: LanguageClient, tmp_path: Path) -> None:
    from scoot_runtime.resolve import Resolver
    from scoot_runtime.secrets import Secrets
    from scoot_runtime.state import ObjectState, StateFileModel, TargetState, write_state_file

    (tmp_path / "api").mkdir()
    (tmp_path / "scoot.toml").write_text("", encoding="utf-8")
    config = {"engine": "sqlite", "size": None}
    resolved = Resolver({}, Secrets(tmp_path / ".scoots", tmp_path)).resolve(config)
    state = TargetState(
        lineage="l-1",
        cloud="local",
        objects={"api.orders": ObjectState(kind="storage", config=config, digests=resolved.digests)},
    )
    write_state_file(tmp_path / "scoot.lock", StateFileModel(targets={"local": state}))
    doc = open_file(client, tmp_path / "architecture.sct", SHOP)
    await until(lambda: doc in client.diagnostics)
    shown = await lenses(client, doc)
    assert shown[find(SHOP, "compute web").line] == "plan: create"
    assert shown[find(SHOP, "storage orders").line] == "plan: unchanged"
    # Refreshed as the user types: a changed key is named.
    typed = SHOP.replace('engine = "sqlite"', 'engine = "directory"')
    change(client, doc, 2, typed)
    await until(lambda: getattr(client, "lens_refreshes", 0) >= 2)
    shown = await lenses(client, doc)
    assert shown[find(typed, "storage orders").line].startswith("plan: replace (engine")
    # With errors, the lens says to fix them first.
    change(client, doc, 3, typed.replace("port    = 8080", "port = true"))
    shown = await lenses(client, doc)
    assert list(shown.values()) == ["plan: fix the errors to see the plan"]


@pytest.mark.asyncio
async def test_plan_lens_never_waits_on_a_remote(client: LanguageClient, tmp_path: Path) -> None:
    """A git source is planned at the revision scoot.lock records, from the checkout on disk:
    a new commit upstream is `scoot plan`'s news, and an unreachable remote does not matter."""
    import shutil
    import subprocess
    import sys

    from scoot_lang.compiler import compile_source
    from scoot_runtime.resolve import Resolver
    from scoot_runtime.secrets import Secrets
    from scoot_runtime.state import ObjectState, StateFileModel, TargetState, write_state_file
    from tests.runtime.test_git_sources import Remote

    remote = Remote(tmp_path / "web.git", tmp_path / "web-work")
    first = remote.commit({"server.py": "print('v1')\n"})
    app = tmp_path / "app"
    app.mkdir()
    (app / "scoot.toml").write_text("", encoding="utf-8")
    text = (
        'application demo { owner = "acme" }\n'
        f'component web {{\n  source = "{(tmp_path / "web.git").as_uri()}"\n'
        '  compute api { command = ["python3", "server.py"] }\n}\n'
    )
    (app / "architecture.sct").write_text(text, encoding="utf-8")
    planned = subprocess.run(  # fetches the first commit
        [sys.executable, "-m", "scoot_cli", "plan", str(app)], capture_output=True, text=True
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    architecture = compile_source(text).architecture
    assert architecture is not None
    config = architecture.components["web"].objects["api"].model_dump(mode="json", by_alias=True)
    config.pop("kind")
    resolved = Resolver({}, Secrets(app / ".scoots", app)).resolve(config)
    recorded = ObjectState(kind="compute", config=config, digests=resolved.digests, revision=first)
    write_state_file(app / "scoot.lock", StateFileModel(targets={"local": TargetState(lineage="l-1", cloud="local", objects={"web.api": recorded})}))
    remote.commit({"server.py": "print('v2')\n"})
    shutil.rmtree(tmp_path / "web.git")  # the remote is gone

    doc = open_file(client, app / "architecture.sct", text)
    await until(lambda: doc in client.diagnostics)
    shown = await lenses(client, doc)
    assert shown[find(text, "compute api").line] == "plan: unchanged"


def test_scoot_lsp_command_help() -> None:
    from scoot_lsp.command import lsp as command

    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0 and "--tcp" in result.output
