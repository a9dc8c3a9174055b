"""Hostile text through the real `scoot` command: a diagnostic with a code and a place,
in bounded time and memory, never a traceback or a hang (issue 12, item 5).

Every command runs in a new interpreter with a deadline: a hang fails its test by
timeout instead of hanging the suite. Memory is bounded by `RLIMIT_AS`, set by the
child itself above what it uses once Scoot is imported, so the figure does not
depend on the machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 60  # seconds; each of these commands takes about one
LOCATED = r"(?m)^{file}:(\d+):(\d+): error {code}: "

APPLICATION = 'application abyss {\n  owner = "acme"\n}\n'
COMPONENT = 'component probe {\n  compute sonar {\n    command = ["python3", "sonar.py"]\n  }\n}\n'

# The child of `scoot_limited`: Scoot's entry point under an address-space limit of
# what it has mapped once the compiler is loaded, plus `argv[1]` bytes.
_LIMITED = """
import resource, sys
import scoot_lang.compiler, scoot_cli
scoot_lang.compiler.compile_source('application warm { owner = "a" }')  # loads the grammar and the schemas
with open("/proc/self/status") as status:
    mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
limit = mapped + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.argv = ["scoot", *sys.argv[2:]]
scoot_cli.main()
"""


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(ROOT) + os.pathsep + environment.get("PYTHONPATH", "")
    return environment


def scoot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`scoot ARGS` in a new interpreter, with no terminal; it must end within DEADLINE."""
    return subprocess.run(
        [sys.executable, "-m", "scoot_cli", *args],
        cwd=cwd,
        env=_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )


