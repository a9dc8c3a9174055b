"""Definition, references, rename (with prepareRename, across files), symbols."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import SHOP, find, open_file, until

pytestmark = pytest.mark.asyncio

APP = 'application shop {\n  owner = "acme"\n}\n'
API = """\
component api {
  compute web {
    command = ["python3", "server.py"]
    env = { DB = orders.path }
  }
  storage orders { engine = "sqlite" }
  connection web_orders { from = web, to = orders }
}
"""
WORKER = """\
component worker {
  compute jobs {
    command = ["python3", "worker.py"]
    env = { API = api.web.url, DB = api.orders.path }
  }
}
"""


def unit(tmp_path: Path) -> dict[str, Path]:
    files = {"app": tmp_path / "app.sct", "api": tmp_path / "api.sct", "worker": tmp_path / "worker.sct"}
    files["app"].write_text(APP, encoding="utf-8")
    files["api"].write_text(API, encoding="utf-8")
    files["worker"].write_text(WORKER, encoding="utf-8")
    return files


def doc_id(uri: str) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=uri)


async def test_definition_across_files(client: LanguageClient, tmp_path: Path) -> None:
    files = unit(tmp_path)
    worker = open_file(client, files["worker"])
    result = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=doc_id(worker), position=find(WORKER, "orders.path", delta=2))
    )
    assert isinstance(result, list) and len(result) == 1
    assert result[0].uri == files["api"].resolve().as_uri()
    assert result[0].range.start == find(API, "orders {")
    # On `api` of `api.web.url`: the component.
    result = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=doc_id(worker), position=find(WORKER, "api.web"))
    )
    assert isinstance(result, list) and result[0].range.start == find(API, "api {")


async def test_references_include_every_file(client: LanguageClient, tmp_path: Path) -> None:
    files = unit(tmp_path)
    api = open_file(client, files["api"])
    result = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=doc_id(api),
            position=find(API, "orders {"),
            context=lsp.ReferenceContext(include_declaration=True),
        )
    )
    assert result is not None
    where = sorted((Path(loc.uri).name, loc.range.start.line) for loc in result)
    assert where == [("api.sct", 3), ("api.sct", 5), ("api.sct", 6), ("worker.sct", 3)]


async def test_rename_object_across_files(client: LanguageClient, tmp_path: Path) -> None:
    files = unit(tmp_path)
    api = open_file(client, files["api"])
    position = find(API, "orders {", delta=1)
    prepared = await client.text_document_prepare_rename_async(
        lsp.PrepareRenameParams(text_document=doc_id(api), position=position)
    )
    assert isinstance(prepared, lsp.PrepareRenamePlaceholder)
    assert prepared.placeholder == "orders"
    edit = await client.text_document_rename_async(
        lsp.RenameParams(text_document=doc_id(api), position=position, new_name="orders_db")
    )
    assert edit is not None and edit.changes is not None
    assert sorted(Path(u).name for u in edit.changes) == ["api.sct", "worker.sct"]
    # Applying the edits gives a unit that still compiles cleanly.
    texts = {}
    for name, path in files.items():
        text = path.read_text(encoding="utf-8")
        edits = edit.changes.get(path.resolve().as_uri(), [])
        lines = text.split("\n")
        for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
            line = lines[e.range.start.line]
            lines[e.range.start.line] = line[: e.range.start.character] + e.new_text + line[e.range.end.character :]
        texts[name] = "\n".join(lines)
    assert "api.orders_db.path" in texts["worker"]
    assert "storage orders_db" in texts["api"] and "to = orders_db" in texts["api"]
    from scoot_lang.compiler import compile_sources

    assert compile_sources({f"{k}.sct": v for k, v in texts.items()}).diagnostics == []


async def test_rename_component_and_refusals(client: LanguageClient, tmp_path: Path) -> None:
    files = unit(tmp_path)
    worker = open_file(client, files["worker"])
    edit = await client.text_document_rename_async(
        lsp.RenameParams(text_document=doc_id(worker), position=find(WORKER, "api.web"), new_name="backend")
    )
    assert edit is not None and edit.changes is not None
    api_edits = edit.changes[files["api"].resolve().as_uri()]
    assert [e.range.start for e in api_edits] == [find(API, "api {")]
    assert len(edit.changes[worker]) == 2
    # An existing name, a keyword, an output: refused with an error, and the server goes on.
    for position, name in ((find(WORKER, "api.web", delta=4), "orders"), (find(WORKER, "api.web"), "worker"), (find(WORKER, "api.web"), "let")):
        with pytest.raises(Exception, match=r"already|not a name"):
            await client.text_document_rename_async(
                lsp.RenameParams(text_document=doc_id(worker), position=position, new_name=name)
            )
    with pytest.raises(Exception, match="not the name"):
        await client.text_document_prepare_rename_async(
            lsp.PrepareRenameParams(text_document=doc_id(worker), position=find(WORKER, "url"))
        )
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=doc_id(worker)))
    assert symbols is not None


@pytest.mark.parametrize("name", ["con", "LPT1", "let", "x" * 101])
async def test_rename_refuses_what_the_compiler_refuses(client: LanguageClient, tmp_path: Path, name: str) -> None:
    # The rename asks the model's name rules, as the checker does: a Windows device name, a
    # keyword or an over-long name would otherwise be written, then fail SCT104.
    files = unit(tmp_path)
    worker = open_file(client, files["worker"])
    with pytest.raises(Exception, match="not a name here"):
        await client.text_document_rename_async(
            lsp.RenameParams(text_document=doc_id(worker), position=find(WORKER, "api.web"), new_name=name)
        )
    with pytest.raises(Exception, match="not the name"):
        await client.text_document_prepare_rename_async(
            lsp.PrepareRenameParams(text_document=doc_id(worker), position=find(WORKER, "component"))
        )


async def test_document_and_workspace_symbols(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "architecture.sct"
    path.write_text(SHOP, encoding="utf-8")
    doc = open_file(client, path)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=doc_id(doc)))
    assert symbols is not None
    outline = [(s.name, s.detail, [c.name for c in (s.children or [])]) for s in symbols]  # type: ignore[union-attr]
    assert outline == [
        ("shop", "application", []),
        ("greeting", "param", []),
        ("api", "component", ["web", "orders", "web_orders"]),
    ]
    await until(lambda: doc in client.diagnostics)
    found = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="ord"))
    assert found is not None
    names = sorted(s.name for s in found)
    assert "api.orders" in names and "api.web_orders" in names and "api.web" not in names
