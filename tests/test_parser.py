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


def _tokens(text: str, cut: bool) -> tuple[list[tuple[str, str, int, int]], list[s.Comment], dict[int, int]]:
    _, builder, comments, fast = cached_parser()
    comments.clear()
    builder.string_depths, builder.depth_base, builder.diagnostics = {}, 0, []
    made = fast.tokens(text) if cut else fast.scanned(text)
    return [(t.type, t.value, t.start_pos, t.end_pos) for t in made], comments[:], builder.string_depths


@pytest.mark.parametrize(
    "text",
    [
        *(p.read_text(encoding="utf-8") for p in CLEAN_SAMPLES),
        'let a = """\n  x ${b}\n  """ /* c */ # d\nlet b = [1, -2.5e3, a-b, a - b, "$${x}", !true]\n',
        "let a = " + "[" * 70 + "]" * 70 + "\n",  # past the nesting limit: cut
        "let a = 1 @ 2\n",  # no token: the fast path stops where Lark must take over
        "let a = 1\v\n",
    ],
    ids=lambda text: text[:30],
)
def test_the_cut_tokens_are_the_scanned_ones(text: str) -> None:
    """`tokens` cuts the whole text with one `re.split`; `scanned` matches a token at a
    time. They find the same tokens, comments and strings, or both give up."""
    outcomes = []
    for cut in (True, False):
        try:
            outcomes.append(_tokens(text, cut))
        except Exception as error:
            outcomes.append(type(error).__name__)
    assert outcomes[0] == outcomes[1]


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


# --- expressions ------------------------------------------------------------------


def _let(text: str) -> s.Expr:
    file, errors = parse(f"let x = {text}\n")
    assert errors == [], [e.message for e in errors]
    item = file.items[0]
    assert isinstance(item, s.LetDecl)
    return item.value


def _shape(expr: s.Expr) -> object:
    """An expression as nested tuples: `(op, left, right)`, names, numbers."""
    match expr:
        case s.Binary(op=op, left=left, right=right):
            return (op, _shape(left), _shape(right))
        case s.Unary(op=op, operand=operand):
            return (op, _shape(operand))
        case s.Conditional(condition=c, then=t, otherwise=o):
            return ("?", _shape(c), _shape(t), _shape(o))
        case s.Index(target=target, index=index):
            return ("[]", _shape(target), _shape(index))
        case s.GetAttr(target=target, name=name):
            return (".", _shape(target), name.text)
        case s.Paren(inner=inner):
            return ("()", _shape(inner))
        case s.Reference():
            return expr.dotted
        case s.NumberLit(value=value):
            return value
        case s.StringLit():
            return repr(expr.text)
        case s.BoolLit(value=value):
            return value
    raise AssertionError(expr)


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        # A name may hold `-`: `a-1` is a name; with blanks, or before a number, `-` subtracts.
        ("a - 1", ("-", "a", 1)),
        ("a-1", "a-1"),
        ("web-api", "web-api"),
        ("a -1", ("-", "a", 1)),
        ("1-1", ("-", 1, 1)),
        ("-y", ("-", "y")),
        ("- 2", -2),
        ("[1, -1]", None),
        ("a - -1", ("-", "a", -1)),
        # Precedence, loosest first: ? :, ||, &&, == !=, < <= > >=, + -, * / %, unary, postfix.
        ("1 + 2 * 3", ("+", 1, ("*", 2, 3))),
        ("(1 + 2) * 3", ("*", ("()", ("+", 1, 2)), 3)),
        ("8 - 4 - 2", ("-", ("-", 8, 4), 2)),
        ("a || b && c", ("||", "a", ("&&", "b", "c"))),
        ("a == b && c != d", ("&&", ("==", "a", "b"), ("!=", "c", "d"))),
        ("a + 1 < b * 2", ("<", ("+", "a", 1), ("*", "b", 2))),
        ("!a || b", ("||", ("!", "a"), "b")),
        ("-a % 3", ("%", ("-", "a"), 3)),
        ("c ? 1 : d ? 2 : 3", ("?", "c", 1, ("?", "d", 2, 3))),
        ("a || b ? x : y", ("?", ("||", "a", "b"), "x", "y")),
        ("xs[0]", ("[]", "xs", 0)),
        ('m["k"]', ("[]", "m", "'k'")),
        ("xs[0].name.first", (".", (".", ("[]", "xs", 0), "name"), "first")),
        ("-xs[1 + 1]", ("-", ("[]", "xs", ("+", 1, 1)))),
        ("a.b.c", "a.b.c"),
        ("a\n  + b\n  * c", ("+", "a", ("*", "b", "c"))),
    ],
)
def test_expressions_parse_with_the_usual_precedence(text: str, shape: object) -> None:
    expr = _let(text)
    if shape is None:  # a list: its items
        assert isinstance(expr, s.ListExpr) and [_shape(i) for i in expr.items] == [1, -1]
    else:
        assert _shape(expr) == shape


