"""Hover, completion, formatting, semantic tokens, folding, code actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from scoot_lsp.tokens import TOKEN_TYPES

from scoot_lang.format import format_text
from scoot_lang.functions import FUNCTIONS
from scoot_model.objects import Compute
from tests.lsp.conftest import SHOP, change, find, opened, pos, until

pytestmark = pytest.mark.asyncio


def doc_id(uri: str) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=uri)


async def hover_text(client: LanguageClient, doc: str, position: lsp.Position) -> str:
    result = await client.text_document_hover_async(lsp.HoverParams(text_document=doc_id(doc), position=position))
    assert result is not None and isinstance(result.contents, lsp.MarkupContent)
    return result.contents.value


async def test_hover_key_kind_reference_and_output(client: LanguageClient, tmp_path: Path) -> None:
    doc = await opened(client, tmp_path)
    text = await hover_text(client, doc, find(SHOP, "port "))
    assert Compute.model_fields["port"].description in text and "whole number from 1 to 65535" in text
    text = await hover_text(client, doc, find(SHOP, "compute"))
    assert Compute.kind_description in text and "`url`" in text
    text = await hover_text(client, doc, find(SHOP, "orders.path"))
    assert "api.orders" in text and "storage" in text
    text = await hover_text(client, doc, find(SHOP, "path\n"))
    assert "output" in text and "The file or folder holding the data" in text
    text = await hover_text(client, doc, find(SHOP, "engine"))
    assert "`sqlite`" in text


async def test_hover_function_shows_its_signature_and_doc(client: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / "motd.txt").write_text("hello\n", encoding="utf-8")
    text = SHOP.replace('param greeting', 'let motd = file("motd.txt")\n\nparam greeting').replace(
        "GREETING      = greeting", 'GREETING      = greeting\n      AUTH          = "Bearer ${secret("SHOP_TOKEN")}"\n      MOTD          = motd'
    )
    doc = await opened(client, tmp_path, text)
    assert not client.diagnostics[doc]
    for name, needle in (("secret", 'secret("SHOP'), ("file", 'file("motd')):
        function = FUNCTIONS[name]
        for delta in (0, len(name) - 1):
            result = await client.text_document_hover_async(
                lsp.HoverParams(text_document=doc_id(doc), position=find(text, needle, delta=delta))
            )
            assert result is not None and isinstance(result.contents, lsp.MarkupContent)
            assert function.signature in result.contents.value and function.doc in result.contents.value
            assert result.range == lsp.Range(start=find(text, needle), end=find(text, needle, delta=len(name)))
    # Inside the argument: not the function.
    text_hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=doc_id(doc), position=find(text, '"SHOP_TOKEN', delta=2))
    )
    assert text_hover is None


async def test_hover_shows_recorded_state_from_scoot_lock(client: LanguageClient, tmp_path: Path) -> None:
    from scoot_runtime.state import ObjectState, StateFileModel, TargetState, write_state_file

    state = TargetState(
        lineage="l-1",
        cloud="local",
        objects={"api.orders": ObjectState(kind="storage", config={"engine": "sqlite"}, identity={"file": "orders.db"}, outputs={"path": "/tmp/orders.db"})},
    )
    write_state_file(tmp_path / "scoot.lock", StateFileModel(targets={"local": state}))
    doc = await opened(client, tmp_path)
    text = await hover_text(client, doc, find(SHOP, "orders {"))
    assert "scoot.lock" in text and "orders.db" in text and "/tmp/orders.db" in text
    text = await hover_text(client, doc, find(SHOP, "web {"))
    assert "would create it" in text


async def complete(client: LanguageClient, doc: str, position: lsp.Position) -> list[lsp.CompletionItem]:
    result = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=doc_id(doc), position=position)
    )
    assert result is not None
    return result.items if isinstance(result, lsp.CompletionList) else result


async def test_completion_keys_kinds_values_and_references(client: LanguageClient, tmp_path: Path) -> None:
    text = SHOP.replace("    port    = 8080\n", "    port    = 8080\n    \n")
    doc = await opened(client, tmp_path, text)
    # An empty line inside a compute: its keys not yet set, with types and docs from the model.
    items = await complete(client, doc, find(text, "    \n", delta=4))
    labels = {i.label for i in items}
    assert {"replicas", "health", "shell", "workdir"} <= labels
    assert "port" not in labels and "command" not in labels
    replicas = next(i for i in items if i.label == "replicas")
    assert replicas.detail and "whole number" in replicas.detail
    assert isinstance(replicas.documentation, lsp.MarkupContent)
    assert Compute.model_fields["replicas"].description in replicas.documentation.value
    # At the top level: keywords with snippets.
    items = await complete(client, doc, pos(text.count("\n"), 0))
    assert {"application", "component", "param", "let"} <= {i.label for i in items}
    # Where an object may start, inside a component: the kinds, as snippets.
    at = find(text, "  storage orders")
    items = await complete(client, doc, at)
    kinds = {i.label: i for i in items if i.kind == lsp.CompletionItemKind.Class}
    assert set(kinds) == {"compute", "storage", "connection"}
    assert kinds["storage"].insert_text and "engine" in kinds["storage"].insert_text
    # The enum-like values of `engine`.
    items = await complete(client, doc, find(text, '"sqlite"', delta=1))
    assert {"sqlite", "directory"} <= {i.label for i in items}
    # After a dot: the outputs of a local object; then a component's objects.
    typed = text.replace("GREETING      = greeting", "GREETING      = orders.")
    change(client, doc, 2, typed)
    items = await complete(client, doc, find(typed, "orders.\n", delta=len("orders.")))
    assert {i.label for i in items} == {"path", "url"}
    typed2 = typed.replace("orders.\n", "api.\n")
    change(client, doc, 3, typed2)
    items = await complete(client, doc, find(typed2, "api.\n", delta=len("api.")))
    assert {i.label for i in items} == {"web", "orders", "web_orders"}
    # A value position: references (objects, components, params) and functions.
    typed3 = typed2.replace("api.\n", "\n")
    change(client, doc, 4, typed3)
    items = await complete(client, doc, find(typed3, "GREETING      = ", delta=len("GREETING      = ")))
    labels = {i.label for i in items}
    assert {"orders", "web", "api", "greeting", "secret", "file"} <= labels
    for function in FUNCTIONS.values():
        item = next(i for i in items if i.label == function.name)
        assert item.insert_text == function.snippet and item.detail == function.signature
        assert isinstance(item.documentation, lsp.MarkupContent) and function.doc in item.documentation.value


async def test_formatting_is_scoot_fmt(client: LanguageClient, tmp_path: Path) -> None:
    messy = SHOP.replace("port    = 8080", "port=8080").replace("  storage orders {", "    storage   orders {")
    doc = await opened(client, tmp_path, messy)
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=doc_id(doc), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    assert edits is not None and len(edits) == 1
    expected, _ = format_text(messy)
    assert edits[0].new_text == expected
    # A file that does not parse is left alone.
    change(client, doc, 2, messy.replace("port=8080", "port="))
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=doc_id(doc), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    assert not edits


async def test_semantic_tokens_and_folding(client: LanguageClient, tmp_path: Path) -> None:
    text = "// héllo 🚀\n" + SHOP.replace('command = ["python3", "server.py"]', 'command = ["python3", "${greeting}"]')
    doc = await opened(client, tmp_path, text)
    result = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=doc_id(doc)))
    assert result is not None
    legend = TOKEN_TYPES
    data = result.data
    tokens = []
    line = char = 0
    for i in range(0, len(data), 5):
        line += data[i]
        char = data[i + 1] if data[i] else char + data[i + 1]
        tokens.append((line, char, data[i + 2], legend[data[i + 3]]))
    assert tokens[0] == (0, 0, len("// héllo 🚀".encode("utf-16-le")) // 2, "comment")
    lines = text.split("\n")

    def at(line: int, char: int, length: int) -> str:
        return lines[line][char : char + length]

    kinds = {(at(ln, c, n), k) for ln, c, n, k in tokens}
    assert {("application", "keyword"), ("compute", "type"), ("port", "property"), ("8080", "number")} <= kinds
    assert {("orders", "variable"), ("path", "property"), ("greeting", "variable"), ("api", "namespace")} <= kinds
    assert ('"python3"', "string") in kinds
    folds = await client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=doc_id(doc)))
    assert folds is not None
    starts = {f.start_line for f in folds}
    assert find(text, "component api").line in starts and find(text, "compute web").line in starts
    assert find(text, "env = {").line in starts


async def test_code_actions_fix_obvious_mistakes(client: LanguageClient, tmp_path: Path) -> None:
    text = (
        SHOP.replace("port    = 8080", "prot    = 8080\n    replicas = 1\n    replicas = 2")
        .replace('engine = "sqlite"', "")
        .replace("DATABASE_PATH = orders.path", "DATABASE_PATH = ordrs.path")
    )
    doc = await opened(client, tmp_path, text)
    codes = {d.code for d in client.diagnostics[doc]}
    assert {"SCT202", "SCT103", "SCT203", "SCT301"} <= codes
    whole = lsp.Range(start=pos(0, 0), end=pos(text.count("\n"), 0))
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(text_document=doc_id(doc), range=whole, context=lsp.CodeActionContext(diagnostics=[]))
    )
    assert actions is not None
    titles = {a.title for a in actions if isinstance(a, lsp.CodeAction)}
    assert "Change `prot` to `port`" in titles
    assert "Change `ordrs` to `orders`" in titles
    assert "Add `engine`" in titles
    assert "Remove the duplicate `replicas`" in titles
    # Applying them all gives a clean file.
    edits = []
    for action in actions:
        assert isinstance(action, lsp.CodeAction) and action.edit and action.edit.changes
        edits += action.edit.changes[doc]
    from tests.lsp.test_fuzz import apply_edits

    fixed = apply_edits(text, edits).replace('engine = ""', 'engine = "sqlite"')
    change(client, doc, 2, fixed)
    await until(lambda: not client.diagnostics.get(doc, [1]))
