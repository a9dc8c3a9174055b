"""The parser: its fast path and Lark's own parser build the same tree, and it recovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoot_lang import syntax as s
from scoot_lang.parser import KEYWORDS, cached_parser, parse

ROOT = Path(__file__).resolve().parent.parent
CLEAN_SAMPLES = [
    p
    for p in sorted([*ROOT.glob("examples/*/*.sct"), *ROOT.glob("tests/baselines/**/*.sct")])
    if p.is_file() and not parse(p.read_text(encoding="utf-8", errors="replace"), str(p))[1]
]


def test_keywords_are_the_grammars() -> None:
    _, _, _, fast = cached_parser()
    assert set(fast.keywords) == KEYWORDS


@pytest.mark.parametrize("path", CLEAN_SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fast_path_builds_the_same_tree_as_lark(path: Path) -> None:
    lark, builder, comments, fast = cached_parser()
    text = path.read_text(encoding="utf-8")
    builder.file, builder.diagnostics = str(path), []
    comments.clear()
    by_lark = lark.parse(text, start="start")
    lark_comments = comments[:]
    comments.clear()
    by_fast = fast.parse(text, "start")
    assert by_fast == by_lark
    assert comments == lark_comments


def test_a_clean_file_has_every_offset_right() -> None:
    text = 'application shop {\n  owner = "acme" // who\n}\nlet x = "a ${shop_y} b"\n'
    file, errors = parse(text)
    assert errors == []
    app = file.items[0]
    assert isinstance(app, s.ApplicationBlock)
    assert text[app.name.start : app.name.end] == "shop"
    owner = app.attributes[0]
    assert text[owner.start : owner.end] == 'owner = "acme"'
    let = file.items[1]
    assert isinstance(let, s.LetDecl) and isinstance(let.value, s.StringLit)
    reference = let.value.parts[1]
    assert isinstance(reference, s.Reference)
    assert text[reference.start : reference.end] == "shop_y"
    assert [c.text for c in file.comments] == ["// who"]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ('application a { owner = }\n', ["SCT001"]),
        ('application a {\n  owner "acme"\n}\n', ["SCT001"]),
        ('application a {}\ncomponent c {\n  compute w { command = ["a" "b"] }\n}\n', ["SCT001"]),
        ('application a {}\ncomponent c {\n  compute w { command = ["a"] }\n', ["SCT001"]),
        ('application a { owner = "x }\ncomponent c {}\n', ["SCT002"]),
        ("application a {} @ component c {}\n", ["SCT002"]),
        ('let x = "\\q"\n', ["SCT003"]),
        ('let x = "${}"\n', ["SCT004"]),
    ],
)
def test_one_mistake_is_one_error(text: str, codes: list[str]) -> None:
    _, errors = parse(text)
    assert [e.code for e in errors] == codes


def test_errors_in_separate_places_are_all_reported() -> None:
    text = (
        "application a { owner = }\n"
        "component c {\n"
        "  compute w { port 8080 }\n"
        "  storage s { engine = }\n"
        "}\n"
    )
    file, errors = parse(text)
    assert [(e.code, text[e.span.start : e.span.end]) for e in errors] == [
        ("SCT001", "}"),
        ("SCT001", "8080"),
        ("SCT001", "}"),
    ]
    component = file.items[1]
    assert isinstance(component, s.ComponentBlock)
    assert [o.name.text for o in component.objects] == ["w", "s"]
