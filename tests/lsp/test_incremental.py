"""What the language server computes from part of the text equals what the whole gives:
its compiles reuse the parse of each unchanged file, and completion parses only the
cursor's top-level item of the current text."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from scoot_lsp import documents as documents_module
from scoot_lsp import model
from scoot_lsp.documents import Documents
from scoot_lsp.positions import LineIndex

from scoot_lang import syntax as s
from scoot_lang.compiler import Compilation, compile_sources
from scoot_lang.diagnostics import Diagnostic
from scoot_lang.parser import parse, parse_edit
from scoot_lang.reuse import Checks
from scoot_lang.source import Span
from tests.lsp.conftest import SHOP, change, find, opened

STORAGE = 'component data {\n  source = "./data"\n  storage cache { engine = "directory" }\n}\n'
PIECES = [
    "}",
    "{",
    "=",
    "port",
    "orders",
    "greeting",
    '"',
    "\n",
    " 1",
    "let x = 2\n",
    "compute w {",
    "api.orders.path",
]


def whole(text: str) -> lsp.TextDocumentContentChangeWholeDocument:
    return lsp.TextDocumentContentChangeWholeDocument(text=text)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["shop", "data"]),
            st.integers(0, 10_000),
            st.integers(0, 3),
            st.sampled_from(PIECES),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_compiles_with_reused_parses_equal_compiles_from_scratch(
    tmp_path: Path, edits: list[tuple[str, int, int, str]]
) -> None:
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
        assert snapshot.compilation.semantic == fresh.semantic
        assert snapshot.compilation.source_map == fresh.source_map
    assert set(unit.parsed) == set(snapshot.texts)  # one parse kept per file


def _described(where: model.Place) -> tuple[object, ...]:
    """A place by what it names (its nodes' offsets differ: a part is parsed alone)."""
    item = where.item
    return (
        type(item).__name__ if item is not None else None,
        getattr(getattr(item, "name", None), "text", None),
        where.object.name.text if where.object else None,
        where.attribute.key.text if where.attribute else None,
        where.map_keys,
        type(where.attribute.value).__name__ if where.attribute else None,
    )


LINES = SHOP.splitlines(keepends=True)
LINE_PIECES = [
    "",
    "\n",
    "    \n",
    "    replicas = 2\n",
    "  storage s {\n  }\n",
    "let z = 1\n",
    "      K = 1\n",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    line=st.integers(0, len(LINES)),
    removed=st.integers(0, 2),
    piece=st.sampled_from(LINE_PIECES),
    cursor=st.integers(0, 10_000),
)
def test_the_current_place_is_where_a_parse_of_the_whole_current_text_puts_the_cursor(
    line: int, removed: int, piece: str, cursor: int
) -> None:
    old_tree, _ = parse(SHOP, "architecture.sct")
    new = "".join([*LINES[:line], piece, *LINES[line + removed :]])
    new_tree, errors = parse(new, "architecture.sct")
    assume(not errors)  # with errors, recovery of a part may differ from that of the whole
    offset = cursor % (len(new) + 1)
    assert _described(model.current_place(old_tree, SHOP, new, offset)) == _described(
        model.place(new_tree, offset)
    )


EDGE_PIECES = [
    *PIECES,
    "//",
    "/*",
    "*/",
    '"""',
    "x",
    " ",
    '["k"]',
    " + 1",
    ".b",
    "${",
    "let y = api\n",
    "storage s {}",
    "component c {}\n",
]


@settings(max_examples=300, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 12), st.sampled_from(EDGE_PIECES)),
        min_size=1,
        max_size=8,
    )
)
def test_a_parse_of_an_edit_reusing_untouched_items_equals_a_parse_of_the_whole(
    edits: list[tuple[int, int, str]]
) -> None:
    text = SHOP + "let tail = greeting\n" + STORAGE
    tree, errors = parse(text, "architecture.sct")
    for at, removed, piece in edits:
        at %= len(text) + 1
        new = text[:at] + piece + text[at + removed :]
        whole_tree, whole_errors = parse(new, "architecture.sct")
        if not errors:
            edited, edited_errors = parse_edit(text, tree, new)
            assert (edited, edited_errors) == (whole_tree, whole_errors)
        text, tree, errors = new, whole_tree, whole_errors


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("let a = b\n", "let a = bx y {}\n"),  # a name going on into the new item
        ("let a = b\n", "let a = b// c\n"),
        ("let a = {}\ncomponent c {}\n", "let a = {}\n[1]\ncomponent c {}\n"),
        ("let a = 1\nlet b = 2\n", "let a = 1\nparam c: number = 3 //x\nlet b = 2\n"),
        ("let a = 1\nlet b = 2\n", "let a = 1\nparam c: number = 3 //x let b = 2\n"),  # a comment to the line's end
        ("let a = 1\nlet b = 2\n", "let a = 1\nparam c: map = {}let b = 2\n"),
        ("let a = 1\nlet b = 2\n", "let a = 1\nparam c: string = dlet b = 2\n"),
        ("let a = 1\nlet b = 2\n", "let a = 1\n/*\nlet b = 2\n"),
        ("let a = 1\n\nlet b = 2\n", "let a = 1\n\"\"\"\nlet b = 2\n"),
    ],
)
def test_a_parse_of_an_edit_at_an_items_end_equals_a_parse_of_the_whole(old: str, new: str) -> None:
    tree, errors = parse(old, "architecture.sct")
    assert not errors
    assert parse_edit(old, tree, new) == parse(new, "architecture.sct")


