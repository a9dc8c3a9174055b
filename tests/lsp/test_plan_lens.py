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
    from scoot_runtime.state import LockFileModel, ObjectState, TargetState, write_lock

    (tmp_path / "api").mkdir()
    (tmp_path / "scoot.toml").write_text("", encoding="utf-8")
    config = {"engine": "sqlite", "size": None}
    resolved = Resolver({}, Secrets(tmp_path / ".scoots", tmp_path)).resolve(config)
    state = TargetState(
        lineage="l-1",
        cloud="local",
        objects={"api.orders": ObjectState(kind="storage", config=config, digests=resolved.digests)},
    )
    write_lock(tmp_path / "scoot.lock", LockFileModel(targets={"local": state}))
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


def test_scoot_lsp_command_help() -> None:
    from scoot_runtime.cli.lsp import lsp as command

    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0 and "--tcp" in result.output
