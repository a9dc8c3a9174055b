"""Golden baselines: every stage's output for every sample, beside the sample.

Each folder `tests/baselines/NAME/` is one sample: a compilation unit, compiled
the way `scoot compile` compiles a folder (from inside it, so every path shown is
relative to it). Its input is what the compiler reads:

    main.sct              a one-file sample
    architecture.json     a sample in the JSON form
    *.sct                 a multi-file sample (the folder's `.sct` files)
    config/...            files the sample reads with file(), in a subfolder
    README.txt            a note for the reader (e.g. why a sample has no input)

and beside it, what each stage makes of it (no output name ends in `.sct`, so the
folder stays the same unit for `scoot compile tests/baselines/NAME`):

    compiled.json     the compiled JSON form, or the line saying why there is none
    diagnostics.txt   the diagnostics, as `scoot` prints them without colour
    formatted.txt     the formatter's text (`.sct` samples only; with several files,
                      each under a `// ===== FILE =====` line)
    symbols.txt       the semantic model: each declaration, then each reference and
                      what every part of it names (`file:line:col`)
    sourcemap.txt     the source map: each JSON path the text produced, in source
                      order, with its span (`file:line:col-line:col`, end exclusive) and first line

A sample may set params the way the command line does, with a comment line
`// scoot compile --param NAME=VALUE ...` (one `--param` per pair, no spaces in a value).

A baseline that differs from what the test produces fails with a unified diff; so
does an output missing from the folder, and a file the test would not write (a
stale output: an input is `.sct`, `architecture.json`, `README.*` or in a subfolder).
Regenerate after an intended change with

    SCOOT_UPDATE_BASELINES=1 python -m pytest tests/test_golden.py

(it writes every output and deletes stale ones), then read `git diff tests/baselines`:
it is the review. A new sample is a new folder holding only its input.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

from scoot_lang import Compilation, compile_path
from scoot_lang import syntax as s
from scoot_lang.diagnostics import CODES, render
from scoot_lang.semantic import JsonPath, ReferenceUse
from scoot_lang.source import SourceFile, Span

BASELINES = Path(__file__).resolve().parent / "baselines"
UPDATE = os.environ.get("SCOOT_UPDATE_BASELINES", "") not in ("", "0")
REGENERATE = "regenerate with `SCOOT_UPDATE_BASELINES=1 python -m pytest tests/test_golden.py`, then read the diff"
NO_OUTPUT = "(no output: the unit has errors)\n"

# The outputs, in the order a reader takes them.
OUTPUTS = ("compiled.json", "diagnostics.txt", "formatted.txt", "symbols.txt", "sourcemap.txt")
# Codes no sample can show, and why (each is covered elsewhere).
NOT_IN_SAMPLES: dict[str, str] = {}


# --- the samples --------------------------------------------------------------------


def sample_names() -> list[str]:
    return sorted(p.name for p in BASELINES.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def sct_files(name: str) -> list[Path]:
    """The `.sct` files of a sample, as the compiler takes them."""
    return sorted(p for p in (BASELINES / name).iterdir() if p.suffix == ".sct" and p.is_file())


def is_input(path: Path) -> bool:
    """A file of a sample's folder the test reads and never writes."""
    return path.is_dir() or path.suffix == ".sct" or path.name == "architecture.json" or path.stem == "README"


_PARAMS_LINE = re.compile(r"^\s*//\s*scoot compile\s+(.*)$", re.MULTILINE)


