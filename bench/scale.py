"""At scale: whole commands, as a user runs them, at 1,000 and 10,000 objects.

Run from anywhere:

    python bench/scale.py            # 1,000 and 10,000 objects (about a minute)
    python bench/scale.py --quick    # 100 and 1,000 objects (about 15 s; the smoke test)

Each figure is a whole process: `python -m scoot_cli ...` (this interpreter), the
local driver, storage objects of the `directory` engine, in an application folder
of a temporary directory; wall time from the start of the process to its exit, and
its peak resident memory (`ru_maxrss` of that one child, from `os.wait4`). Beside
them, measured in the same run: a bare interpreter start (`python -c pass`) and the
engine alone (`bench/apply.py`'s driver that only waits, at 0 s a call: the plan and
apply with neither the compiler, nor the CLI, nor a real driver). The sections:

1. whole commands: a no-op `scoot plan` and `scoot apply --yes` of new objects;
2. the AWS driver's calls per service of a no-op `scoot plan`, counted at moto's
   server: `bench/aws_calls.py`'s figures (20 and 200 objects; quick: 10 and 100),
   skipped with `--no-aws`.

It is a report, not a test: it exits 0 whether the targets are met or not.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import apply as engine  # noqa: E402  (bench/apply.py, beside this script: the engine alone)
from bytecode import cache_bytecode  # noqa: E402  (bench/bytecode.py)

TARGET_PLAN = 1.0  # seconds, a no-op `scoot plan` of 10,000 objects
TARGET_APPLY = 4.0  # seconds, `scoot apply --yes` of 10,000 new objects
TARGET_LINEAR = 11.0  # at 10x the objects, at most this many times the time
# Bytes: issue 17's 100 MB (decimal, 95.4 MiB), the peak resident memory of either command at
# 10,000 objects; printed in both units.
TARGET_MEMORY = 100e6
OBJECTS_A_COMPONENT = 100
MIB = 1024 * 1024


# --- the application ---------------------------------------------------------------


def architecture_text(n: int) -> str:
    """`n` storage objects of the `directory` engine, 100 to a component: `g003.s17`."""
    parts = ['application scale {\n  owner = "bench"\n}\n']
    for group in range((n + OBJECTS_A_COMPONENT - 1) // OBJECTS_A_COMPONENT):
        parts.append(f"\ncomponent g{group:03d} {{\n")
        for index in range(min(OBJECTS_A_COMPONENT, n - group * OBJECTS_A_COMPONENT)):
            parts.append(f'  storage s{index:02d} {{ engine = "directory" }}\n')
        parts.append("}\n")
    return "".join(parts)


def application(parent: Path, name: str, n: int) -> Path:
    """A fresh application folder of `n` objects (no scoot.toml: the defaults)."""
    root = parent / name
    root.mkdir(parents=True)
    (root / "architecture.sct").write_text(architecture_text(n), encoding="utf-8")
    return root


# --- measuring ---------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float  # user + system seconds of the process
    peak_mib: float  # ru_maxrss: KiB on Linux
    code: int
    output: str


def run(argv: list[str], cwd: Path) -> Run:
    """One whole process: its wall time, its CPU time, its own peak memory, its exit code and output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["NO_COLOR"] = "1"
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode, output)


def scoot(*args: str, cwd: Path) -> Run:
    return run([sys.executable, "-m", "scoot_cli", *args], cwd)


def bare(cwd: Path) -> Run:
    return run([sys.executable, "-c", "pass"], cwd)


def megabytes(mib: float) -> str:
    """A peak in MiB (as `ru_maxrss` counts) shown in MB too: the issue's unit."""
    return f"{mib * MIB / 1e6:.1f} MB ({mib:.1f} MiB)"


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class Whole:
    """The figures of one size: medians of the repetitions."""

    n: int
    plan: float
    apply: float
    bare: float
    plan_cpu: float
    apply_cpu: float
    plan_peak: float
    apply_peak: float
    engine_plan: float | None
    engine_apply: float | None


class Failed(Exception):
    """A command that did not do what the figure measures: NOT MEASURED, with why."""


