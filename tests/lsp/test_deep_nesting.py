"""Nesting 500 deep in an open document: the server reports SCT009 at the bracket that goes
past the limit and answers every request (it used to fail them with a RecursionError)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import SHOP, open_file, pos, until

pytestmark = pytest.mark.asyncio

DEEP = SHOP + "\nlet deep = " + "[" * 500 + "]" * 500 + "\n"
# 64 levels, the most there may be, in a value the checker evaluates, folds and walks.
DEEPEST = SHOP.replace("GREETING      = greeting", "GREETING      = greeting\n      DEEPEST = " + "[" * 61 + "1" + "]" * 61)


async def test_a_document_nested_500_deep_gets_a_diagnostic_and_answers(client: LanguageClient, tmp_path: Path) -> None:
    doc = open_file(client, tmp_path / "architecture.sct", DEEP)
    await until(lambda: any(d.code == "SCT009" for d in client.diagnostics.get(doc, [])))
    found = next(d for d in client.diagnostics[doc] if d.code == "SCT009")
    line = DEEP.count("\n", 0, DEEP.index("let deep"))
    assert found.range.start == pos(line, len("let deep = ") + 64)
    await _every_request_answers(client, doc, pos(line, len("let deep = ") + 300))


async def test_the_deepest_allowed_document_answers(client: LanguageClient, tmp_path: Path) -> None:
    doc = open_file(client, tmp_path / "architecture.sct", DEEPEST)
    line = DEEPEST.count("\n", 0, DEEPEST.index("DEEPEST"))
    await until(lambda: doc in client.diagnostics)
    # A list where a string is wanted (SCT204), not a nesting error: 64 levels are allowed.
    assert [d.code for d in client.diagnostics[doc]] == ["SCT204"]
    await _every_request_answers(client, doc, pos(line, 40))


async def _every_request_answers(client: LanguageClient, doc: str, here: lsp.Position) -> None:
    ident = lsp.TextDocumentIdentifier(uri=doc)
    await client.text_document_hover_async(lsp.HoverParams(text_document=ident, position=here))
    await client.text_document_completion_async(lsp.CompletionParams(text_document=ident, position=here))
    tokens = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=ident))
    assert tokens is not None and tokens.data
    await client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=ident))
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=ident))
    assert symbols
    await client.text_document_definition_async(lsp.DefinitionParams(text_document=ident, position=here))
    await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=ident))
    await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=ident, options=lsp.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    report = await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(text_document=ident))
    assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
