"""The language server on `for`, `if` and operators: no false diagnostics, semantic tokens
for the clause, hover of a new function, and a reference to an instance leads to the
block that made it."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from scoot_lsp.tokens import TOKEN_TYPES

from scoot_lang.functions import FUNCTIONS
from tests.lsp.conftest import find, open_file, until

pytestmark = pytest.mark.asyncio

TEXT = """\
application shop {
  owner = "acme"
}

param debug: bool = false
let regions = ["eu", "us"]

component api {
  storage cache for region in regions {
    engine = "directory"
  }

  compute debugger if debug {
    command = ["./debug"]
  }

  compute web {
    command = ["./web", join(",", regions)]
    port    = 8000 + 80
    env     = { CACHE = cache-eu.path }
  }
}
"""


async def test_for_if_and_operators_in_the_editor(client: LanguageClient, tmp_path: Path) -> None:
    doc = open_file(client, tmp_path / "architecture.sct", TEXT)
    await until(lambda: doc in client.diagnostics)
    assert not client.diagnostics[doc]
    ident = lsp.TextDocumentIdentifier(uri=doc)

    result = await client.text_document_semantic_tokens_full_async(
        lsp.SemanticTokensParams(text_document=ident)
    )
    assert result is not None
    lines, data, kinds = TEXT.split("\n"), result.data, set()
    line = char = 0
    for i in range(0, len(data), 5):
        line += data[i]
        char = data[i + 1] if data[i] else char + data[i + 1]
        kinds.add((lines[line][char : char + data[i + 2]], TOKEN_TYPES[data[i + 3]]))
    assert {
        ("for", "keyword"),
        ("if", "keyword"),
        ("region", "variable"),
        ("regions", "variable"),
    } <= kinds
    assert {("8000", "number"), ("80", "number"), ("join", "function")} <= kinds

    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=ident, position=find(TEXT, "join("))
    )
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert FUNCTIONS["join"].signature in hover.contents.value

    found = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=ident, position=find(TEXT, "cache-eu.path", delta=2))
    )
    assert isinstance(found, list) and len(found) == 1
    assert found[0].range.start == find(TEXT, "cache for")
