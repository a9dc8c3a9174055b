"""Robustness: random edits never stop the server from answering; failing requests are errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from scoot_lsp.positions import LineIndex

from tests.lsp.conftest import SHOP, change, open_file, pos, until

pytestmark = pytest.mark.asyncio

PIECES = ["{", "}", "[", "]", '"', '"""', "${", "=", ",", ".", "\n", "/*", "//", "#", "é", "🚀", "\r\n", "\r",
          "component", "compute x {", "api.web.", "secret(", ")", "-1e5", "\\", "\x00", "let y = ", "param p: "]


def apply_edits(text: str, edits: list[lsp.TextEdit]) -> str:
    """Apply LSP edits (non-overlapping) to a text."""
    index = LineIndex(text)
    spans = sorted(((index.offset(e.range.start), index.offset(e.range.end), e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def random_edit(rng: random.Random, text: str) -> tuple[lsp.Range, str]:
    index = LineIndex(text)
    start = rng.randrange(len(text) + 1)
    end = min(len(text), start + rng.choice([0, 0, 1, 3, 20]))
    new = "".join(rng.choice(PIECES) for _ in range(rng.choice([0, 1, 1, 2, 4])))
    return index.range(start, end), new


async def test_random_edits_then_the_server_still_answers(client: LanguageClient, tmp_path: Path) -> None:
    rng = random.Random(4)
    doc = open_file(client, tmp_path / "architecture.sct", SHOP)
    text = SHOP
    version = 1
    for round_ in range(300):
        version += 1
        edit_range, new = random_edit(rng, text)
        change(client, doc, version, new, edit_range)
        index = LineIndex(text)
        text = text[: index.offset(edit_range.start)] + new + text[index.offset(edit_range.end) :]
        if round_ % 25 == 0:  # requests in the middle of the storm, at random places
            here = LineIndex(text).position(rng.randrange(len(text) + 1))
            ident = lsp.TextDocumentIdentifier(uri=doc)
            await client.text_document_hover_async(lsp.HoverParams(text_document=ident, position=here))
            await client.text_document_completion_async(lsp.CompletionParams(text_document=ident, position=here))
            await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=ident))
            await client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=ident))
            await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=ident))
            await client.text_document_code_action_async(
                lsp.CodeActionParams(
                    text_document=ident,
                    range=lsp.Range(start=pos(0, 0), end=here),
                    context=lsp.CodeActionContext(diagnostics=[]),
                )
            )
            await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=ident))
            await client.text_document_formatting_async(
                lsp.DocumentFormattingParams(text_document=ident, options=lsp.FormattingOptions(tab_size=2, insert_spaces=True))
            )
    # The server's text is the client's: the pulled diagnostics are those of `text`.
    report = await client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=doc))
    )
    from scoot_lang.compiler import compile_sources

    path = str((tmp_path / "architecture.sct").resolve())
    expected = compile_sources({path: text}).diagnostics
    assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
    assert [d.message for d in report.items] == [d.message for d in expected]
    # And after one more change back to a good file, the server publishes its (empty) diagnostics.
    change(client, doc, version + 1, SHOP)
    await until(lambda: not client.diagnostics.get(doc, [1]))


async def test_requests_on_unknown_documents_fail_and_the_server_goes_on(client: LanguageClient, tmp_path: Path) -> None:
    missing = lsp.TextDocumentIdentifier(uri=(tmp_path / "nowhere.sct").as_uri())
    with pytest.raises(Exception, match="neither open nor readable"):
        await client.text_document_hover_async(lsp.HoverParams(text_document=missing, position=pos(0, 0)))
    doc = open_file(client, tmp_path / "architecture.sct", SHOP)
    # Positions past the end are clamped, not errors.
    result = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=doc), position=pos(10_000, 10_000))
    )
    assert result is None
    await until(lambda: doc in client.diagnostics)