def sample_params(name: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for file in sct_files(name):
        text = file.read_bytes().decode("utf-8", errors="replace")
        for line in _PARAMS_LINE.findall(text):
            words = line.split()
            for flag, pair in zip(words[::2], words[1::2], strict=True):
                assert flag == "--param", f"{file}: only --param NAME=VALUE is understood"
                key, _, value = pair.partition("=")
                params[key] = value
    return params


@contextmanager
def inside(name: str) -> Iterator[None]:
    """Work from inside a sample's folder, so that every path shown is relative to it."""
    before = os.getcwd()
    os.chdir(BASELINES / name)
    try:
        yield
    finally:
        os.chdir(before)


@cache
def compile_sample(name: str) -> Compilation:
    """The sample compiled as `scoot compile` does in its folder (callers must not change it)."""
    with inside(name):
        return compile_path(".", sample_params(name))


# --- the outputs ----------------------------------------------------------------------


def rendered_json(result: Compilation) -> str:
    return result.architecture.to_json() if result.ok and result.architecture else NO_OUTPUT


def rendered_diagnostics(result: Compilation) -> str:
    shown = [render(located, result.sources, color=False) for located in result.located()]
    return "\n\n".join(shown) + "\n" if shown else "(no diagnostics)\n"


def rendered_format(name: str) -> str | None:
    """The formatted text of a `.sct` sample (None for a sample without `.sct` files)."""
    from scoot_lang.format import format_text

    files = sct_files(name)
    if not files:
        return None
    chunks: list[str] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            shown = "(not formatted: the file is not UTF-8)\n"
        else:
            formatted, errors = format_text(text, file.name)
            if formatted is None:
                assert errors, f"{name}/{file.name}: format_text refused the file without saying why"
            shown = formatted if formatted is not None else "(not formatted: syntax errors)\n"
        chunks.append(f"// ===== {file.name} =====\n{shown}" if len(files) > 1 else shown)
    return "\n".join(chunks)


def _at(sources: Mapping[str, SourceFile], file: str, offset: int) -> str:
    source = sources.get(file)
    if source is None:
        return f"{file}@{offset}"
    position = source.position(offset)
    return f"{position.line}:{position.column}"


def _where(sources: Mapping[str, SourceFile], span: Span) -> str:
    return f"{span.file}:{_at(sources, span.file, span.start)}"


def _table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> list[str]:
    """Rows as lines, each column but the last padded to its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)] if rows else []
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def _named(ref: ReferenceUse) -> str:
    """What each part of a reference names: a symbol, an output, or a key of a map."""
    if ref.target is None:
        # A `moved` block's old address names nothing declared, by design.
        return "(an old address)" if ref.address == "from" else "(not found)"
    last = max((i for i, target in enumerate(ref.part_targets) if target), default=-1)
    named = []
    for index, part in enumerate(ref.parts):
        target = ref.part_targets[index] if index < len(ref.part_targets) else None
        if target:
            named.append(target)
        elif index == last + 1 and ref.output == part:
            named.append(f"output {part}")
        else:
            named.append(f"key {part}")
    return " . ".join(named)


def rendered_symbols(result: Compilation) -> str:
    semantic = result.semantic
    declared = sorted(semantic.symbols.values(), key=lambda sym: (sym.name_span.file, sym.name_span.start, sym.id))
    lines = ["declarations (where the name is, the id references point at, the object's kind)"]
    lines += _table([(_where(result.sources, sym.name_span), sym.id, sym.object_kind or "") for sym in declared]) or ["  (none)"]
    lines.append("references (where, as written, → what each part names)")
    used = sorted(semantic.references, key=lambda ref: (ref.span.file, ref.span.start, ref.span.end))
    lines += _table([(_where(result.sources, ref.span), ".".join(ref.parts), "→ " + _named(ref)) for ref in used]) or ["  (none)"]
    return "\n".join(lines) + "\n"


def _mapped_paths(result: Compilation) -> dict[JsonPath, Span]:
    """Every path the source map gives a span: those recorded, and the entries of map and list values."""
    source_map = result.source_map
    found = dict(source_map.spans)

    def walk(path: JsonPath, expr: s.Expr) -> None:
        children: list[tuple[str, s.Expr]] = []
        if isinstance(expr, s.MapExpr):
            children = [(entry.key.text, entry.value) for entry in expr.entries]
        elif isinstance(expr, s.ListExpr):
            children = [(str(index), item) for index, item in enumerate(expr.items)]
        for key, value in children:
            span = source_map.get((*path, key))
            if span is not None:
                found.setdefault((*path, key), span)
                walk((*path, key), value)

    for path, (_, value) in source_map.values.items():
        walk(path, value)
    return found


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _json_path(path: JsonPath) -> str:
    shown = ""
    for key in path:
        shown += f".{key}" if _PLAIN_KEY.match(key) else "[" + '"' + key.replace('"', '\\"') + '"]'
    return shown.removeprefix(".")


def _excerpt(sources: Mapping[str, SourceFile], span: Span) -> str:
    source = sources.get(span.file)
    if source is None:
        return ""
    text = source.text[span.start : span.end]
    first, newline, _ = text.partition("\n")
    first = first.strip()
    if len(first) > 60:
        return f"| {first[:60]}…"
    return f"| {first}{' …' if newline else ''}"


def rendered_source_map(result: Compilation) -> str:
    mapped = sorted(_mapped_paths(result).items(), key=lambda item: (item[1].file, item[1].start, -item[1].end, item[0]))
    rows = []
    for path, span in mapped:
        where = f"{span.file}:{_at(result.sources, span.file, span.start)}-{_at(result.sources, span.file, span.end)}"
        rows.append((where, _json_path(path), _excerpt(result.sources, span)))
    lines = ["JSON path → the text that produced it (span, end exclusive; path; the span's first line), in source order"]
    return "\n".join(lines + (_table(rows) or ["  (none)"])) + "\n"


def produce(name: str) -> dict[str, str]:
    """Every output of a sample, by file name."""
    result = compile_sample(name)
    outputs = {
        "compiled.json": rendered_json(result),
        "diagnostics.txt": rendered_diagnostics(result),
        "symbols.txt": rendered_symbols(result),
        "sourcemap.txt": rendered_source_map(result),
    }
    formatted = rendered_format(name)
    if formatted is not None:
        outputs["formatted.txt"] = formatted
    return {file: outputs[file] for file in OUTPUTS if file in outputs}


# --- comparing and updating --------------------------------------------------------------


def check_baseline(folder: Path, produced: Mapping[str, str], update: bool) -> list[str]:
    """What is wrong with a sample's outputs on disk (with `update`, rewrite them instead)."""
    problems = []
    shown = folder.relative_to(BASELINES.parent.parent).as_posix() if folder.is_relative_to(BASELINES.parent.parent) else str(folder)
    for file, text in produced.items():
        path = folder / file
        old = path.read_bytes().decode("utf-8", errors="replace") if path.is_file() else None
        if old == text:
            continue
        if update:
            path.write_bytes(text.encode("utf-8"))
        elif old is None:
            problems.append(f"{shown}/{file} is missing")
        else:
            diff = difflib.unified_diff(
                old.splitlines(keepends=True), text.splitlines(keepends=True), f"{shown}/{file} (baseline)", f"{shown}/{file} (produced)"
            )
            problems.append("".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in diff))
    for path in sorted(folder.iterdir()):
        if path.name in produced or is_input(path):
            continue
        if update:
            path.unlink()
        else:
            problems.append(f"{shown}/{path.name} is stale: the test writes no such output (remove it)")
    return problems


