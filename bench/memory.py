"""Compiler memory: peak memory of compiling big string literals, against the input's size.

Run from anywhere:

    python bench/memory.py            # 5 MB and 50 MB literals, and the other shapes at 5 MB
    python bench/memory.py --quick    # 1 MB and 5 MB literals, the other shapes at 1 MB

Each figure is the peak resident memory (`ru_maxrss`) of a fresh interpreter, measured
against references taken in the same run: `base`, an interpreter that has loaded the
compiler and compiled a tiny architecture (the grammar and the schemas loaded), and
`read`, the same that has also read the input into a string. What compiling costs is
the peak over `base`; the ratio divides it by the input's size in bytes (the text of
an ASCII file in memory is about its size: `read - base` is printed to show it). The
text is compiled with `compile_source` (the text API, which has no size limit) and the
JSON form written, as `scoot compile` does; `scoot validate` on the file itself is run
too, which refuses sources over the 4 MiB limit before reading them. It is a report,
not a test: it exits 0 whether the targets are met or not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report import table  # bench/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000
TARGET_LITERAL = 10.0  # extra peak memory / input size, for a string literal: at most this
TARGET_REFUSED = 20 * MB  # extra peak memory of a refusal (a source too large, lets that explode): under this

# The child: load the compiler and warm it up, then do what argv[1] says with the file
# argv[2]; print its peak resident memory (bytes) and the seconds the work took.
_CHILD = """
import json, resource, sys, time
from scoot_lang import compile_source
compile_source('application warm { owner = "a" }')
what, path = sys.argv[1], sys.argv[2]
started = time.perf_counter()
if what != "base":
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
if what == "compile":
    result = compile_source(text, "big.json" if path.endswith(".json") else "big.sct")
    if result.architecture is not None:
        result.architecture.to_json()
    codes = sorted({d.code for d in result.diagnostics})
else:
    codes = []
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
print(json.dumps({"peak": peak, "seconds": seconds, "codes": codes}))
"""

APPLICATION = 'application big {\n  owner = "acme"\n}\n'
USE = 'component c {\n  compute w {\n    command = ["python3", "-u", "w.py"]\n    env = { BIG = big }\n  }\n}\n'


def literal(body: str) -> str:
    return APPLICATION + f'let big = "{body}"\n' + USE


def sct_plain(n: int) -> str:
    return literal("x" * n)


def sct_escapes_and_dollars(n: int) -> str:
    return literal("$a" * (n // 4) + "\\n" * (n // 4))


def sct_lines(n: int) -> str:
    return APPLICATION + 'let big = """\n' + "    one line\n" * (n // 13) + '  """\n' + USE


def json_string(n: int) -> str:
    architecture = {
        "version": 1,
        "application": {"name": "big", "owner": "acme"},
        "components": {"c": {"objects": {"w": {"kind": "compute", "command": ["x"], "env": {"BIG": "$$" * (n // 2)}}}}},
    }
    return json.dumps(architecture)


def sct_names(n: int) -> str:
    """Text made only of references: the most memory a byte of text can cost (informative)."""
    return APPLICATION + "let a = 1\nlet big = [" + "a," * (n // 2) + "]\n" + USE.replace("BIG = big", "N = a")


def sct_exploding(n: int) -> str:
    """A few hundred bytes of lets that would build terabytes: refused before they are built."""
    lines = ['let s0 = "' + "ha" * 50 + '"']
    lines += [f'let s{i} = "' + f"${{s{i - 1}}}" * 10 + '"' for i in range(1, 13)]
    return APPLICATION + "\n".join(lines) + "\nlet big = s12\n" + USE


@dataclass
class Shape:
    name: str
    make: Callable[[int], str]
    suffix: str
    kind: str  # "literal": held to TARGET_LITERAL; "refused": to TARGET_REFUSED; "info": printed only


SHAPES = [
    Shape("one-line literal", sct_plain, ".sct", "literal"),
    Shape("literal of $ and escapes", sct_escapes_and_dollars, ".sct", "literal"),
    Shape('""" literal of short lines', sct_lines, ".sct", "literal"),
    Shape("JSON string of $", json_string, ".json", "literal"),
    Shape("names only ([a, a, ...])", sct_names, ".sct", "info"),
    Shape("lets that explode (s12)", sct_exploding, ".sct", "refused"),
]