MANY = (
    SHOP
    + 'let tail = greeting\n\ncomponent worker {\n  source = "./worker"\n  compute job {\n'
    + '    command = ["python3", "job.py"]\n    env = { ORDERS = api.orders.path, T = "${tail}!" }\n  }\n}\n\n'
    + 'component audit {\n  source = "./audit"\n  storage log { engine = "sqlite" }\n}\n'
)
CHECK_PIECES = [
    "1",
    "9",
    "x",
    "\n",
    " ",
    "}",
    "orders",
    "log",
    "api.orders.path",
    "worker.job",
    "let z = 1\n",
    "let tail = 2\n",
    "storage s {}\n",
    "component c {}\n",
    "component audit {}\n",
    'param greeting: string = "hi"\n',
    '  port = "80"\n',
    "  replicas = 0\n",
    'component r for x in ["a", "b"] {}\n',  # a unit with `for`: checked whole, then again one by one
    "  storage t if true {}\n",
]


# Where edits go besides anywhere: the values and names that other components read.
ANCHORS = ["hello", "8080", "orders {", "tail =", "log {", "sqlite", "greeting\n", "web {", "job {"]


@settings(max_examples=120, deadline=None)
@given(
    edits=st.lists(
        st.tuples(
            st.one_of(st.integers(0, 10_000), st.sampled_from(ANCHORS)),
            st.integers(0, 3),
            st.sampled_from(CHECK_PIECES),
        ),
        min_size=1,
        max_size=8,
    ),
    reads=st.lists(st.integers(0, 2), min_size=1, max_size=4),
)
def test_compiles_replaying_the_checks_of_untouched_components_equal_compiles_from_scratch(
    edits: list[tuple[int | str, int, str]], reads: list[int]
) -> None:
    texts = [MANY]
    for where, removed, piece in edits:
        text = texts[-1]
        at = max(text.find(where), 0) if isinstance(where, str) else where % (len(text) + 1)
        texts.append(text[:at] + piece + text[at + removed :])
    _each_compile_equals_one_from_scratch(texts, reads)