def scoot_limited(memory: int, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`scoot ARGS` allowed `memory` bytes of address space beyond what it starts with."""
    return subprocess.run(
        [sys.executable, "-c", _LIMITED, str(memory), *args],
        cwd=cwd,
        env=_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )


def located(done: subprocess.CompletedProcess[str], file: str, code: str) -> tuple[int, int]:
    """The line and column of the first `code` diagnostic reported in `file`."""
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    found = re.search(LOCATED.format(file=re.escape(file), code=code), done.stderr)
    assert found is not None, done.stderr[-3000:]
    return int(found[1]), int(found[2])


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def app(folder: Path, architecture: str, settings: str = '[architecture]\npath = "."\n') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "architecture.sct").write_text(architecture, encoding="utf-8")
    (folder / "scoot.toml").write_text(settings, encoding="utf-8")
    return folder


@contextmanager
def fifo(path: Path) -> Iterator[Path]:
    """A FIFO at `path` that nobody writes to: reading it would wait forever."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    os.mkfifo(path)
    try:
        yield path
    finally:
        path.unlink()


# --- nesting -------------------------------------------------------------------------------


DEEP = APPLICATION + f"let x = {nested(500)}\n" + COMPONENT
# The bracket that goes one level past the limit of 64: `let x = ` and 64 brackets before it.
DEEP_COLUMN = len("let x = ") + 64 + 1


@pytest.mark.parametrize("command", [["validate"], ["compile"], ["fmt", "--check"], ["decompile"]])
def test_nesting_500_deep_is_a_diagnostic_at_the_bracket(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "deep.sct").write_text(DEEP, encoding="utf-8")
    if command == ["decompile"]:
        # decompile reads the JSON form: the same nesting, in JSON.
        head = json.dumps({"version": 1, "application": {"name": "abyss"}})[:-1]
        (tmp_path / "deep.json").write_text(f'{head}, "deep": {nested(500)}}}\n', encoding="utf-8")
        done = scoot(*command, "deep.json", cwd=tmp_path)
        assert done.returncode == 1
        assert located(done, "deep.json", "SCT009") == (1, len(head) + len(', "deep": ') + 67)
        return
    done = scoot(*command, "deep.sct", cwd=tmp_path)
    assert done.returncode == 1
    assert located(done, "deep.sct", "SCT009") == (4, DEEP_COLUMN)


def test_nesting_500_deep_in_json_input(tmp_path: Path) -> None:
    architecture = {
        "version": 1,
        "application": {"name": "abyss", "owner": "acme"},
        "components": {"probe": {"objects": {"sonar": {"kind": "compute", "command": ["x"], "env": {"DEEP": 0}}}}},
    }
    text = json.dumps(architecture).replace('"DEEP": 0', f'"DEEP": {nested(500)}')
    (tmp_path / "architecture.json").write_text(text, encoding="utf-8")
    done = scoot("validate", "architecture.json", cwd=tmp_path)
    assert done.returncode == 1
    # The arrays start 6 objects deep: the 62nd `[` is the 68th level, one past 67.
    assert located(done, "architecture.json", "SCT009") == (1, text.index("[[") + 62)


def test_nesting_500_deep_through_plan(tmp_path: Path) -> None:
    folder = app(tmp_path / "app", DEEP)
    done = scoot("plan", cwd=folder)
    assert done.returncode == 1
    assert located(done, "architecture.sct", "SCT009") == (4, DEEP_COLUMN)


def test_deep_values_built_from_lets_and_long_chains_of_lets_and_objects(tmp_path: Path) -> None:
    lets = [f"let a0 = {nested(60)}"] + [f"let a{i} = {nested(60, f'a{i - 1}')}" for i in range(1, 20)]
    chain = [f"let c{i} = c{i + 1}" for i in range(2000)] + ['let c2000 = "end"']
    objects = [f'  storage s{i} {{ engine = "sqlite", size = s{i + 1}.path }}' for i in range(1500)]
    text = (
        APPLICATION
        + "\n".join(lets + chain)
        + '\ncomponent probe {\n  compute sonar { command = [c0] }\n'
        + "\n".join(objects)
        + '\n  storage s1500 { engine = "sqlite" }\n}\n'
    )
    (tmp_path / "architecture.sct").write_text(text, encoding="utf-8")
    done = scoot("validate", ".", cwd=tmp_path)
    assert done.returncode == 1
    # `a1` is 120 levels deep with `a0`: refused there, and what uses it quietly follows.
    assert located(done, "architecture.sct", "SCT009") == (5, len("let a1 = ") + 1)
    # 2,000 lets, each the next, are folded; 1,500 objects, each referring to the next,
    # are checked for a cycle; neither recurses (`size` only takes a size: SCT204 each).
    assert done.stderr.count("error SCT009") == 1
    assert done.stderr.count("error SCT204") == 1500
    assert "SCT304" not in done.stderr


# The deepest text there may be, in each way of nesting: 64 levels.
DEEPEST = {
    "lists": f"let x = {nested(64)}",
    "maps": "let x = " + "{ a = " * 64 + "1" + " }" * 64,
    "calls": "let x = " + "file(" * 64 + '"a"' + ")" * 64,
    "interpolations": "let x = " + nested(62, '"${[1]}"'),
    "in an object": COMPONENT.replace('["python3", "sonar.py"]', f'["x"]\n    env = {{ A = {nested(61)} }}'),
    "from a let": f"let y = {nested(63)}\nlet x = [y]",
}
# Frames the deepest text may need in any stage: less than half of Python's default limit
# of 1,000, so that the stages keep working however deep their caller already is (an
# editor's server, a test runner). They take about 210 (3 a level at most).
HEADROOM = 400


@contextmanager
def recursion_headroom(frames: int) -> Iterator[None]:
    """Python's recursion limit set at `frames` beyond the current depth."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


@pytest.mark.parametrize("shape", list(DEEPEST))
def test_the_deepest_text_leaves_headroom_in_every_stage(shape: str) -> None:
    from scoot_lang import compile_sources
    from scoot_lang.format import format_text
    from scoot_lang.parser import MAX_NESTING

    text = APPLICATION + DEEPEST[shape] + "\n"
    one_more = APPLICATION + DEEPEST[shape].replace("[1]", "[[1]]").replace("{ a = 1", "{ a = { a = 1 }") + "\n"
    one_more = one_more.replace('file("a")', 'file(file("a"))')
    with recursion_headroom(HEADROOM):
        compiled = compile_sources({"architecture.sct": text})
        formatted, errors = format_text(text)
        too_deep = compile_sources({"architecture.sct": one_more})
    assert "SCT009" not in {d.code for d in compiled.diagnostics}, compiled.diagnostics
    assert formatted is not None and errors == []
    assert "SCT009" in {d.code for d in too_deep.diagnostics}
    assert MAX_NESTING == 64


def test_the_deepest_json_leaves_headroom() -> None:
    from scoot_lang import compile_sources

    def architecture(levels: int) -> str:
        """Arrays `levels` deep in all (6 objects around them), and a secret as deep as it may be."""
        head = '{"version": 1, "application": {"name": "abyss"}, "components": {"probe": {"objects": {"sonar": '
        # The string's `${` and `(` count as in `.sct`, where `env = {` is 3 levels, not 6.
        secret = nested(levels - 8, '"${secret(\\"A\\")}"')
        body = f'{{"kind": "compute", "command": ["x"], "env": {{"A": {nested(levels - 6)}, "B": {secret}}}}}'
        return head + body + "}}}}\n"

    with recursion_headroom(HEADROOM):
        deepest = compile_sources({"architecture.json": architecture(67)})
        too_deep = compile_sources({"architecture.json": architecture(68)})
    assert "SCT009" not in {d.code for d in deepest.diagnostics}, deepest.diagnostics
    assert [d.code for d in too_deep.diagnostics] == ["SCT009"]


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ('let v = "' + "\\q" * 200_000 + '"', 1),  # a bad escape every 2 characters, on one line
        ('let v = "' + '"' * 400_000, 1),  # a syntax error at every character
        ('let v = """\n' + " " * 400_000 + '\n  """', 0),  # a line of spaces to dedent
    ],
    ids=["bad escapes", "quotes", "spaces"],
)
def test_a_line_of_errors_is_reported_briefly(tmp_path: Path, line: str, status: int) -> None:
    """Found by the fuzz target: each took minutes (or printed gigabytes) before."""
    (tmp_path / "architecture.sct").write_text(APPLICATION + line + "\n" + COMPONENT, encoding="utf-8")
    done = scoot("validate", ".", cwd=tmp_path)
    assert "Traceback" not in done.stderr
    # At most 50 syntax errors a file, each with 200 characters of its line.
    assert len(done.stderr) < 50 * 600
    assert done.returncode == status, done.stderr[-2000:]


# --- file() --------------------------------------------------------------------------------


def test_file_paths_the_os_refuses_are_diagnostics_at_the_argument(tmp_path: Path) -> None:
    calls = {"NUL": 'file("a\\u0000b")', "LONG": f'file("{"n" * 300}")', "FOLDER": 'file("config")'}
    env = "\n".join(f"      {name} = {call}" for name, call in calls.items())
    text = APPLICATION + COMPONENT.replace("    command", f"    env = {{\n{env}\n    }}\n    command")
    (tmp_path / "architecture.sct").write_text(text, encoding="utf-8")
    (tmp_path / "config").mkdir()
    done = scoot("validate", ".", cwd=tmp_path)
    assert done.returncode == 1
    lines = text.splitlines()
    for name, call in calls.items():
        line = next(number for number, line in enumerate(lines, 1) if f"{name} = " in line)
        column = lines[line - 1].index(call) + len('file("')
        assert re.search(rf"(?m)^architecture\.sct:{line}:{column}: error SCT403: ", done.stderr), done.stderr
    assert "a path cannot hold a NUL character" in done.stderr
    assert "it is a folder, not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


FIFO_ARCHITECTURE = APPLICATION + COMPONENT.replace("    command", '    env = { MOTD = file("motd") }\n    command')


@pytest.mark.parametrize(
    "command", [["validate", "."], ["plan"], ["apply", "--yes"], ["destroy", "--yes"]], ids=lambda c: c[0]
)
def test_file_naming_a_fifo_is_refused_without_waiting(tmp_path: Path, command: list[str]) -> None:
    folder = app(tmp_path / "app", FIFO_ARCHITECTURE)
    with fifo(folder / "motd"):
        done = scoot(*command, cwd=folder)
    assert located(done, "architecture.sct", "SCT403") == (6, len('    env = { MOTD = file("'))
    assert "it is a FIFO (named pipe), not a regular file" in done.stderr
    # destroy goes by scoot.lock when the architecture has errors (and there is nothing to destroy).
    assert done.returncode == (0 if command[0] == "destroy" else 1), done.stderr


def test_file_reads_at_most_one_mib(tmp_path: Path) -> None:
    (tmp_path / "architecture.sct").write_text(FIFO_ARCHITECTURE, encoding="utf-8")
    (tmp_path / "motd").write_bytes(b"x" * (1024 * 1024 + 1))
    done = scoot("validate", ".", cwd=tmp_path)
    assert done.returncode == 1
    assert located(done, "architecture.sct", "SCT403") == (6, len('    env = { MOTD = file("'))
    assert "it is larger than 1 MiB" in done.stderr
    (tmp_path / "motd").write_bytes(b"x" * (1024 * 1024))
    assert scoot("validate", ".", cwd=tmp_path).returncode == 0


# --- the source files and [architecture] path ------------------------------------------------------


def test_architecture_path_dev_zero_is_refused_by_plan(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    folder = app(tmp_path / "app", APPLICATION, '[architecture]\npath = "/dev/zero"\n')
    done = scoot("plan", cwd=folder)
    assert done.returncode == 1
    assert '[architecture] `path` = "/dev/zero" is a character device' in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("where", ["architecture path", "scoot.toml", "an .sct file of the folder", "the file given"])
def test_fifos_where_sources_and_settings_are_read(tmp_path: Path, where: str) -> None:
    folder = app(tmp_path / "app", APPLICATION + COMPONENT)
    if where == "architecture path":
        (folder / "scoot.toml").write_text('[architecture]\npath = "pipe.sct"\n', encoding="utf-8")
        with fifo(folder / "pipe.sct"):
            done = scoot("plan", cwd=folder)
        assert '[architecture] `path` = "pipe.sct" is a FIFO (named pipe)' in done.stderr
    elif where == "scoot.toml":
        (folder / "scoot.toml").unlink()
        with fifo(folder / "scoot.toml"):
            done = scoot("plan", cwd=folder)
        assert "scoot.toml: cannot read it: it is a FIFO (named pipe), not a regular file" in done.stderr
    elif where == "an .sct file of the folder":
        with fifo(folder / "more.sct"):
            done = scoot("validate", ".", cwd=folder)
        assert re.search(r"(?m)^more\.sct: error SCT005: cannot read `more\.sct`: it is a FIFO", done.stderr), done.stderr
    else:
        with fifo(folder / "pipe.sct"):
            done = scoot("validate", "pipe.sct", cwd=folder)
        assert re.search(r"(?m)^pipe\.sct: error SCT005: cannot read `pipe\.sct`: it is a FIFO", done.stderr), done.stderr
    assert done.returncode == 1
    assert "Traceback" not in done.stderr


def test_scoot_toml_nested_thousands_deep_is_a_settings_error(tmp_path: Path) -> None:
    folder = app(tmp_path / "app", APPLICATION + COMPONENT, f"[params]\nx = {nested(3000)}\n")
    done = scoot("plan", cwd=folder)
    assert done.returncode == 1
    assert "scoot.toml: arrays or tables nest too deep to read" in done.stderr
    assert "internal error" not in done.stderr


def test_sources_larger_than_four_mib_are_refused_before_they_are_read(tmp_path: Path) -> None:
    literal = "x" * (3 * 1024 * 1024)
    (tmp_path / "a.sct").write_text(APPLICATION + f'let a = "{literal}"\n', encoding="utf-8")
    (tmp_path / "b.sct").write_text(COMPONENT + f'let b = "{literal}"\n', encoding="utf-8")
    done = scoot("validate", ".", cwd=tmp_path)
    assert done.returncode == 1
    assert re.search(r"(?m)^b\.sct: error SCT005: cannot read `b\.sct`: it is larger than", done.stderr), done.stderr
    assert "the files of a unit hold at most 4 MiB together" in done.stderr


# --- memory ----------------------------------------------------------------------------------


LITERALS: dict[str, Callable[[int], str]] = {
    "plain": lambda n: 'let big = "' + "x" * n + '"',
    "dollars and escapes": lambda n: 'let big = "' + "$a" * (n // 4) + "\\n" * (n // 4) + '"',
    "many lines": lambda n: 'let big = """\n' + "  ab\n" * (n // 5) + '  """',
}


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmSize from /proc")
@pytest.mark.parametrize("shape", list(LITERALS))
def test_a_string_literal_of_megabytes_compiles_in_a_few_times_its_size(tmp_path: Path, shape: str) -> None:
    size = 3_900_000  # under the 4 MiB limit; it took ~150 bytes of memory a byte before
    text = APPLICATION + LITERALS[shape](size) + "\n" + COMPONENT.replace('["python3", "sonar.py"]', "[big]")
    (tmp_path / "architecture.sct").write_text(text, encoding="utf-8")
    done = scoot_limited(20 * size, "compile", ".", "-o", "architecture.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    assert len((tmp_path / "architecture.json").read_bytes()) > size // 2


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmSize from /proc")
def test_a_json_string_of_megabytes_reads_in_a_few_times_its_size(tmp_path: Path) -> None:
    size = 3_900_000
    architecture = {
        "version": 1,
        "application": {"name": "abyss", "owner": "acme"},
        "components": {"probe": {"objects": {"sonar": {"kind": "compute", "command": ["$" * size]}}}},
    }
    (tmp_path / "architecture.json").write_text(json.dumps(architecture), encoding="utf-8")
    done = scoot_limited(20 * size, "validate", "architecture.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmSize from /proc")
def test_lets_that_multiply_a_value_are_refused_before_it_is_built(tmp_path: Path) -> None:
    """A few hundred bytes that would build terabytes (each let ten of the one before)."""
    lines = ['let s0 = "' + "ha" * 50 + '"', 'let l0 = ["ha"]']
    for i in range(1, 12):
        lines.append(f'let s{i} = "' + f"${{s{i - 1}}}" * 10 + '"')
        lines.append(f"let l{i} = [" + ", ".join([f"l{i - 1}"] * 10) + "]")
    component = COMPONENT.replace('["python3", "sonar.py"]', "l11\n    env = { ECHO = s11 }")
    (tmp_path / "architecture.sct").write_text(APPLICATION + "\n".join(lines) + "\n" + component, encoding="utf-8")
    done = scoot_limited(256 * 1024 * 1024, "validate", ".", cwd=tmp_path)
    assert done.returncode == 1
    assert located(done, "architecture.sct", "SCT010") == (16, len("let s6 = ") + 1)  # 100 MB
    assert "the architecture's values would come to more than 64 MiB" in done.stderr