def measure_size(tmp: Path, n: int, reps: int) -> Whole:
    """Apply-of-new and no-op plan of `n` objects, and a bare start, interleaved repetition by repetition."""
    applies: list[Run] = []
    plans: list[Run] = []
    bares: list[Run] = []
    applied: Path | None = None
    for rep in range(reps):
        root = application(tmp, f"n{n}-{rep}", n)
        done = scoot("apply", "--yes", str(root), cwd=tmp)
        if done.code != 0 or f"Apply complete: {n} done, 0 failed" not in done.output:
            raise Failed(f"the apply of {n:,} objects failed (exit {done.code}): {done.output[-400:]}")
        applies.append(done)
        applied = root
        planned = scoot("plan", str(root), cwd=tmp)
        if planned.code != 0 or "No changes" not in planned.output:
            raise Failed(f"the plan after the apply of {n:,} objects is not a no-op: {planned.output[-400:]}")
        plans.append(planned)
        bares.append(bare(tmp))
    assert applied is not None
    return Whole(
        n=n,
        plan=median([r.seconds for r in plans]),
        apply=median([r.seconds for r in applies]),
        bare=median([r.seconds for r in bares]),
        plan_cpu=median([r.cpu for r in plans]),
        apply_cpu=median([r.cpu for r in applies]),
        plan_peak=max(r.peak_mib for r in plans),
        apply_peak=max(r.peak_mib for r in applies),
        engine_plan=None,
        engine_apply=None,
    )


def measure_engine(tmp: Path, whole: Whole, reps: int) -> None:
    """The engine alone at the same size (bench/apply.py's driver, 0 s a call): plan + apply
    of new objects, then a no-op plan (refresh included; opening the runtime excluded)."""
    n = whole.n
    architecture = engine.independent(n)
    fast = engine.waiting(0.0, 0.0)
    applies: list[float] = []
    plans: list[float] = []
    for rep in range(reps):
        root = engine.folder(tmp, f"engine-{n}-{rep}")
        applied = engine.apply_once(root, architecture, fast)
        if applied.failed or applied.created != n:
            raise Failed(f"the engine-only apply of {n:,} did not converge: {applied.failed}")
        applies.append(applied.seconds)
        runtime = engine.open_runtime(root, architecture, fast)
        gc.collect()
        start = time.perf_counter()
        plan = asyncio.run(runtime.plan())
        plans.append(time.perf_counter() - start)
        if plan.has_changes:
            raise Failed(f"the engine-only plan of {n:,} is not a no-op: {plan.counts()}")
    whole.engine_apply = median(applies)
    whole.engine_plan = median(plans)


# --- the report --------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "NOT MEASURED" if ok is None else "PASS" if ok else "MISS"


def line(title: str, ok: bool | None, text: str) -> None:
    print(f"  {title:<40}  {verdict(ok)}  {text}")


def row(label: str, seconds: float | None, note: str) -> None:
    shown = "       -  " if seconds is None else f"{seconds:8.3f} s"
    print(f"   {label:<28}{shown}   {note}")


def report_size(whole: Whole) -> None:
    n = whole.n
    print(f"\n   {n:,} objects")
    row(
        "plan (no-op), whole",
        whole.plan,
        f"cpu {whole.plan_cpu:.3f} s, peak {megabytes(whole.plan_peak)}; {whole.plan / whole.bare:.0f}x a bare start",
    )
    row("plan, engine only", whole.engine_plan, "bench/apply.py's driver, reads of 0 s; opening excluded")
    row(
        "apply (new), whole",
        whole.apply,
        f"cpu {whole.apply_cpu:.3f} s, peak {megabytes(whole.apply_peak)}; {whole.apply / whole.bare:.0f}x a bare start",
    )
    row("apply, engine only", whole.engine_apply, "plan + apply, bench/apply.py's driver, calls of 0 s")
    row("python -c pass", whole.bare, "a bare interpreter start")
    if whole.engine_plan is not None and whole.engine_apply is not None:
        print(f"   whole / engine: plan {whole.plan / whole.engine_plan:.1f}x, apply {whole.apply / whole.engine_apply:.1f}x")