def test_a_negative_literal_is_a_number_with_its_text() -> None:
    expr = _let("-3.5")
    assert isinstance(expr, s.NumberLit) and expr.raw == "-3.5" and expr.value == -3.5


def test_attributes_without_separators_still_read_with_operators() -> None:
    file, errors = parse('application a { owner = "x" }\ncomponent c { port = 1 + 2 replicas = -1 name = b }\n')
    assert errors == []
    component = file.items[1]
    assert isinstance(component, s.ComponentBlock)
    assert [(a.key.text, _shape(a.value)) for a in component.attributes] == [
        ("port", ("+", 1, 2)),
        ("replicas", -1),
        ("name", "b"),
    ]


def test_comparisons_do_not_chain() -> None:
    text = "let x = a < b < c\n"
    _, errors = parse(text)
    assert errors[0].code == "SCT001" and errors[0].span is not None
    assert errors[0].span.start == text.rindex("<")


def test_an_interpolation_holds_an_expression() -> None:
    expr = _let('"n=${a * 2}"')
    assert isinstance(expr, s.StringLit)
    inner = expr.parts[1]
    assert isinstance(inner, s.Binary) and _shape(inner) == ("*", "a", 2)
    assert (inner.start, inner.end) == (len('let x = "n=${'), len('let x = "n=${a * 2'))


def test_an_operator_with_a_missing_operand_is_reported_and_recovered() -> None:
    file, errors = parse("let x = 1 +\nlet y = 2\n")
    assert [e.code for e in errors] == ["SCT001"]
    assert [item.name.text for item in file.items if isinstance(item, s.LetDecl)] == ["x", "y"]


# --- for and if on blocks -------------------------------------------------------------


def test_for_and_if_clauses_on_blocks() -> None:
    text = (
        'component api for zone in zones if zone != "x" {\n'
        "  storage cache for key, value in { a = 1 } { engine = key }\n"
        "  compute debug if debug {}\n"
        "  compute web {}\n"
        "}\n"
    )
    file, errors = parse(text)
    assert errors == []
    component = file.items[0]
    assert isinstance(component, s.ComponentBlock) and component.repetition is not None
    rep = component.repetition
    assert [v.text for v in rep.variables] == ["zone"]
    assert rep.iterable is not None and _shape(rep.iterable) == "zones"
    assert rep.condition is not None and _shape(rep.condition) == ("!=", "zone", "'x'")
    assert text[rep.start : rep.end] == 'for zone in zones if zone != "x"'
    assert text[component.open_brace] == "{"
    cache, debug, web = component.objects
    assert cache.repetition is not None and [v.text for v in cache.repetition.variables] == ["key", "value"]
    assert [a.key.text for a in cache.attributes] == ["engine"]
    assert debug.repetition is not None and debug.repetition.iterable is None and debug.repetition.variables == []
    assert web.repetition is None


@pytest.mark.parametrize("word", ["for", "in", "if"])
def test_the_new_keywords_are_reserved(word: str) -> None:
    _, errors = parse(f"let {word} = 1\n")
    assert [e.code for e in errors] == ["SCT001"]


@pytest.mark.parametrize(
    "expression",
    [" + ".join(["1"] * 10_000), "!" * 10_000 + "true", "xs" + "[0]" * 2_000, "a ? 1 : " * 2_000 + "2"],
    ids=["sum", "not", "index", "conditional"],
)
def test_an_expression_nested_past_the_limit_is_cut_not_a_crash(expression: str) -> None:
    from scoot_lang import compile_source

    result = compile_source(f'application a {{ owner = "x" }}\nlet x = {expression}\n')
    codes = {d.code for d in result.diagnostics}
    assert "SCT009" in codes