def _each_compile_equals_one_from_scratch(texts: list[str], reads: list[int] | None = None) -> None:
    """Compile the texts one after the other keeping parses and checks, as the server
    does; each compile gives what a compile from scratch gives. What an edit moved is
    made when first read (`scoot_lang.shifts`): `reads` says, per text, when its
    compile is read: 0 at once, 1 after all the compiles and the source map first,
    2 never (what the next compiles moved again was never made)."""
    path = "/unit/architecture.sct"
    parsed: dict[str, tuple[str, s.File, list[Diagnostic]]] = {}
    checks = Checks()
    later: list[tuple[str, Compilation]] = []
    for number, text in enumerate(texts):
        got = compile_sources({path: text}, parsed=parsed, checks=checks)
        want = compile_sources({path: text})
        assert got.diagnostics == want.diagnostics
        assert (got.architecture.to_json() if got.architecture else None) == (
            want.architecture.to_json() if want.architecture else None
        )
        read = reads[number % len(reads)] if reads else 0
        if read == 1:
            later.append((text, got))
        elif read == 0:
            assert got.files == want.files
            assert got.semantic == want.semantic
            assert got.source_map == want.source_map
    for text, got in later:
        want = compile_sources({path: text})
        assert got.source_map == want.source_map
        assert got.files == want.files
        assert list(got.semantic.symbols.items()) == list(want.semantic.symbols.items())  # in the same order
        assert got.semantic == want.semantic


LINE_PIECES_CHECKED = [
    "\n",
    "    \n",
    "// a note\n",
    "let z = 1\n",
    "  replicas = 2\n",
    "  storage s {}\n",
    "component c {}\n",
    'component r for x in ["a", "b"] {}\n',  # the unit is then checked whole, and one by one again after
    "  storage t if true {}\n",
]


@settings(max_examples=120, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 2), st.sampled_from(["", *LINE_PIECES_CHECKED])),
        min_size=1,
        max_size=10,
    ),
    reads=st.lists(st.integers(0, 2), min_size=1, max_size=4),
)
def test_compiles_after_lines_added_and_removed_equal_compiles_from_scratch(
    edits: list[tuple[int, int, str]], reads: list[int]
) -> None:
    """Whole lines in and out, as a user types: what follows moves (its kept parses,
    bindings and checks are moved when first read), and moves back."""
    texts = [MANY]
    for line, removed, piece in edits:
        lines = texts[-1].splitlines(keepends=True)
        at = line % (len(lines) + 1)
        texts.append("".join([*lines[:at], piece, *lines[at + removed :]]))
    _each_compile_equals_one_from_scratch(texts, reads)


def test_a_line_added_above_components_moves_them_when_first_read() -> None:
    path = "/unit/architecture.sct"
    parsed: dict[str, tuple[str, s.File, list[Diagnostic]]] = {}
    checks = Checks()
    first = compile_sources({path: MANY}, parsed=parsed, checks=checks)
    before = dict(checks.components)
    audit = next(i for i in first.files[0].items if isinstance(i, s.ComponentBlock) and i.name.text == "audit")
    added = MANY.replace("component worker", "\n\ncomponent worker", 1)
    got = compile_sources({path: added}, parsed=parsed, checks=checks)
    assert checks.components["audit"] is before["audit"]  # replayed as it was: not copied
    moved = next(i for i in got.files[0].items if isinstance(i, s.ComponentBlock) and i.name.text == "audit")
    assert (moved.start, moved.name.start) == (audit.start + 2, audit.name.start + 2)
    assert moved.shifted is not None  # its members are not copied yet
    assert "_later" in vars(got.semantic) and "_later" in vars(got.source_map)
    fresh = compile_sources({path: added})
    assert got.semantic == fresh.semantic  # made when read
    assert all(type(ref.span) is Span for ref in got.semantic.references)
    assert moved.shifted is not None  # the semantic model reads no member
    assert got.source_map == fresh.source_map and moved.shifted is None
    assert got.files == fresh.files
    longer = compile_sources({path: added.replace("./worker", "./workers", 1)}, parsed=parsed, checks=checks)
    back = compile_sources({path: added}, parsed=parsed, checks=checks)  # `longer` not read: moved back, not copied
    assert any(item is moved for item in back.files[0].items)
    assert longer.source_map == compile_sources({path: added.replace("./worker", "./workers", 1)}).source_map  # read late


