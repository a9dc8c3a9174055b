"""A module's unsaved text in the editor: the application that uses it compiles with the
open buffer (diagnostics, hover, completion, definition, references), is checked again
when the module's document changes, and reads the disk again when it is closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import change, find, open_file, until
from tests.lsp.test_module_editing import APP, MODULE, complete, definition, hover_text, opened

pytestmark = pytest.mark.asyncio

# The module without its output `url`: `web.url` and `admin.url` in the application break.
BROKEN = MODULE.replace("output url = server.url", "output address = server.url")
# Two lines more at the top, and a second output: every position in the module moves.
GROWN = "# Serves files.\n\n" + MODULE + "\n# Where it answers, again.\noutput address = server.url\n"


def cleared(client: LanguageClient, doc: str) -> bool:
    """The last diagnostics published for the document say nothing is wrong."""
    return doc in client.diagnostics and not client.diagnostics[doc]


async def references(client: LanguageClient, doc: str, position: lsp.Position) -> list[lsp.Location]:
    found = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(uri=doc),
            position=position,
            context=lsp.ReferenceContext(include_declaration=True),
        )
    )
    assert found is not None
    return found


async def test_the_application_sees_a_modules_unsaved_text(client: LanguageClient, tmp_path: Path) -> None:
    app, module, doc = await opened(client, tmp_path)
    module_doc = open_file(client, module)

    # Unsaved: the application's diagnostics are published again, from the buffer.
    change(client, module_doc, 2, BROKEN)
    await until(lambda: bool(client.diagnostics.get(doc)))
    messages = [d.message for d in client.diagnostics[doc]]
    assert any("url" in m for m in messages), messages
    assert module.read_text(encoding="utf-8") == MODULE  # nothing was saved

    change(client, module_doc, 3, GROWN)
    await until(lambda: cleared(client, doc))
    use = await hover_text(client, doc, find(APP, "web {"))
    assert "- `web.address` = `server.url`" in use and "- `web.url` = `server.url`" in use
    items = await complete(client, doc, find(APP, "web.url", delta=4))
    assert set(items) == {"url", "address"}

    # Definition and references from a use land where the buffer has the names now.
    [to_param] = await definition(client, doc, find(APP, "port = 8080"))
    assert to_param.uri == module_doc and to_param.range.start == find(GROWN, "port: number")
    [to_output] = await definition(client, doc, find(APP, "admin.url", delta=7))
    assert to_output.uri == module_doc and to_output.range.start == find(GROWN, "url = server")
    found = await references(client, doc, find(APP, "admin.url", delta=7))
    in_module = [r.range.start for r in found if r.uri == module_doc]
    assert in_module == [find(GROWN, "url = server")]
    assert len([r for r in found if r.uri == doc]) == 2  # `web.url`, `admin.url`
    # In the module's own document, answered from the application's model of the buffer.
    [to_object] = await definition(client, module_doc, find(GROWN, "server.url", occurrence=1))
    assert to_object.uri == module_doc and to_object.range.start == find(GROWN, "server {")
    assert "`./modules/web`" in await hover_text(client, module_doc, find(GROWN, "port: number"))

    # Broken again, then closed without saving: the file on disk is read again.
    change(client, module_doc, 4, BROKEN)
    await until(lambda: bool(client.diagnostics.get(doc)))
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=module_doc)))
    await until(lambda: cleared(client, doc))
    assert "web.address" not in await hover_text(client, doc, find(APP, "web {"))
    assert app.read_text(encoding="utf-8") == APP


async def test_a_mistake_in_a_modules_buffer_is_reported_in_it(client: LanguageClient, tmp_path: Path) -> None:
    _, module, doc = await opened(client, tmp_path)
    module_doc = open_file(client, module)
    wrong = MODULE.replace("port    = port", "port    = \"eighty\"")
    change(client, module_doc, 2, wrong)
    # The application's compile says it, in the module's file, at the buffer's position.
    await until(lambda: bool(client.diagnostics.get(module_doc)))
    problems = client.diagnostics[module_doc]
    assert len(problems) == 2  # one for each use, `web` and `admin`
    assert all(p.range.start == find(wrong, '"eighty"') for p in problems)
    change(client, module_doc, 3, MODULE)
    await until(lambda: cleared(client, module_doc))
    assert cleared(client, doc)


async def test_a_new_unsaved_file_joins_its_module(client: LanguageClient, tmp_path: Path) -> None:
    _, module, doc = await opened(client, tmp_path)
    extra = module.parent / "extra.sct"
    open_file(client, extra, "output listening = port\n")
    assert "- `web.listening` = `port`" in await hover_text(client, doc, find(APP, "web {"))
    assert not extra.exists()
    items = await complete(client, doc, find(APP, "web.url", delta=4))
    assert set(items) == {"url", "listening"}
