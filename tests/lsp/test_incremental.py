"""The language server's compiles reuse the parse of each unchanged file: after any
sequence of edits, what it reports is exactly what a compile from scratch reports."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from scoot_lsp.documents import Documents

from scoot_lang.compiler import compile_sources
from tests.lsp.conftest import SHOP

STORAGE = 'component data {\n  source = "./data"\n  storage cache { engine = "directory" }\n}\n'
PIECES = ["}", "{", "=", "port", "orders", "greeting", '"', "\n", " 1", "let x = 2\n", "compute w {", "api.orders.path"]


def whole(text: str) -> lsp.TextDocumentContentChangeWholeDocument:
    return lsp.TextDocumentContentChangeWholeDocument(text=text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(["shop", "data"]), st.integers(0, 10_000), st.integers(0, 3), st.sampled_from(PIECES)),
        min_size=1,
        max_size=6,
    )
)
def test_compiles_with_reused_parses_equal_compiles_from_scratch(tmp_path: Path, edits: list[tuple[str, int, int, str]]) -> None:
    documents = Documents()
    texts = {"shop": SHOP, "data": STORAGE}
    uris = {name: (tmp_path / f"{name}.sct").as_uri() for name in texts}
    for name, text in texts.items():
        documents.open(uris[name], text, 1)
    unit = documents.unit_of(uris["shop"])
    for version, (name, at, removed, piece) in enumerate(edits, start=2):
        text = texts[name]
        at %= len(text) + 1
        texts[name] = text[:at] + piece + text[at + removed :]
        documents.change(uris[name], [whole(texts[name])], version)
        snapshot = asyncio.run(documents.compile(unit))
        fresh = compile_sources(snapshot.texts)
        assert snapshot.compilation.diagnostics == fresh.diagnostics
        got, want = snapshot.compilation.architecture, fresh.architecture
        assert (got.to_json() if got else None) == (want.to_json() if want else None)
    assert set(unit.parsed) == set(snapshot.texts)  # one parse kept per file
