"""Fuzzing the compiler: hostile `.sct` and JSON text gives a result or diagnostics, never an
exception, and within a time bound per input (issue 12, item 5).

What is generated: the grammar's tokens in any order; brackets, calls, maps and `${...}`
nested up to three times the nesting limit, closed or not; long literals; lets that
multiply a value; chains of lets and of objects; text with NULs, control characters and
any Unicode; arbitrary bytes; JSON values of any shape, inside the JSON form and out;
and mutations of every sample. Each input goes through `compile_sources` (the whole
compiler: parse or JSON read, check, the JSON form of a valid unit), the diagnostics'
rendering, and, for `.sct`, the formatter. A result is checked for what every result
must be: known codes, spans inside the text, a JSON form for a valid unit.

The corpus, `tests/fuzz/corpus/compiler/`, is replayed first: seed inputs (`*.sct`,
`*.json`; a `*.gen` file is a Python expression that builds an input too big to keep,
such as a literal of megabytes), then hypothesis' database of the examples that failed
here once (`hypothesis/`), which it tries again before anything new. A new failure is
saved there: commit it with the fix. The whole run takes about 15 s;
`SCOOT_FUZZ_EXAMPLES=5000` hunts longer (150 examples a test by default, a fifth of
that for the slow kinds).
"""

from __future__ import annotations

import json
import os
import signal
import string
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from scoot_lang import Compilation, compile_sources
from scoot_lang.diagnostics import CODES, render
from scoot_lang.format import format_text

ROOT = Path(__file__).resolve().parent.parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus" / "compiler"
# The baselines' inputs (`.sct` and `architecture.json`), not their outputs.
SAMPLES = sorted(p for p in [*ROOT.glob("tests/baselines/**/*"), *ROOT.glob("examples/*/*.sct")] if (p.suffix == ".sct" or p.name == "architecture.json") and p.is_file())

# The most one input may take, of any kind: a few tens of milliseconds is usual, a
# literal of megabytes under a second. Far over, on a noisy machine, is a hang.
PER_INPUT = 10.0

