"""The language server under test: `scoot lsp` over stdio (as an editor starts it), driven by pytest-lsp."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SHOP = """\
application shop {
  owner = "acme"
}

param greeting: string = "hello"

component api {
  source = "./api"

  compute web {
    command = ["python3", "server.py"]
    port    = 8080
    env = {
      DATABASE_PATH = orders.path
      GREETING      = greeting
    }
  }

  storage orders {
    engine = "sqlite"
  }

  connection web_orders { from = web, to = orders }
}
"""


SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "scoot_cli", "lsp"])


async def start_session(lsp_client: LanguageClient, debounce: float = 0.0) -> None:
    """Initialize as VS Code does, counting the code lens refreshes the server asks for."""
    lsp_client.lens_refreshes = 0  # type: ignore[attr-defined]

    @lsp_client.feature(lsp.WORKSPACE_CODE_LENS_REFRESH)
    def lens_refresh(params: None) -> None:
        lsp_client.lens_refreshes += 1  # type: ignore[attr-defined]

    params = lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"debounce": debounce},
    )
    await lsp_client.initialize_session(params)


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    await start_session(lsp_client)
    yield
    await lsp_client.shutdown_session()


def uri(path: Path) -> str:
    return path.resolve().as_uri()


def open_file(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    """Open a document (its text: `text`, else the file's)."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri(path), language_id="scoot", version=version, text=text)
        )
    )
    return uri(path)


async def opened(client: LanguageClient, tmp_path: Path, text: str = SHOP) -> str:
    """Open `architecture.sct` in `tmp_path` and wait for its first diagnostics."""
    doc = open_file(client, tmp_path / "architecture.sct", text)
    await until(lambda: doc in client.diagnostics)
    return doc


def change(client: LanguageClient, doc: str, version: int, text: str, rng: lsp.Range | None = None) -> None:
    event: lsp.TextDocumentContentChangeEvent
    if rng is None:
        event = lsp.TextDocumentContentChangeWholeDocument(text=text)
    else:
        event = lsp.TextDocumentContentChangePartial(range=rng, text=text)
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=doc, version=version), content_changes=[event]
        )
    )


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition on what the client received (diagnostics arrive by notification)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the server")
        await asyncio.sleep(0.01)


def pos(line: int, character: int) -> lsp.Position:
    return lsp.Position(line=line, character=character)


def find(text: str, needle: str, occurrence: int = 0, delta: int = 0) -> lsp.Position:
    """The UTF-16 position of the `occurrence`-th `needle` in `text` (plus `delta` characters)."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    offset = start + delta
    line = text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    prefix = text[line_start:offset]
    return pos(line, len(prefix.encode("utf-16-le")) // 2)
