"""`moved` blocks in the editor: a rename of what `scoot.lock` records writes the `moved`
block; hover, definition, completion and tokens know the block and its addresses."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from scoot_lsp.tokens import TOKEN_TYPES

from scoot_lang.compiler import compile_sources
from scoot_model.objects import Moved
from scoot_runtime.state import ObjectState, StateFileModel, TargetState, write_state_file
from tests.lsp.conftest import find, open_file, until

pytestmark = pytest.mark.asyncio

APP = """\
application shop { owner = "acme" }

component api {
  compute web {
    command = ["python3", "server.py"]
    env     = { DB = orders.path }
  }

  storage orders { engine = "sqlite" }
}
"""


def record(folder: Path, *addresses: str) -> None:
    """A `scoot.lock` whose `local` target records the objects at `addresses`."""
    (folder / "scoot.toml").write_text("", encoding="utf-8")
    objects = {a: ObjectState(kind="storage", config={"engine": "sqlite"}) for a in addresses}
    write_state_file(folder / "scoot.lock", StateFileModel(targets={"local": TargetState(lineage="l-1", cloud="local", objects=objects)}))


def applied(text: str, edits: list[lsp.TextEdit]) -> str:
    """The text after a rename's edits (each within a line, or inserted at the end)."""
    lines = text.split("\n")
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = e.range.start, e.range.end
        line = lines[start.line]
        rest = lines[end.line][end.character :]
        lines[start.line : end.line + 1] = (line[: start.character] + e.new_text + rest).split("\n")
    return "\n".join(lines)


async def rename(client: LanguageClient, path: Path, text: str, at: str, new_name: str, delta: int = 0) -> str:
    doc = open_file(client, path, text)
    position = find(text, at, delta=delta)
    prepared = await client.text_document_prepare_rename_async(
        lsp.PrepareRenameParams(text_document=lsp.TextDocumentIdentifier(uri=doc), position=position)
    )
    assert prepared is not None
    edit = await client.text_document_rename_async(
        lsp.RenameParams(text_document=lsp.TextDocumentIdentifier(uri=doc), position=position, new_name=new_name)
    )
    assert edit is not None and edit.changes is not None and list(edit.changes) == [doc]
    return applied(text, edit.changes[doc])


def moves(text: str) -> list[Moved]:
    result = compile_sources({"architecture.sct": text})
    assert result.diagnostics == [], result.diagnostics
    assert result.architecture is not None
    return result.architecture.moved


async def test_rename_of_a_recorded_object_writes_the_moved_block(client: LanguageClient, tmp_path: Path) -> None:
    record(tmp_path, "api.orders")
    renamed = await rename(client, tmp_path / "architecture.sct", APP, "orders {", "store")
    assert "storage store" in renamed and "DB = store.path" in renamed
    assert renamed.endswith("}\n\nmoved { from = api.orders, to = api.store }\n")
    assert moves(renamed) == [Moved.model_validate({"from": "api.orders", "to": "api.store"})]


async def test_rename_of_what_nothing_records_is_a_plain_rename(client: LanguageClient, tmp_path: Path) -> None:
    record(tmp_path, "api.web")  # another object
    renamed = await rename(client, tmp_path / "architecture.sct", APP, "orders {", "store")
    assert renamed == APP.replace("orders", "store")
    assert moves(renamed) == []


async def test_a_chain_is_continued_not_rewritten(client: LanguageClient, tmp_path: Path) -> None:
    # Some target may still hold `api.old`: the block that moves it stays as it is.
    text = APP + "\nmoved { from = api.old, to = api.orders }\n"
    renamed = await rename(client, tmp_path / "architecture.sct", text, "orders {", "store")
    assert renamed.endswith("moved { from = api.old, to = api.orders }\nmoved { from = api.orders, to = api.store }\n")
    assert [(m.from_, m.to) for m in moves(renamed)] == [("api.old", "api.orders"), ("api.orders", "api.store")]