EXAMPLES = int(os.environ.get("SCOOT_FUZZ_EXAMPLES", "150"))  # 5000 for a longer hunt
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # timed by `bounded`, which also stops a hang
    database=DirectoryBasedExampleDatabase(str(CORPUS / "hypothesis")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
# For inputs of a tenth of a second or more (long literals, chains of thousands).
HEAVY = settings(FUZZ, max_examples=max(EXAMPLES // 5, 1))


# --- what every input must give --------------------------------------------------------------


class _TooLong(Exception):
    pass


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Fail, rather than hang, if the block takes longer than `seconds` (SIGALRM: main thread, POSIX)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _TooLong(f"one input took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def compiles(texts: dict[str, str]) -> Compilation:
    """Compile a unit, and check what every compilation must be."""
    started = time.monotonic()
    with bounded(PER_INPUT):
        result = compile_sources(texts)
        shown = [render(located, result.sources) for located in result.located()]
        json_form = result.architecture.to_json() if result.ok and result.architecture else None
        formatted = [format_text(text, path) for path, text in texts.items() if path.endswith(".sct")]
    assert time.monotonic() - started < PER_INPUT
    assert len(shown) == len(result.diagnostics)
    for d in result.diagnostics:
        assert d.code in CODES, d
        assert d.message
        if d.span is not None and d.span.file in texts:
            assert 0 <= d.span.start <= d.span.end <= len(texts[d.span.file]), d
    assert result.ok == (result.architecture is not None)
    if json_form is not None:
        assert json.loads(json_form)["version"] == 1
    for text, diagnostics in formatted:
        assert (text is None) == bool(diagnostics)
    return result


def compiles_sct(text: str) -> Compilation:
    return compiles({"architecture.sct": text})


def compiles_json(text: str) -> Compilation:
    return compiles({"architecture.json": text})


# --- the corpus --------------------------------------------------------------------------------


def corpus() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix in (".sct", ".json", ".gen")) if CORPUS.is_dir() else []


@pytest.mark.parametrize("seed", corpus(), ids=lambda p: p.name)
def test_the_corpus_compiles_to_diagnostics_or_a_result(seed: Path) -> None:
    if seed.suffix == ".gen":
        # `NAME.sct.gen`, `NAME.json.gen`: an expression that builds an input too big to keep.
        text = eval(seed.read_text(encoding="utf-8"), {"__builtins__": {}, "range": range})
        path = seed.with_suffix("")
    else:
        text = seed.read_bytes().decode("utf-8", errors="replace")
        path = seed
    # At its own path: a `file()` in it reads beside it, in the corpus.
    compiles({str(path): text})


def test_the_corpus_is_there() -> None:
    names = {p.name for p in corpus()}
    assert len(names) >= 20
    assert any(n.endswith(".json") for n in names) and any(n.endswith(".gen") for n in names)


# --- .sct --------------------------------------------------------------------------------------

TOKENS = [
    "application", "component", "param", "let", "true", "false", "null",
    "compute", "storage", "connection", "secret", "file", "x", "api", "web", "orders", "url", "path",
    "{", "}", "[", "]", "(", ")", "=", ",", ":", ".", "-1", "0", "8080", "2.5e3", "01", "1.", "-",
    '"s"', '""', '"${x}"', '"${api.web.url}"', '"${secret("A")}"', '"$${x}"', '"a$b"', '"${"${x}"}"',
    '"""\n  a ${x}\n  """', '"\\q"', '"\\u00e9"', '"\\U0001F680"', '"\\ud800"', '"${}"', '"${[1]}"',
    '"${{}}"', '"\\', '"', '"""', "${", "$${", "$", "}", "//c\n", "#c\n", "/*c*/", "/*", "*/",
    "\\", "@", "\n", " ", "\t", "\r", "\r\n", "\ufeff", "\x00", "é", "🚀", "\u2028", "\x7f",
]
NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,6}", fullmatch=True)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS) | NAME, max_size=120), st.sampled_from([" ", "", "\n"]))
def test_tokens_in_any_order(tokens: list[str], separator: str) -> None:
    compiles_sct(separator.join(tokens))


@st.composite
def nested(draw: st.DrawFn, inner: st.SearchStrategy[str] | None = None) -> str:
    """A value nested up to three times the limit, in every way, often left open."""
    depth = draw(st.integers(0, 3 * 64))
    kinds = draw(st.lists(st.sampled_from(["list", "map", "call", "interpolation", "multi"]), min_size=1, max_size=4))
    opening, closing = [], []
    for level in range(depth):
        kind = kinds[level % len(kinds)]
        if kind == "list":
            opening.append("[")
            closing.append("]")
        elif kind == "map":
            opening.append("{ k = ")
            closing.append(" }")
        elif kind == "call":
            opening.append("file(")
            closing.append(")")
        elif kind == "interpolation":
            opening.append('"${')
            closing.append('}"')
        else:
            opening.append('"""\n${')
            closing.append('}\n"""')
    middle = draw(inner) if inner is not None else draw(st.sampled_from(["1", '"a"', "x", "[]", "{}", ""]))
    drop = draw(st.integers(0, 3))  # unclosed brackets at the end, sometimes
    return "".join(opening) + middle + "".join(reversed(closing))[: len("".join(closing)) - drop]


@FUZZ
@given(nested(), st.sampled_from(["let", "env", "param", "top"]))
def test_deep_nesting_in_every_place(value: str, where: str) -> None:
    if where == "let":
        text = f'application a {{ owner = "o" }}\nlet v = {value}\n'
    elif where == "env":
        text = f'application a {{}}\ncomponent c {{\n  compute w {{\n    command = ["x"]\n    env = {{ V = {value} }}\n  }}\n}}\n'
    elif where == "param":
        text = f"application a {{}}\nparam p: any = {value}\n"
    else:
        text = value
    compiles_sct(text)


@HEAVY
@given(
    st.integers(0, 400_000),
    st.text(alphabet=st.sampled_from("ab $\\n{}\"é"), min_size=1, max_size=6),
    st.sampled_from(['"', '"""\n', '"""']),
)
def test_long_literals(size: int, unit: str, quotes: str) -> None:
    body = (unit * (size // len(unit) + 1))[:size]
    closing = '"' if quotes == '"' else '\n  """'
    compiles_sct(f"application a {{}}\nlet v = {quotes}{body}{closing}\n")


@FUZZ
@given(st.integers(1, 30), st.integers(1, 12), st.sampled_from(["string", "list", "map", "file"]))
def test_lets_that_multiply_a_value(levels: int, fan: int, kind: str) -> None:
    seed = {"string": '"haha"', "list": '["ha"]', "map": "{ a = 1 }", "file": 'file("architecture.sct")'}[kind]
    lines = ["application a {}", f"let v0 = {seed}"]
    for i in range(1, levels + 1):
        if kind == "string":
            lines.append(f'let v{i} = "' + f"${{v{i - 1}}}" * fan + '"')
        elif kind == "map":
            lines.append(f"let v{i} = {{ " + ", ".join(f"k{j} = v{i - 1}" for j in range(fan)) + " }")
        else:
            lines.append(f"let v{i} = [" + ", ".join([f"v{i - 1}"] * fan) + "]")
    lines.append(f'component c {{\n  compute w {{\n    command = v{levels}\n    env = {{ V = v{levels} }}\n  }}\n}}')
    compiles_sct("\n".join(lines) + "\n")


@HEAVY
@given(st.integers(1, 2000), st.booleans(), st.sampled_from(["lets", "objects"]), st.booleans())
def test_long_chains(length: int, cycle: bool, kind: str, reverse: bool) -> None:
    if kind == "lets":
        lines = [f"let c{i} = c{i + 1}" for i in range(length)]
        lines.append(f"let c{length} = " + ("c0" if cycle else '"end"'))
        body = "\n".join(reversed(lines) if reverse else lines)
        text = f'application a {{}}\n{body}\ncomponent c {{ compute w {{ command = [c0] }} }}\n'
    else:
        last = f"s{length}"
        objects = [f'  compute s{i} {{ command = ["x"], env = {{ UP = s{i + 1}.url }} }}' for i in range(length)]
        objects.append(f'  compute {last} {{ command = ["x"]' + (", env = { UP = s0.url }" if cycle else "") + " }")
        body = "\n".join(reversed(objects) if reverse else objects)
        text = f"application a {{}}\ncomponent c {{\n{body}\n}}\n"
    compiles_sct(text)


@FUZZ
@given(st.text(max_size=300))
def test_any_unicode(text: str) -> None:
    compiles_sct(text)
    compiles_sct(f'application a {{ owner = "{text}" }}\nlet x = file("{text}")\n')


@FUZZ
@given(st.binary(max_size=600))
def test_any_bytes(data: bytes) -> None:
    for errors in ("replace", "surrogateescape"):
        text = data.decode("utf-8", errors=errors)
        compiles_sct(text)
        compiles_json(text)


@HEAVY
@given(st.sampled_from(SAMPLES), st.data())
def test_mutated_samples(path: Path, data: st.DataObject) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "duplicate", "nest"]))
        if action == "insert":
            text = text[:at] + data.draw(st.sampled_from(TOKENS) | st.text(max_size=4)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 30)) :]
        elif action == "duplicate":
            end = min(len(text), at + data.draw(st.integers(1, 80)))
            text = text[:at] + text[at:end] * data.draw(st.integers(1, 50)) + text[at:]
        else:
            text = text[:at] + data.draw(nested()) + text[at:]
    compiles({("architecture" + path.suffix): text})