# --- the tests ------------------------------------------------------------------------


def test_there_are_enough_samples() -> None:
    names = sample_names()
    assert len(names) >= 40
    assert sum((BASELINES / name / "architecture.json").is_file() for name in names) >= 3
    assert any(len(sct_files(name)) > 1 for name in names)


@pytest.mark.parametrize("name", sample_names())
def test_golden(name: str) -> None:
    result = compile_sample(name)

    # Whatever the input, the compiler reports; it never crashes, and every error
    # but the two about the path itself points at a place in a file it read.
    for located in result.located():
        d = located.diagnostic
        assert d.code in CODES
        if d.code not in ("SCT005", "SCT006", "SCT504"):
            assert located.start is not None, f"{d.code} has no position: {d.message}"
    assert result.ok == (result.architecture is not None)

    problems = check_baseline(BASELINES / name, produce(name), UPDATE)
    assert not problems, "\n".join([*problems, REGENERATE])

    if result.ok:
        check_json_fixpoint(result)
        check_decompile_round_trip(result)
    if sct_files(name):
        check_format_keeps_meaning(name, result)


def check_format_keeps_meaning(name: str, result: Compilation) -> None:
    """Formatting is idempotent and does not change what a valid unit compiles to."""
    from scoot_lang import compile_sources
    from scoot_lang.format import format_text

    formatted: dict[str, str] = {}
    for file in sct_files(name):
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return
        once, _ = format_text(text, file.name)
        if once is None:
            return
        twice, _ = format_text(once, file.name)
        assert twice == once, f"{name}/{file.name}: formatting twice changes the text again"
        formatted[file.name] = once
    if result.ok and formatted:
        with inside(name):
            again = compile_sources(formatted, sample_params(name))
        assert again.ok, [d.message for d in again.diagnostics]
        assert again.architecture is not None and result.architecture is not None
        assert again.architecture.to_json() == result.architecture.to_json()
        assert [d.code for d in again.diagnostics] == [d.code for d in result.diagnostics]


