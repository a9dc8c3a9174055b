"""Compiled architecture files in VS Code: validated and completed from the schema the extension ships.

VS Code cannot run here, so these tests run the part of it that does the work:
its JSON language server (`vscode-json-language-server`, extracted from VS Code
by vscode-langservers-extracted), over stdio, given what VS Code gives it from
the extension's manifest: the `json.schemas` setting (with the extension's
`configurationDefaults`) and the `jsonValidation` associations, which VS Code's
JSON client sends with file patterns prefixed by `/` and relative URLs resolved
against the extension's folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

from tests.lsp.conftest import find, until

from .conftest import VSCODE

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    return data


def associations() -> list[dict[str, Any]]:
    """`json/schemaAssociations`, as VS Code's JSON client builds it from `jsonValidation`."""
    result = []
    for validation in manifest()["contributes"]["jsonValidation"]:
        url = validation["url"]
        if url.startswith("./"):
            url = (VSCODE / url).resolve().as_uri()
        patterns = [p if p.startswith(("/", "!")) or "://" in p else "/" + p for p in validation["fileMatch"]]
        result.append({"fileMatch": patterns, "uri": url})
    return result


def settings(with_defaults: bool = True) -> dict[str, Any]:
    defaults = manifest()["contributes"].get("configurationDefaults", {}) if with_defaults else {}
    return {"json": {"validate": {"enable": True}, "schemas": defaults.get("json.schemas", [])}}


def compiled_shop() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "scoot_cli", "compile", str(ROOT / "examples" / "shop")],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


async def start(vscode: Path, with_defaults: bool = True) -> LanguageClient:
    client = make_test_lsp_client()
    await client.start_io("node", str(vscode / "node_modules" / ".bin" / "vscode-json-language-server"), "--stdio")
    await client.initialize_session(
        lsp.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options={"provideFormatter": False},
        )
    )
    # vscode-jsonrpc sends a lone array argument wrapped in the params array.
    client.protocol.notify("json/schemaAssociations", [associations()])
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=settings(with_defaults)))
    return client


@pytest_asyncio.fixture
async def json_server(vscode: Path) -> AsyncIterator[LanguageClient]:
    client = await start(vscode)
    yield client
    await client.shutdown_session()


def open_json(client: LanguageClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="json", version=1, text=text)
        )
    )
    return uri


async def diagnostics(client: LanguageClient, uri: str) -> list[lsp.Diagnostic]:
    await until(lambda: uri in client.diagnostics, timeout=30)
    return client.diagnostics[uri]


async def test_a_compiled_file_is_valid_against_the_bundled_schema(json_server: LanguageClient, tmp_path: Path) -> None:
    """Its `$schema` address is never fetched (there is no network here): the extension's copy answers."""
    uri = open_json(json_server, tmp_path / "shop.json", compiled_shop())
    assert list(await diagnostics(json_server, uri)) == []


async def test_a_mistake_in_a_compiled_file_is_reported(json_server: LanguageClient, tmp_path: Path) -> None:
    text = compiled_shop().replace('"port": 8080', '"port": "eighty"', 1)
    uri = open_json(json_server, tmp_path / "shop.json", text)
    (problem,) = await diagnostics(json_server, uri)
    assert problem.range.start == find(text, '"eighty"')
    assert "integer" in problem.message.lower()


async def test_keys_of_a_compiled_file_are_completed(json_server: LanguageClient, tmp_path: Path) -> None:
    anchor = '"health": "/healthz",\n'
    text = compiled_shop().replace(anchor, anchor + '          "",\n', 1)
    uri = open_json(json_server, tmp_path / "shop.json", text)
    result = await json_server.text_document_completion_async(
        lsp.CompletionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=find(text, anchor + '          "', delta=len(anchor) + 11)
        )
    )
    items = result.items if isinstance(result, lsp.CompletionList) else result or []
    labels = {item.label for item in items}
    assert {"replicas", "workdir", "shell"} <= labels, labels


async def test_architecture_json_without_schema_line_is_validated(json_server: LanguageClient, tmp_path: Path) -> None:
    """The `jsonValidation` association: a file named architecture.json, with no `$schema`."""
    data = json.loads(compiled_shop())
    del data["$schema"]
    data["components"]["api"]["objects"]["web"]["replicas"] = 0
    text = json.dumps(data, indent=2)
    uri = open_json(json_server, tmp_path / "architecture.json", text)
    (problem,) = await diagnostics(json_server, uri)
    assert problem.range.start == find(text, '"replicas": 0', delta=len('"replicas": '))


async def test_without_the_url_mapping_the_schema_address_is_fetched(vscode: Path, tmp_path: Path) -> None:
    """What the `configurationDefaults` entry is for: without it the server tries the address and fails."""
    client = await start(vscode, with_defaults=False)
    try:
        uri = open_json(client, tmp_path / "shop.json", compiled_shop().replace('"port": 8080', '"port": "x"', 1))
        problems = await diagnostics(client, uri)
        assert problems, "the address of the schema should not load without the mapping"
        assert all("scoot.dev" in problem.message for problem in problems), problems
    finally:
        await client.shutdown_session()