# --- JSON --------------------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["${a.b.c}", "${api.web.url}", '${secret("A")}', "$${x}", "${", "${[1]}", "${x", "$", "${}"])
)


def _json_containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    keys = st.text(string.ascii_letters + "$_-.", max_size=8)
    return st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4)


JSON_VALUES = st.recursive(JSON_SCALARS, _json_containers, max_leaves=30)


@FUZZ
@given(JSON_VALUES, st.sampled_from(["whole", "application", "components", "object", "env", "command"]))
def test_json_values_anywhere_in_the_json_form(value: object, where: str) -> None:
    obj: dict[str, object] = {"kind": "compute", "command": ["x"], "env": {"A": "b"}}
    architecture: dict[str, object] = {
        "version": 1,
        "application": {"name": "a", "owner": "o"},
        "components": {"c": {"objects": {"w": obj}}},
    }
    if where == "whole":
        document: object = value
    else:
        document = architecture
        if where == "application":
            architecture["application"] = value
        elif where == "components":
            architecture["components"] = value
        elif where == "object":
            architecture["components"] = {"c": {"objects": {"w": value}}}
        elif where == "env":
            obj["env"] = value
        else:
            obj["command"] = value
    compiles_json(json.dumps(document, ensure_ascii=False))


@FUZZ
@given(st.integers(0, 3 * 67), st.sampled_from(["[", '{"k": ']), st.integers(0, 2), st.sampled_from(["1", '"${[[1]]}"', '"${x"', ""]))
def test_deep_json(depth: int, opening: str, drop: int, inner: str) -> None:
    closing = "]" if opening == "[" else "}"
    text = opening * depth + inner + closing * max(depth - drop, 0)
    compiles_json(text)
    compiles_json('{"version": 1, "application": {"name": "a"}, "components": {"c": {"objects": {"w": {"kind": "compute", "command": ' + text + "}}}}}")


@HEAVY
@given(st.integers(0, 400_000), st.sampled_from(["x", "$", "$$", "\\n", "\\u0000", "${a.b.c}", "é"]))
def test_long_json_strings(size: int, unit: str) -> None:
    body = unit * (size // len(unit))
    text = '{"version": 1, "application": {"name": "a"}, "components": {"c": {"objects": {"w": {"kind": "compute", "command": ["' + body + '"]}}}}}'
    compiles_json(text)
