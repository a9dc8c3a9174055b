"""Modules, `for` and `if` in the editor (issue 16): completion of a module's params and
outputs and of loop variables, hover, definition into a module, rename across module
boundaries (with `moved` blocks for what scoot.lock records), and semantic tokens."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from scoot_lsp.tokens import TOKEN_TYPES

from scoot_lang.compiler import compile_path
from scoot_model.objects import Moved
from tests.lsp.conftest import change, find, open_file, until, uri
from tests.lsp.test_moved import applied, record

pytestmark = pytest.mark.asyncio

APP = """\
application shop {
  owner = "acme"
}

param debug: bool = false
let regions = ["eu", "us"]

component api {
  module web { source = "./modules/web", port = 8080 }
  module admin {
    source = "./modules/web"
  }

  storage cache for region in regions {
    engine = "directory"
  }

  compute debugger if debug {
    command = ["./debug"]
  }

  compute client {
    command = ["./client", web.url, admin.url]
    env     = { CACHE = cache-eu.path }
    port    = debug ? 9000 : 8000 + 1
  }
}
"""

MODULE = """\
# The port it listens on.
param port: number = 80

compute server {
  command = ["python3", "-m", "http.server", "${port}"]
  port    = port
}

# Where it answers.
output url = server.url
"""


def write(tmp_path: Path) -> tuple[Path, Path]:
    module = tmp_path / "modules" / "web" / "main.sct"
    module.parent.mkdir(parents=True)
    module.write_text(MODULE, encoding="utf-8")
    app = tmp_path / "architecture.sct"
    app.write_text(APP, encoding="utf-8")
    assert compile_path(tmp_path).diagnostics == []
    return app, module


async def opened(client: LanguageClient, tmp_path: Path) -> tuple[Path, Path, str]:
    app, module = write(tmp_path)
    doc = open_file(client, app)
    await until(lambda: doc in client.diagnostics)
    assert not client.diagnostics[doc]
    return app, module, doc


async def hover_text(client: LanguageClient, doc: str, position: lsp.Position) -> str:
    found = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=doc), position=position)
    )
    assert found is not None and isinstance(found.contents, lsp.MarkupContent)
    return found.contents.value


async def definition(client: LanguageClient, doc: str, position: lsp.Position) -> list[lsp.Location]:
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=lsp.TextDocumentIdentifier(uri=doc), position=position)
    )
    assert isinstance(found, list)
    return [item for item in found if isinstance(item, lsp.Location)]


async def test_hover_and_definition_into_a_module(client: LanguageClient, tmp_path: Path) -> None:
    _, module, doc = await opened(client, tmp_path)
    use = await hover_text(client, doc, find(APP, "web {"))
    assert "Source: `./modules/web`" in use
    assert "- `port`: number = `80`" in use
    assert "- `web.url` = `server.url`" in use
    assert "Makes: `api.web-server`" in use

    param = await hover_text(client, doc, find(APP, "port = 8080"))
    assert "param of the module `./modules/web`: number = `80`" in param
    assert "The port it listens on." in param
    output = await hover_text(client, doc, find(APP, "web.url", delta=5))
    assert "`url = server.url`" in output and "main.sct" in output and "Where it answers." in output

    variable = await hover_text(client, doc, find(APP, "region in"))
    assert "loop variable of `cache`: each element of `regions`" in variable
    made = await hover_text(client, doc, find(APP, "cache for"))
    assert "`cache-eu`, `cache-us`" in made
    absent = await hover_text(client, doc, find(APP, "debugger if"))
    assert "it does not hold" in absent
    assert "a use of a module" in await hover_text(client, doc, find(APP, "module web"))
    assert "where the module is" in await hover_text(client, doc, find(APP, "source = "))

    [to_param] = await definition(client, doc, find(APP, "port = 8080"))
    assert to_param.uri == uri(module) and to_param.range.start == find(MODULE, "port: number")
    [to_output] = await definition(client, doc, find(APP, "admin.url", delta=7))
    assert to_output.uri == uri(module) and to_output.range.start == find(MODULE, "url = server")
    [to_source] = await definition(client, doc, find(APP, "./modules/web"))
    assert to_source.uri == uri(module) and to_source.range.start == lsp.Position(line=0, character=0)


async def complete(client: LanguageClient, doc: str, position: lsp.Position) -> dict[str, lsp.CompletionItem]:
    found = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri=doc), position=position)
    )
    assert isinstance(found, lsp.CompletionList)
    return {item.label: item for item in found.items}


async def test_completion_of_params_outputs_keywords_and_loop_variables(client: LanguageClient, tmp_path: Path) -> None:
    _, _, doc = await opened(client, tmp_path)
    # A new line in `module admin { ... }`: its module's params, not `source` (given).
    blank = APP.replace('source = "./modules/web"\n  }', 'source = "./modules/web"\n    \n  }')
    change(client, doc, 2, blank)
    items = await complete(client, doc, find(blank, '"./modules/web"\n    \n', delta=20))
    assert "source" not in items and set(items) >= {"port"}
    assert items["port"].detail == "number param = 80"
    documentation = items["port"].documentation
    assert isinstance(documentation, lsp.MarkupContent) and "The port it listens on." in documentation.value

    # After `web.`: the module's outputs.
    dotted = APP.replace("web.url, admin.url", "web., admin.url")
    change(client, doc, 3, dotted)
    items = await complete(client, doc, find(dotted, "web., admin", delta=4))
    assert set(items) == {"url"} and "server.url" in (items["url"].detail or "")

    # In `source = "./`: the folders there, a module's first.
    (tmp_path / "modules" / "notes").mkdir()
    typed = APP.replace('source = "./modules/web"\n  }', 'source = "./modules/w"\n  }')
    change(client, doc, 4, typed)
    folders = await complete(client, doc, find(typed, '"./modules/w"', delta=12))
    assert set(folders) == {"web", "notes"} and folders["web"].detail == "a module (holds .sct files)"
    top = await complete(client, doc, find(typed, '"./modules/w"', delta=3))
    assert set(top) == {"modules"}

    change(client, doc, 5, APP)
    # In a module's file, an object at the top level: the keys of its kind.
    module_doc = open_file(client, tmp_path / "modules" / "web" / "main.sct")
    keys = await complete(client, module_doc, find(MODULE, "  port    = port"))
    assert "replicas" in keys and "command" not in keys
    after_name = await complete(client, doc, find(APP, "for region"))
    assert {"for", "if"} <= set(after_name)
    after_variable = await complete(client, doc, find(APP, "in regions"))
    assert set(after_variable) == {"in"}
    values = await complete(client, doc, find(APP, '"directory"'))
    assert "region" in values and values["region"].detail == "loop variable of `cache`"
    assert "join" in values and values["join"].insert_text_format == lsp.InsertTextFormat.Snippet
    assert "web" in values and "port" not in values  # a module's params are its own


async def rename(client: LanguageClient, doc: str, text: str, at: str, new_name: str, delta: int = 0) -> dict[str, list[lsp.TextEdit]]:
    position = find(text, at, delta=delta)
    ident = lsp.TextDocumentIdentifier(uri=doc)
    prepared = await client.text_document_prepare_rename_async(lsp.PrepareRenameParams(text_document=ident, position=position))
    assert prepared is not None
    edit = await client.text_document_rename_async(lsp.RenameParams(text_document=ident, position=position, new_name=new_name))
    assert edit is not None and edit.changes is not None
    return edit.changes


async def test_rename_across_module_boundaries(client: LanguageClient, tmp_path: Path) -> None:
    record(tmp_path, "api.web-server", "api.cache-eu")
    app, module, doc = await opened(client, tmp_path)
    module_doc = open_file(client, module)

    # A param, at its declaration in the module's file: there, and where a use gives it.
    changes = await rename(client, module_doc, MODULE, "port: number", "listen")
    assert set(changes) == {doc, module_doc}
    assert len(changes[module_doc]) == 3  # the declaration, `${port}`, `= port` (once, though used twice)
    at_use = await rename(client, doc, APP, "port = 8080", "listen")
    assert {k: sorted(str(e.range) for e in v) for k, v in at_use.items()} == {
        k: sorted(str(e.range) for e in v) for k, v in changes.items()
    }
    # The application that uses the module says what is wrong in its file (not the module's
    # folder compiled alone: no application there, SCT101), pulled or pushed.
    pulled = await client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=module_doc))
    )
    assert isinstance(pulled, lsp.RelatedFullDocumentDiagnosticReport) and not pulled.items

    # An output, at a use: its declaration and every `USE.url`.
    outputs = await rename(client, doc, APP, "admin.url", "address", delta=7)
    assert len(outputs[module_doc]) == 1 and len(outputs[doc]) == 2

    # A module's use: its references, and a move of what it made that scoot.lock records.
    use = await rename(client, doc, APP, "web {", "site")
    renamed = applied(APP, use[doc])
    assert "module site {" in renamed and "site.url, admin.url" in renamed
    assert renamed.endswith("}\n\nmoved { from = api.web-server, to = api.site-server }\n")

    # A block with a `for`, at its header: every instance's name, and a move of each recorded one.
    repeated = await rename(client, doc, APP, "cache for", "store")
    renamed = applied(APP, repeated[doc])
    assert "storage store for region" in renamed and "CACHE = store-eu.path" in renamed
    assert renamed.endswith("}\n\nmoved { from = api.cache-eu, to = api.store-eu }\n")

    module.write_text(applied(MODULE, changes[module_doc]), encoding="utf-8")
    app.write_text(applied(applied(APP, changes[doc]), repeated[doc]), encoding="utf-8")
    compiled = compile_path(tmp_path)
    assert compiled.diagnostics == [], compiled.diagnostics
    assert compiled.architecture is not None
    assert compiled.architecture.moved == [Moved.model_validate({"from": "api.cache-eu", "to": "api.store-eu"})]
    assert "listen" in module.read_text(encoding="utf-8") and "listen = 8080" in app.read_text(encoding="utf-8")


async def test_rename_refusals(client: LanguageClient, tmp_path: Path) -> None:
    _, module, doc = await opened(client, tmp_path)
    module_doc = open_file(client, module)
    ident = lsp.TextDocumentIdentifier(uri=module_doc)
    with pytest.raises(Exception, match="`source` says where a module is"):
        await client.text_document_rename_async(
            lsp.RenameParams(text_document=ident, position=find(MODULE, "port: number"), new_name="source")
        )
    with pytest.raises(Exception, match="rename it to `NAME-eu`"):
        await client.text_document_rename_async(
            lsp.RenameParams(
                text_document=lsp.TextDocumentIdentifier(uri=doc), position=find(APP, "cache-eu.path"), new_name="store"
            )
        )


def decoded(text: str, data: list[int]) -> set[tuple[str, str]]:
    lines, kinds = text.split("\n"), set()
    line = char = 0
    for i in range(0, len(data), 5):
        line += data[i]
        char = data[i + 1] if data[i] else char + data[i + 1]
        kinds.add((lines[line][char : char + data[i + 2]], TOKEN_TYPES[data[i + 3]]))
    return kinds


async def test_semantic_tokens_of_modules_and_operators(client: LanguageClient, tmp_path: Path) -> None:
    _, module, doc = await opened(client, tmp_path)
    result = await client.text_document_semantic_tokens_full_async(
        lsp.SemanticTokensParams(text_document=lsp.TextDocumentIdentifier(uri=doc))
    )
    assert result is not None
    kinds = decoded(APP, result.data)
    assert {("module", "keyword"), ("web", "namespace"), ("port", "property"), ("source", "property")} <= kinds
    assert {("for", "keyword"), ("in", "keyword"), ("if", "keyword"), ("region", "variable")} <= kinds
    assert {("?", "operator"), (":", "operator"), ("+", "operator")} <= kinds
    assert ("url", "property") in kinds

    module_doc = open_file(client, module)
    result = await client.text_document_semantic_tokens_full_async(
        lsp.SemanticTokensParams(text_document=lsp.TextDocumentIdentifier(uri=module_doc))
    )
    assert result is not None
    kinds = decoded(MODULE, result.data)
    assert {("output", "keyword"), ("param", "keyword"), ("compute", "type"), ("server", "variable")} <= kinds
    # Its folder was compiled for the tokens, alone; its diagnostics (no application) are not published.
    assert not client.diagnostics.get(module_doc)


async def test_rename_of_a_module_used_at_the_top_level_moves_its_components(
    client: LanguageClient, tmp_path: Path
) -> None:
    sample = Path(__file__).parent.parent / "baselines" / "module_outputs"
    shutil.copytree(sample / "modules", tmp_path / "modules")
    text = (sample / "main.sct").read_text(encoding="utf-8")
    app = tmp_path / "main.sct"
    app.write_text(text, encoding="utf-8")
    record(tmp_path, "db-data.files")
    doc = open_file(client, app)
    await until(lambda: doc in client.diagnostics)
    changes = await rename(client, doc, text, "db {", "store")
    renamed = applied(text, changes[doc])
    assert "module store {" in renamed and renamed.count("store.path") == 2
    # Its component moves, and its objects with it: one `moved` block.
    assert renamed.endswith("}\n\nmoved { from = db-data, to = store-data }\n")
    app.write_text(renamed, encoding="utf-8")
    compiled = compile_path(tmp_path)
    assert compiled.diagnostics == [], compiled.diagnostics
    assert compiled.architecture is not None
    assert compiled.architecture.moved == [Moved.model_validate({"from": "db-data", "to": "store-data"})]