def check_json_fixpoint(result: Compilation) -> None:
    """The JSON form is an input too: compiling the compiled JSON gives it back unchanged."""
    from scoot_lang import compile_sources

    assert result.architecture is not None
    text = result.architecture.to_json()
    again = compile_sources({"architecture.json": text})
    assert again.ok, [d.message for d in again.diagnostics]
    assert again.architecture is not None and again.architecture.to_json() == text
    assert again.diagnostics == []


def check_decompile_round_trip(result: Compilation) -> None:
    """`compile(decompile(x)) == x` for every valid x (docs/architecture.md, the JSON form)."""
    from scoot_lang import compile_sources
    from scoot_lang.decompile import decompile

    assert result.architecture is not None
    text = decompile(result.architecture)
    again = compile_sources({"architecture.sct": text})
    assert again.ok, [d.message for d in again.diagnostics]
    assert again.architecture is not None
    assert again.architecture.to_json() == result.architecture.to_json()


def test_every_code_is_shown_by_a_sample() -> None:
    """Each code of the table appears in some sample's diagnostics (or is excused above)."""
    seen: dict[str, list[str]] = {}
    for name in sample_names():
        for d in compile_sample(name).diagnostics:
            seen.setdefault(d.code, []).append(name)
    missing = sorted(set(CODES) - set(seen) - set(NOT_IN_SAMPLES))
    assert not missing, f"no sample shows {missing}: add one to tests/baselines"
    assert set(NOT_IN_SAMPLES) <= set(CODES)


def test_invalid_samples_name_their_codes() -> None:
    """An invalid `.sct` sample names, in its first lines, the codes it is about, and shows them."""
    for name in sample_names():
        files = sct_files(name)
        if not files:
            continue
        heads = ["\n".join(f.read_bytes().decode("utf-8", errors="replace").split("\n")[:3]) for f in files]
        named = set(re.findall(r"SCT\d{3}", "\n".join(heads)))
        shown = {d.code for d in compile_sample(name).diagnostics}
        assert named <= shown | set(NOT_IN_SAMPLES), f"{name} names {sorted(named - shown)} but does not show them"
        assert shown <= named, f"{name} shows {sorted(shown - named)}: name them in its first lines"


def test_a_sample_without_outputs_fails(tmp_path: Path) -> None:
    (tmp_path / "main.sct").write_text('application a { owner = "x" }\n', encoding="utf-8")
    produced = {"compiled.json": "{}\n", "diagnostics.txt": "(no diagnostics)\n"}
    assert check_baseline(tmp_path, produced, update=False) == [
        f"{tmp_path}/compiled.json is missing",
        f"{tmp_path}/diagnostics.txt is missing",
    ]


def test_a_changed_byte_fails_with_a_diff_and_an_update_rewrites_it(tmp_path: Path) -> None:
    produced = {"compiled.json": "{\n  \"a\": 1\n}\n"}
    (tmp_path / "compiled.json").write_text("{\n  \"a\": 2\n}\n", encoding="utf-8")
    [problem] = check_baseline(tmp_path, produced, update=False)
    assert '-  "a": 2\n+  "a": 1\n' in problem
    assert "compiled.json (baseline)" in problem
    assert check_baseline(tmp_path, produced, update=True) == []
    assert (tmp_path / "compiled.json").read_text(encoding="utf-8") == produced["compiled.json"]
    assert check_baseline(tmp_path, produced, update=False) == []


def test_a_stale_output_fails_and_an_update_removes_it(tmp_path: Path) -> None:
    produced = {"diagnostics.txt": "(no diagnostics)\n"}
    (tmp_path / "diagnostics.txt").write_text(produced["diagnostics.txt"], encoding="utf-8")
    for name in ("main.sct", "architecture.json", "README.txt"):
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "config").mkdir()
    (tmp_path / "formatted.txt").write_text("left over\n", encoding="utf-8")
    assert check_baseline(tmp_path, produced, update=False) == [
        f"{tmp_path}/formatted.txt is stale: the test writes no such output (remove it)"
    ]
    assert check_baseline(tmp_path, produced, update=True) == []
    assert not (tmp_path / "formatted.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.txt", "architecture.json", "config", "diagnostics.txt", "main.sct"]