async def test_rename_of_a_component_with_a_recorded_object(client: LanguageClient, tmp_path: Path) -> None:
    record(tmp_path, "api.orders")
    text = APP + "\nmoved { from = api.old, to = api.orders }\n"
    # Renamed from the `to` address of a `moved` block: its component part names `api`.
    renamed = await rename(client, tmp_path / "architecture.sct", text, "to = api.orders", "backend", delta=5)
    assert "component backend {" in renamed
    assert "moved { from = api.old, to = backend.orders }\nmoved { from = api, to = backend }\n" in renamed
    assert [(m.from_, m.to) for m in moves(renamed)] == [("api.old", "backend.orders"), ("api", "backend")]


async def test_moved_addresses_in_the_editor(client: LanguageClient, tmp_path: Path) -> None:
    text = APP + "\nmoved { from = api.old, to = api.orders }\n"
    path = tmp_path / "architecture.sct"
    doc = open_file(client, path, text)
    await until(lambda: doc in client.diagnostics)
    assert list(client.diagnostics[doc]) == []
    identifier = lsp.TextDocumentIdentifier(uri=doc)
    # Definition on `to`: the object it moves to.
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=identifier, position=find(text, "api.orders", delta=5))
    )
    assert isinstance(found, list) and found[0].range.start == find(text, "orders {")
    # Hover on the keyword and on each address.
    for needle, expected in (("moved {", "moved"), ("api.old", "old address"), ("orders }", "storage")):
        shown = await client.text_document_hover_async(lsp.HoverParams(text_document=identifier, position=find(text, needle, delta=1)))
        assert shown is not None and isinstance(shown.contents, lsp.MarkupContent)
        assert expected in shown.contents.value, (needle, shown.contents.value)
    # Semantic tokens: `moved` a keyword, `to`'s object a variable, `from`'s names plain names.
    tokens = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=identifier))
    assert tokens is not None
    line = character = 0
    kinds: dict[tuple[int, int], int] = {}
    data = tokens.data
    for i in range(0, len(data), 5):
        line += data[i]
        character = data[i + 1] if data[i] else character + data[i + 1]
        kinds[(line, character)] = data[i + 3]
    keyword, variable = TOKEN_TYPES.index("keyword"), TOKEN_TYPES.index("variable")
    at = find(text, "moved {")
    assert kinds[(at.line, at.character)] == keyword
    at = find(text, "orders }")
    assert kinds[(at.line, at.character)] == variable
    # A diagnostic on the address at fault, with its code.
    broken = text.replace("to = api.orders", "to = api.nothing")
    (tmp_path / "broken").mkdir()
    doc2 = open_file(client, tmp_path / "broken" / "architecture.sct", broken)
    await until(lambda: bool(client.diagnostics.get(doc2)))
    [found_diagnostic] = client.diagnostics[doc2]
    assert found_diagnostic.code == "SCT603" and found_diagnostic.range.start == find(broken, "api.nothing")


async def test_completion_of_moved_and_addresses(client: LanguageClient, tmp_path: Path) -> None:
    text = APP + "\nmoved { from = api.old, to =  }\n"
    doc = open_file(client, tmp_path / "architecture.sct", text)
    identifier = lsp.TextDocumentIdentifier(uri=doc)
    result = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=identifier, position=find(text, "to =  }", delta=5))
    )
    assert result is not None
    labels = {item.label for item in (result.items if isinstance(result, lsp.CompletionList) else result)}
    assert {"api", "api.orders", "api.web"} <= labels
    top = APP + "\nmo"
    (tmp_path / "top").mkdir()
    doc = open_file(client, tmp_path / "top" / "architecture.sct", top)
    result = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri=doc), position=find(top, "\nmo", delta=3))
    )
    assert result is not None
    labels = {item.label for item in (result.items if isinstance(result, lsp.CompletionList) else result)}
    assert "moved" in labels