def test_a_change_to_one_component_replays_the_check_of_the_others() -> None:
    path = "/unit/architecture.sct"
    parsed: dict[str, tuple[str, s.File, list[Diagnostic]]] = {}
    checks = Checks()
    compile_sources({path: MANY}, parsed=parsed, checks=checks)
    before = dict(checks.components)
    compile_sources({path: MANY.replace("8080", "8081")}, parsed=parsed, checks=checks)
    assert checks.components["api"] is not before["api"]  # checked again
    assert checks.components["worker"] is before["worker"]  # replayed
    assert checks.components["audit"] is before["audit"]
    compile_sources({path: MANY.replace("8080", "8081").replace('"hello"', '"hi"')}, parsed=parsed, checks=checks)
    assert checks.components["audit"] is not before["audit"]  # a param's value changed: all again


def test_a_component_moved_to_another_file_is_found_there() -> None:
    app, worker = 'application shop {\n  owner = "acme"\n}\n', 'component worker {\n  storage s {}\n}\n'
    parsed: dict[str, tuple[str, s.File, list[Diagnostic]]] = {}
    checks = Checks()
    steps = [{"/u/a.sct": app + worker, "/u/b.sct": ""}, {"/u/a.sct": app, "/u/b.sct": worker}]
    for texts in steps:
        got, want = compile_sources(texts, parsed=parsed, checks=checks), compile_sources(texts)
        assert (got.diagnostics, got.semantic, got.source_map) == (want.diagnostics, want.semantic, want.source_map)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="ab\n\r😀", max_size=30),
    start=st.integers(0, 40),
    length=st.integers(0, 5),
    inserted=st.text(alphabet="xy\n\r", max_size=6),
)
def test_the_line_index_of_an_edit_equals_the_index_of_the_new_text(
    text: str, start: int, length: int, inserted: str
) -> None:
    start = min(start, len(text))
    end = min(start + length, len(text))
    new = text[:start] + inserted + text[end:]
    edited, fresh = LineIndex(text).edited(start, end, inserted, new), LineIndex(new)
    assert [edited.line_start(n) for n in range(fresh.line_count)] == [fresh.line_start(n) for n in range(fresh.line_count)]
    assert [edited.line_end(n) for n in range(fresh.line_count)] == [fresh.line_end(n) for n in range(fresh.line_count)]
    assert edited.line_count == fresh.line_count and edited.text == new


def test_a_compile_of_the_language_server_leaves_its_objects_to_reference_counting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frozen for the cycle collector (`documents._uncollected`), and the collector on again."""
    monkeypatch.setattr(documents_module, "_compiles", 0)  # not a compile that thaws
    documents = Documents()
    uri = (tmp_path / "architecture.sct").as_uri()
    documents.open(uri, MANY, 1)
    gc.unfreeze()
    snapshot = documents.compile_now(documents.unit_of(uri))
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    assert not any(gc.is_tracked(o) and o is snapshot.compilation for o in gc.get_objects())  # frozen: not walked
    gc.unfreeze()


@pytest.mark.asyncio
async def test_after_a_line_added_above_them_the_server_finds_moved_components_where_they_are(
    client: LanguageClient, tmp_path: Path
) -> None:
    """What a line added moves is made when a request first reads it: definition and
    references in and to moved components answer at their new places."""
    doc = await opened(client, tmp_path, MANY)
    at = find(MANY, "component api")
    change(client, doc, 2, "\n", lsp.Range(start=at, end=at))
    added = MANY.replace("component api", "\ncomponent api", 1)
    identifier = lsp.TextDocumentIdentifier(uri=doc)
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=identifier, position=find(added, "api.orders.path", delta=4))
    )
    assert isinstance(found, list) and [r.range.start for r in found] == [find(added, "orders {")]
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=identifier,
            position=find(added, "orders {"),
            context=lsp.ReferenceContext(include_declaration=False),
        )
    )
    assert refs is not None
    assert sorted((r.range.start.line, r.range.start.character) for r in refs) == sorted(
        (p.line, p.character)
        for p in (find(added, "orders.path"), find(added, "to = orders", delta=5), find(added, "orders.path", 1))
    )