def child(what: str, path: Path, timeout: float) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, what, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def validate_file(path: Path, timeout: float) -> tuple[int, str]:
    """`scoot validate FILE` through the entry point: its peak memory and its first diagnostic code."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    script = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'scoot_cli', 'validate', sys.argv[1]], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * (1 if sys.platform == 'darwin' else 1024)\n"
        "codes = [w for w in done.stderr.split() if w.startswith('SCT')]\n"
        "print(peak, (codes[0].rstrip(':') if codes else 'ok'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], env=env, capture_output=True, text=True, timeout=timeout)
    peak, code = done.stdout.split()
    return int(peak), code


def mb(size: float) -> str:
    return f"{size / MB:,.1f} MB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 MB and 5 MB literals, the other shapes at 1 MB")
    ap.add_argument("--timeout", type=float, default=600, help="seconds a measurement may take (default 600)")
    ap.add_argument("--write", nargs=3, metavar=("SHAPE", "SIZE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.write:
        name, size, path = args.write
        shape = next(shape for shape in SHAPES if shape.name == name)
        Path(path).write_text(shape.make(int(size)), encoding="utf-8")
        return 0
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)

    small, large = (1 * MB, 5 * MB) if args.quick else (5 * MB, 50 * MB)
    # Text made only of names costs hundreds of times its size: a fifth of the size is enough to show it.
    plan = [(SHAPES[0], small), (SHAPES[0], large)]
    plan += [(shape, small // 5 if shape.kind == "info" else small) for shape in SHAPES[1:]]
    print(f"Python {sys.version.split()[0]}; peak resident memory of a fresh interpreter per figure\n")

    rows: list[list[str]] = []
    verdicts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="scoot-bench-memory-") as folder:
        empty = Path(folder) / "empty.sct"
        empty.write_text("", encoding="utf-8")
        base = int(child("base", empty, args.timeout)["peak"])
        for shape, size in plan:
            path = Path(folder) / f"input{shape.suffix}"
            # Written by another process: a child's peak counts what this one holds when
            # it forks, and the allocator does not always give a big text's memory back.
            subprocess.run(
                [sys.executable, __file__, "--write", shape.name, str(size), str(path)], check=True, timeout=args.timeout
            )
            size_bytes = path.stat().st_size
            print(f"  measuring {shape.name}, {mb(size_bytes)}", file=sys.stderr, flush=True)
            try:
                read = int(child("read", path, args.timeout)["peak"])
                compiled = child("compile", path, args.timeout)
                peak = int(compiled["peak"])
                seconds = float(compiled["seconds"])
                codes = ",".join(compiled["codes"]) or "-"
                cli_peak, cli_code = validate_file(path, args.timeout)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                rows.append([shape.name, mb(size_bytes), "NOT MEASURED", str(error)[:60], "", "", "", ""])
                verdicts.append(f"  {shape.name} ({mb(size_bytes)}): NOT MEASURED")
                continue
            extra = peak - base
            ratio = extra / size_bytes
            rows.append(
                [
                    shape.name,
                    mb(size_bytes),
                    mb(read - base),
                    mb(extra),
                    f"{ratio:.1f}x" if shape.kind != "refused" else "-",
                    f"{seconds:.2f} s",
                    codes,
                    f"{cli_code} ({mb(cli_peak - base)})",
                ]
            )
            if shape.kind == "literal":
                verdicts.append(
                    f"  {shape.name + f' ({mb(size_bytes)})':<40} extra <= {TARGET_LITERAL:.0f}x input   "
                    f"{'PASS' if ratio <= TARGET_LITERAL else 'MISS'}  ({ratio:.1f}x)"
                )
            elif shape.kind == "refused":
                verdicts.append(
                    f"  {shape.name + f' ({mb(size_bytes)})':<40} refused, extra < {mb(TARGET_REFUSED)}   "
                    f"{'PASS' if codes != '-' and extra < TARGET_REFUSED else 'MISS'}  ({codes}, {mb(extra)})"
                )
    print(f"base (compiler loaded): {mb(base)}\n")
    header = ["input", "size", "read - base", "compile - base", "ratio", "time", "codes", "scoot validate FILE"]
    print(table(header, rows))
    print(
        "\ncompile = compile_source(text) and the JSON form written; ratio = (compile - base) / size;"
        "\nscoot validate FILE = the command on the file (SCT005: over the 4 MiB source limit) and its"
        "\npeak over base. 'names only' is informative: each name is a reference, with its syntax"
        "\nnode and its record for the editor tools, a few hundred bytes a byte of text."
    )
    print("\ntargets")
    print("\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