def section_whole(tmp: Path, sizes: tuple[int, int], reps: int) -> None:
    small, large = sizes
    print("\n1. whole commands: `scoot plan` (nothing to do) and `scoot apply --yes` (all new), local driver, directory storage")
    results: dict[int, Whole] = {}
    for n in sizes:
        try:
            whole = timed(f"whole commands at {n:,}", lambda n=n: measure_size(tmp, n, reps))
            try:
                measure_engine(tmp, whole, reps)
            except Failed as error:
                print(f"   engine only: NOT MEASURED ({error})")
            results[n] = whole
            report_size(whole)
        except Failed as error:
            line(f"commands at {n:,}", None, str(error))
    big = results.get(large)
    what = f"{large:,}" + ("" if large == 10_000 else " (quick: the 10,000-object targets, at this size)")
    print(f"\n   targets at {what}:")
    line(
        f"no-op plan of {large:,} <= {TARGET_PLAN:.1f} s",
        None if big is None else big.plan <= TARGET_PLAN,
        "-" if big is None else f"{big.plan:.3f} s",
    )
    line(
        f"apply of {large:,} new <= {TARGET_APPLY:.1f} s",
        None if big is None else big.apply <= TARGET_APPLY,
        "-" if big is None else f"{big.apply:.3f} s",
    )
    lesser = results.get(small)
    for name, pick in (("plan", lambda w: w.plan), ("apply", lambda w: w.apply)):
        if big is None or lesser is None:
            line(f"{name} linear ({large // small}x objects)", None, "a size above was not measured")
            continue
        ratio = pick(big) / pick(lesser)
        line(
            f"{name} linear: {large // small}x objects <= {TARGET_LINEAR:.0f}x",
            ratio <= TARGET_LINEAR,
            f"{ratio:.2f}x the time ({pick(lesser):.3f} s -> {pick(big):.3f} s)",
        )
    if big is not None and lesser is not None:
        more = large - small
        print(
            f"   an object more costs: plan {(big.plan - lesser.plan) / more * 1e6:.0f} µs, "
            f"apply {(big.apply - lesser.apply) / more * 1e6:.0f} µs (the difference between the two sizes)"
        )
    peak = None if big is None else max(big.plan_peak, big.apply_peak)
    line(
        f"peak memory at {large:,} <= {TARGET_MEMORY / 1e6:.0f} MB",
        None if peak is None else peak * MIB <= TARGET_MEMORY,
        "-" if big is None else f"plan {megabytes(big.plan_peak)}, apply {megabytes(big.apply_peak)}",
    )


def section_aws(quick: bool) -> None:
    """`bench/aws_calls.py`'s figures and report, with one verdict for the issue's bound."""
    print("\n2. AWS calls of a no-op `scoot plan` per service, counted at moto's server (bench/aws_calls.py)")
    try:
        import aws_calls  # bench/aws_calls.py, beside this script (moto and boto3: the [test] extra)

        start = time.perf_counter()
        found = aws_calls.figures(aws_calls.QUICK_UNITS if quick else aws_calls.UNITS)
        print(f"  measured the AWS calls in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    except Exception as error:  # no moto, no server, a command that failed: said, not raised
        line("AWS calls", None, f"{type(error).__name__}: {str(error)[-400:]}")
        return
    print("\n".join(f"   {text}" if text else "" for text in aws_calls.report(found).splitlines()))
    small, large = found.objects
    over = [row.service for row in found.rows if not row.passed]
    line(
        f"AWS calls: {large // small}x objects <= {aws_calls.BOUND:g}x calls",
        found.passed,
        "every service" if not over else f"over it: {', '.join(over)} (why: beside its figure)",
    )


def timed(what: str, fn: Callable[[], Whole]) -> Whole:
    """`fn()`, its duration on stderr."""
    start = time.perf_counter()
    result = fn()
    print(f"  measured {what} in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 and 1,000 objects, one repetition")
    ap.add_argument("--reps", type=int, default=0, help="repetitions per figure (default 3, quick 1)")
    ap.add_argument("--no-aws", action="store_true", help="leave out section 2 (the AWS calls, at moto's server)")
    args = ap.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    reps = args.reps or (1 if args.quick else 3)
    sizes = (100, 1_000) if args.quick else (1_000, 10_000)
    cache_bytecode(ROOT)
    print(f"Python {sys.version.split()[0]}; {os.cpu_count()} cores; median of {reps} repetition(s), interleaved")
    if args.quick:
        print("quick run: 100 and 1,000 objects; the 10,000-object targets are checked at 1,000")
    with tempfile.TemporaryDirectory(prefix="scoot-bench-scale-") as name:
        section_whole(Path(name), sizes, reps)
    if not args.no_aws:
        section_aws(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
