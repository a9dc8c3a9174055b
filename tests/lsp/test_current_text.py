"""Completion and hover answer from the text the user has now, not from the last compile.

The server here waits a second after a change before compiling (an editor's
debounce, made long): a request sent right after a change is certainly answered
before the compile of the changed text is done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import SERVER, SHOP, change, find, opened, pos, start_session

pytestmark = pytest.mark.asyncio


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    await start_session(lsp_client, debounce=1.0)
    yield
    await lsp_client.shutdown_session()


async def labels_at(client: LanguageClient, doc: str, position: lsp.Position) -> set[str]:
    result = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri=doc), position=position)
    )
    items = result.items if isinstance(result, lsp.CompletionList) else result or []
    return {item.label for item in items}


@pytest.mark.parametrize(
    "after",
    [
        "    port    = 8080",
        "  compute web {",
        '    command = ["python3", "server.py"]',
        "      GREETING      = greeting\n    }",
    ],
)
async def test_completion_right_after_a_blank_line_anywhere_in_the_compute(
    client: LanguageClient, tmp_path: Path, after: str
) -> None:
    doc = await opened(client, tmp_path)
    at = find(SHOP, after, delta=len(after))
    change(client, doc, 2, "\n    ", lsp.Range(start=at, end=at))
    labels = await labels_at(client, doc, pos(at.line + 1, 4))  # sent right after the change
    assert {"replicas", "health", "workdir"} <= labels
    assert "port" not in labels and "command" not in labels


async def test_completion_right_after_adding_an_object_block_offers_its_keys(
    client: LanguageClient, tmp_path: Path
) -> None:
    doc = await opened(client, tmp_path)
    at = find(SHOP, "  storage orders")
    change(client, doc, 2, "  storage cache {\n    \n  }\n\n", lsp.Range(start=at, end=at))
    labels = await labels_at(client, doc, pos(at.line + 1, 4))
    assert "engine" in labels
    assert "command" not in labels and "port" not in labels  # a storage's keys, not the compute's
    # And a new component with a compute in it, at the end, typed in two changes.
    end = pos(SHOP.count("\n"), 0)
    change(
        client, doc, 3, "\ncomponent jobs {\n  compute worker {\n", lsp.Range(start=end, end=end)
    )
    inner = pos(end.line + 3, 0)
    change(client, doc, 4, "    \n  }\n}\n", lsp.Range(start=inner, end=inner))
    labels = await labels_at(client, doc, pos(inner.line, 4))
    assert {"command", "port", "replicas"} <= labels


async def test_hover_right_after_a_change_describes_the_current_text(
    client: LanguageClient, tmp_path: Path
) -> None:
    doc = await opened(client, tmp_path)
    at = find(SHOP, "    port    = 8080\n", delta=len("    port    = 8080\n"))
    change(client, doc, 2, "    replicas = 2\n", lsp.Range(start=at, end=at))
    result = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=doc), position=pos(at.line, 6))
    )
    assert result is not None and isinstance(result.contents, lsp.MarkupContent)
    assert "replicas" in result.contents.value
