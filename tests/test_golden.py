"""Golden baselines: every stage's output for every sample of `tests/samples/`.

A sample is one `NAME.sct` file, one `NAME.json` file (the JSON form), or a
folder `NAME/` (a multi-file unit: its `.sct` files). For each sample three
readable files sit under `tests/__snapshots__/test_golden/`:

    test_golden[NAME].json              the compiled JSON form (or why there is none)
    test_golden[NAME].diagnostics.txt   the diagnostics, as `scoot` prints them without colour
    test_golden[NAME].fmt.sct           the formatted text (`.sct` samples and folders only)

A sample may set params the way the command line does, with a comment line
`// scoot compile --param NAME=VALUE ...` (one `--param` per pair, no spaces in a value).

Regenerate after an intended change with `python -m pytest tests/test_golden.py --snapshot-update`,
then read the diff: it is the review.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from scoot_lang import Compilation, compile_path
from scoot_lang.diagnostics import CODES, render
from scoot_model.template import references_in

SAMPLES = Path(__file__).resolve().parent / "samples"
NO_OUTPUT = "(no output: the unit has errors)\n"

# Codes no sample can show, and why (each is covered elsewhere).
NOT_IN_SAMPLES: dict[str, str] = {}

# Samples whose output is wrong because of a bug outside the tests: no snapshot is
# kept for them; instead the test asserts what is right, and fails until the bug is
# fixed (strict xfail: a fix turns the test red, so remove the entry then and
# regenerate the snapshots).
KNOWN_BUGS: dict[str, str] = {}


# --- the snapshot files -----------------------------------------------------------


class _GoldenFile(SingleFileSnapshotExtension):
    """One text file per sample and stage, named after the test (no assertion index)."""

    _write_mode = WriteMode.TEXT

    @classmethod
    def get_snapshot_name(cls, *, test_location, index=0):  # type: ignore[no-untyped-def]
        # Each extension is used once per test: the file extension tells the stages apart.
        return super().get_snapshot_name(test_location=test_location, index=0)


class JsonFile(_GoldenFile):
    file_extension = _file_extension = "json"


class DiagnosticsFile(_GoldenFile):
    file_extension = _file_extension = "diagnostics.txt"


class FormattedFile(_GoldenFile):
    file_extension = _file_extension = "fmt.sct"


# --- the samples --------------------------------------------------------------------


def sample_names() -> list[str]:
    names = []
    for entry in sorted(SAMPLES.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir() or entry.suffix in (".sct", ".json"):
            names.append(entry.name)
    return names


def sample_id(name: str) -> str:
    return name.removesuffix(".sct") if name.endswith(".sct") else name


def sct_files(name: str) -> list[Path]:
    """The `.sct` files of a sample, as the compiler takes them."""
    path = SAMPLES / name
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix == ".sct" and p.is_file())
    return [path] if path.suffix == ".sct" else []


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
def in_samples() -> Iterator[None]:
    """Compile from inside `tests/samples`, so that every path shown is relative to it."""
    before = os.getcwd()
    os.chdir(SAMPLES)
    try:
        yield
    finally:
        os.chdir(before)


def compile_sample(name: str) -> Compilation:
    with in_samples():
        return compile_path(name, sample_params(name))


def rendered_json(result: Compilation) -> str:
    return result.architecture.to_json() if result.ok and result.architecture else NO_OUTPUT


def rendered_diagnostics(result: Compilation) -> str:
    shown = [render(located, result.sources, color=False) for located in result.located()]
    return "\n\n".join(shown) + "\n" if shown else "(no diagnostics)\n"


def rendered_format(name: str) -> str:
    from scoot_lang.format import format_text

    files = sct_files(name)
    if not files:
        return "(not formatted: no .sct files)\n"
    folder = (SAMPLES / name).is_dir()
    chunks = []
    for file in files:
        relative = file.relative_to(SAMPLES).as_posix()
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            formatted: str | None = "(not formatted: the file is not UTF-8)\n"
        else:
            formatted, errors = format_text(text, relative)
            if formatted is None:
                assert errors, f"{relative}: format_text refused the file without saying why"
                formatted = "(not formatted: syntax errors)\n"
        chunks.append(f"// ===== {relative} =====\n{formatted}" if folder else formatted)
    return "\n".join(chunks)


def _params() -> list[object]:
    params = []
    for name in sample_names():
        marks = []
        if sample_id(name) in KNOWN_BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[sample_id(name)]))
        params.append(pytest.param(name, id=sample_id(name), marks=marks))
    return params


# --- the tests ------------------------------------------------------------------------


def test_there_are_enough_samples() -> None:
    names = sample_names()
    assert len(names) >= 40
    assert sum(name.endswith(".json") for name in names) >= 3
    assert any((SAMPLES / name).is_dir() and len(sct_files(name)) > 1 for name in names)


@pytest.mark.parametrize("name", _params())
def test_golden(name: str, snapshot) -> None:  # type: ignore[no-untyped-def]
    result = compile_sample(name)
    if sample_id(name) in KNOWN_BUGS:
        check_known_bug(sample_id(name), result)
        return

    # Whatever the input, the compiler reports; it never crashes, and every error
    # but the two about the path itself points at a place in a file it read.
    for located in result.located():
        d = located.diagnostic
        assert d.code in CODES
        if d.code not in ("SCT005", "SCT006", "SCT504"):
            assert located.start is not None, f"{d.code} has no position: {d.message}"
    assert result.ok == (result.architecture is not None)
    assert snapshot(extension_class=JsonFile) == rendered_json(result)
    assert snapshot(extension_class=DiagnosticsFile) == rendered_diagnostics(result)
    if result.ok:
        check_json_fixpoint(result)
        check_decompile_round_trip(result)

    if name.endswith(".json"):
        return
    formatted = rendered_format(name)
    assert snapshot(extension_class=FormattedFile) == formatted
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
        relative = file.relative_to(SAMPLES).as_posix()
        once, _ = format_text(text, relative)
        if once is None:
            return
        twice, _ = format_text(once, relative)
        assert twice == once, f"{relative}: formatting twice changes the text again"
        formatted[relative] = once
    if result.ok and formatted:
        with in_samples():
            again = compile_sources(formatted, sample_params(name))
        assert again.ok, [d.message for d in again.diagnostics]
        assert again.architecture is not None and result.architecture is not None
        assert again.architecture.to_json() == result.architecture.to_json()
        assert [d.code for d in again.diagnostics] == [d.code for d in result.diagnostics]


def check_known_bug(sample: str, result: Compilation) -> None:
    """What a sample of KNOWN_BUGS should give: each fails while its bug is there."""
    codes = [d.code for d in result.diagnostics]
    if sample == "let_used_by_earlier_let":
        assert result.ok and codes == []
    elif sample == "let_cycle":
        assert codes == ["SCT304"]
    elif sample == "unterminated_string_cascade":
        assert codes == ["SCT002"]
    elif sample in ("json_syntax.json", "json_truncated.json"):
        assert codes == ["SCT007"]
    elif sample == "json_duplicate_key.json":
        assert codes == ["SCT103"]
    elif sample == "two_bad_interpolations":
        found = [(d.code, d.message) for d in result.diagnostics]
        assert found == [
            ("SCT301", "`tile_host` is not defined"),
            ("SCT301", "`tile_path` is not defined"),
        ]
    elif sample == "ambiguous_with_output":
        assert "SCT302" in codes
    elif sample == "dollar_before_interpolation":
        # Either refused with an error at the string, or written so the reference survives.
        if result.ok:
            assert result.architecture is not None
            env = result.architecture.to_dict()["components"]["api"]["objects"]["web"]["env"]
            assert list(references_in(env["ESCAPED"])) == ["api.orders.path"]
            assert list(references_in(env["VIA_LET"])) == ["api.orders.path"]
            check_json_fixpoint(result)
        else:
            assert {located.start.line for located in result.located() if located.start} <= {13, 14}
    elif sample == "string_output_as_port":
        assert [(d.code, located.start.line if located.start else 0) for located in result.located() for d in [located.diagnostic]] == [("SCT204", 10)]
    else:
        raise AssertionError(f"no expectation written for the known bug of {sample}")


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
            seen.setdefault(d.code, []).append(sample_id(name))
    missing = sorted(set(CODES) - set(seen) - set(NOT_IN_SAMPLES))
    assert not missing, f"no sample shows {missing}: add one to tests/samples"
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
        if sample_id(name) in KNOWN_BUGS:
            continue
        assert named <= shown | set(NOT_IN_SAMPLES), f"{name} names {sorted(named - shown)} but does not show them"
        assert shown <= named, f"{name} shows {sorted(shown - named)}: name them in its first lines"
