"""Diagnostics: pushed on open and change, pulled, the codes and ranges of `scoot validate`."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from scoot_lang.compiler import compile_path
from tests.lsp.conftest import SHOP, change, find, open_file, pos, until

pytestmark = pytest.mark.asyncio


async def test_diagnostics_pushed_on_open_match_validate(client: LanguageClient, tmp_path: Path) -> None:
    text = SHOP.replace("port    = 8080", "prot    = 8080")
    path = tmp_path / "architecture.sct"
    path.write_text(text, encoding="utf-8")
    doc = open_file(client, path)
    await until(lambda: bool(client.diagnostics.get(doc)))
    expected = compile_path(tmp_path).located()
    got = client.diagnostics[doc]
    assert [d.code for d in got] == [item.diagnostic.code for item in expected]
    assert [d.message for d in got] == [item.diagnostic.message for item in expected]
    for diagnostic, item in zip(got, expected, strict=True):
        assert item.start is not None
        assert diagnostic.range.start == pos(item.start.line - 1, item.start.column - 1)
        assert diagnostic.source == "scoot"
    assert got[0].code == "SCT202"
    assert got[0].range.start == find(text, "prot")


async def test_diagnostics_follow_changes_and_clear(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "architecture.sct"
    doc = open_file(client, path, SHOP)
    await until(lambda: doc in client.diagnostics)
    assert not client.diagnostics[doc]
    broken = SHOP.replace('engine = "sqlite"', "engine = ")
    change(client, doc, 2, broken)
    await until(lambda: any(d.code == "SCT001" for d in client.diagnostics.get(doc, [])))
    change(client, doc, 3, SHOP)
    await until(lambda: not client.diagnostics.get(doc, [1]))


async def test_incremental_change_on_a_multibyte_line(client: LanguageClient, tmp_path: Path) -> None:
    # "é" is one UTF-16 unit, "🚀" two: the error after them must be placed in UTF-16 units.
    text = SHOP.replace('owner = "acme"', 'owner = "acme" // café 🚀 rocket\n  bogus = 1')
    path = tmp_path / "architecture.sct"
    doc = open_file(client, path, text)
    await until(lambda: any(d.code == "SCT202" for d in client.diagnostics.get(doc, [])))
    (bogus,) = [d for d in client.diagnostics[doc] if d.code == "SCT202"]
    assert bogus.range.start == find(text, "bogus")
    # Replace "rocket" (after the astral character) with "ship": an incremental edit in UTF-16.
    start = find(text, "rocket")
    end = lsp.Position(line=start.line, character=start.character + len("rocket"))
    change(client, doc, 2, "ship", lsp.Range(start=start, end=end))
    # Then put a wrong key on that same line, after the emoji.
    new_text = text.replace("rocket", "ship")
    at = find(new_text, "// café")
    change(client, doc, 3, "wrong = 2 ", lsp.Range(start=at, end=at))
    final = new_text.replace("// café", "wrong = 2 // café")
    await until(lambda: sum(d.code == "SCT202" for d in client.diagnostics.get(doc, [])) == 2)
    wrong = next(d for d in client.diagnostics[doc] if "`wrong`" in d.message)
    assert wrong.range.start == find(final, "wrong")
    report = await client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=doc))
    )
    assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
    assert {d.message for d in report.items} == {d.message for d in client.diagnostics[doc]}


async def test_multi_file_unit_reports_errors_in_every_file(client: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / "app.sct").write_text('application shop {\n  owner = "acme"\n}\n', encoding="utf-8")
    (tmp_path / "api.sct").write_text(
        'component api {\n  compute web {\n    command = ["x"]\n    env = { DB = orders.path }\n  }\n}\n',
        encoding="utf-8",
    )
    storage = tmp_path / "storage.sct"
    storage.write_text('component data {\n  storage orders { engine = "sqlite" }\n}\n', encoding="utf-8")
    doc = open_file(client, storage)
    api = (tmp_path / "api.sct").resolve().as_uri()
    # `orders` is in another component: the error is in api.sct, caused by storage.sct.
    await until(lambda: any(d.code == "SCT301" for d in client.diagnostics.get(api, [])))
    assert not client.diagnostics.get(doc)
    # Moving the storage into component api (an unsaved buffer) fixes the other file.
    change(client, doc, 2, 'component api {\n  storage orders { engine = "sqlite" }\n}\n')
    await until(lambda: any(d.code == "SCT103" for d in client.diagnostics.get(doc, [])))
    report = await client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=doc))
    )
    assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
    assert report.related_documents is not None and api in report.related_documents
    assert any(d.code == "SCT103" for d in report.items)
