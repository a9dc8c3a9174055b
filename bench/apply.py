"""Runtime benchmarks: the engine's own cost around a driver that only waits.

Run from anywhere:

    python bench/apply.py            # 1,000 / chain 20 / 10,000 objects (about 30 s)
    python bench/apply.py --quick    # 200 / chain 5 / 1,000 objects (a few seconds; the smoke test)

The driver (`WaitDriver`, defined here) does nothing but `await asyncio.sleep(...)`
in each call and returns a deterministic identity and outputs, and declares no
parallelism limit of its own, so every figure is the engine's: scheduling,
reference resolution, the journal (one fsynced line before and after each call)
and the single write of `scoot.lock`. Each figure is printed beside its
theoretical bound (what an engine with no cost of its own would take at the same
parallelism) and beside a bare-asyncio reference measured in the same run: the
same sleeps under the same semaphore, with no engine at all. The figures are
medians of several repetitions, each on a fresh application folder, with
`gc.collect()` before each, and the engine and the reference interleaved. It is
a report, not a test: it exits 0 whether the targets are met or not.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scoot_model.objects import (  # noqa: E402
    Application,
    Architecture,
    Component,
    Compute,
    EnvValue,
    SctObject,
    Storage,
)
from scoot_runtime import workspace as workspaces  # noqa: E402
from scoot_runtime.drivers.base import (  # noqa: E402
    CloudDriver,
    Created,
    DriverContext,
    ObjectSpec,
    Observed,
    Recorded,
)
from scoot_runtime.engine import DEFAULT_PARALLELISM, Runtime  # noqa: E402
from scoot_runtime.plan import Action  # noqa: E402
from scoot_runtime.reconciler import ApplyResult  # noqa: E402
from scoot_runtime.state import STATE_FILE  # noqa: E402

CALL = 0.1  # seconds a driver call takes
TERRAFORM_PARALLELISM = 10  # Terraform's default -parallelism
TARGET_INDEPENDENT = 2.0  # seconds, plan + apply of 1,000 independent objects
TARGET_CHAIN = 1.1  # times depth x CALL, plan + apply of a chain
TARGET_NOOP = 1.0  # seconds, a no-op plan of 10,000 objects
TARGET_LINEAR = 1.1  # (bytes per object at 10x the objects) / (bytes per object): at most this


# --- the driver ------------------------------------------------------------------


class WaitDriver(CloudDriver):
    """A driver that only waits: each call sleeps `delay` seconds (reads `read_delay`).

    Identity and outputs are a function of the address alone, so a read with no
    record (after a crash) would find the same thing; it keeps no world, so such a
    read finds nothing. `parallelism = None`: it sets no limit of its own.
    """

    name: ClassVar[str] = "wait"
    parallelism: ClassVar[int | None] = None
    delay: ClassVar[float] = CALL
    read_delay: ClassVar[float] = CALL

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.calls: dict[str, int] = {"create": 0, "read": 0, "update": 0, "delete": 0}
        # The resolved configuration each create or update was given, by address.
        self.given: dict[str, dict[str, Any]] = {}

    @staticmethod
    def made(spec: ObjectSpec) -> Created:
        return Created({"id": f"wait-{spec.address}"}, {"path": f"/wait/{spec.address}"})

    async def create(self, spec: ObjectSpec) -> Created:
        self.calls["create"] += 1
        await asyncio.sleep(self.delay)
        self.given[str(spec.address)] = dict(spec.config)
        return self.made(spec)

    async def read(self, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        self.calls["read"] += 1
        await asyncio.sleep(self.read_delay)
        if recorded is None:
            return None
        made = self.made(spec)
        return Observed(made.identity, made.outputs)

    async def update(self, spec: ObjectSpec, recorded: Recorded) -> Created:
        self.calls["update"] += 1
        await asyncio.sleep(self.delay)
        self.given[str(spec.address)] = dict(spec.config)
        return self.made(spec)

    async def delete(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> None:
        self.calls["delete"] += 1
        await asyncio.sleep(self.delay)


def waiting(delay: float, read_delay: float) -> type[WaitDriver]:
    """A WaitDriver whose calls take `delay` seconds and whose reads take `read_delay`."""
    return type("WaitDriver", (WaitDriver,), {"delay": delay, "read_delay": read_delay})


# --- the architectures -------------------------------------------------------------


def independent(n: int) -> Architecture:
    """`n` storage objects, 100 to a component, referring to nothing: `g003.s17`.

    Names have a fixed width whatever `n` (up to 100,000), so the bytes per object
    are the same at every size.
    """
    components: dict[str, dict[str, SctObject]] = {}
    for i in range(n):
        components.setdefault(f"g{i // 100:03d}", {})[f"s{i % 100:02d}"] = Storage(engine="sqlite")
    return Architecture(
        application=Application(name="bench"),
        components={name: Component(objects=objects) for name, objects in components.items()},
    )


def chain(depth: int) -> Architecture:
    """`depth` compute objects, each given the previous one's output: `UP = ${chain.c03.path}`."""
    objects: dict[str, SctObject] = {}
    for i in range(depth):
        env: dict[str, EnvValue] = {"UP": f"${{chain.c{i - 1:02d}.path}}"} if i else {}
        objects[f"c{i:02d}"] = Compute(command=["true"], env=env)
    return Architecture(
        application=Application(name="bench"),
        components={"chain": Component(source="./src", objects=objects)},
    )


def folder(parent: Path, name: str) -> Path:
    """A fresh application folder (no scoot.toml: the defaults), with a source folder."""
    root = parent / name
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print('hello')\n", encoding="utf-8")
    return root


def open_runtime(root: Path, architecture: Architecture, driver: type[WaitDriver]) -> Runtime:
    return Runtime.open(workspaces.load(root), architecture, driver_class=driver)


# --- measuring ---------------------------------------------------------------------


@dataclass
class Applied:
    seconds: float  # plan + apply
    plan_seconds: float
    created: int
    failed: dict[str, str]
    lock_bytes: int
    journal_bytes: int
    given: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def state_bytes(self) -> int:
        return self.lock_bytes + self.journal_bytes


def apply_once(root: Path, architecture: Architecture, driver: type[WaitDriver]) -> Applied:
    """Open, then time plan + apply (what `scoot apply --yes` does after compiling)."""
    runtime = open_runtime(root, architecture, driver)

    async def run() -> tuple[float, float, ApplyResult]:
        start = time.perf_counter()
        plan = await runtime.plan()
        planned = time.perf_counter()
        result = await runtime.apply(plan)
        return time.perf_counter() - start, planned - start, result

    gc.collect()
    seconds, plan_seconds, result = asyncio.run(run())
    wait = runtime.driver
    assert isinstance(wait, WaitDriver)
    return Applied(
        seconds=seconds,
        plan_seconds=plan_seconds,
        created=wait.calls["create"],
        failed={**result.failed, **result.skipped},
        lock_bytes=(root / STATE_FILE).stat().st_size,
        journal_bytes=runtime.store.journal.bytes_written,
        given=wait.given,
    )


def bare(n: int, parallelism: int, depth: int = 1) -> float:
    """The reference: `n` chains of `depth` sleeps of CALL under a Semaphore(parallelism), no engine."""

    async def one(limit: asyncio.Semaphore) -> None:
        for _ in range(depth):
            async with limit:
                await asyncio.sleep(CALL)

    async def run() -> float:
        limit = asyncio.Semaphore(parallelism)
        start = time.perf_counter()
        await asyncio.gather(*(one(limit) for _ in range(n)))
        return time.perf_counter() - start

    gc.collect()
    return asyncio.run(run())


def interleave(reps: int, *runs: Callable[[int], Any]) -> list[list[Any]]:
    """Each run `reps` times, interleaved repetition by repetition."""
    results: list[list[Any]] = [[] for _ in runs]
    for rep in range(reps):
        for index, run in enumerate(runs):
            results[index].append(run(rep))
    return results


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- the report --------------------------------------------------------------------


def figure(label: str, seconds: float, note: str) -> None:
    print(f"   {label:<24}{seconds:8.3f} s   {note}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def line(title: str, ok: bool | None, text: str) -> None:
    mark = "NOT MEASURED" if ok is None else verdict(ok)
    print(f"  {title:<40}  {mark}  {text}")


@dataclass
class Sizes:
    independent: int
    depth: int
    noop: int
    reps: int

    @property
    def small(self) -> int:
        return self.noop // 10


def measure_independent(tmp: Path, sizes: Sizes) -> Applied | None:
    n = sizes.independent
    bound = math.ceil(n / DEFAULT_PARALLELISM) * CALL
    terraform = math.ceil(n / TERRAFORM_PARALLELISM) * CALL
    architecture = independent(n)
    driver = waiting(CALL, CALL)
    engine_runs, bare_runs = interleave(
        sizes.reps,
        lambda rep: apply_once(folder(tmp, f"independent-{rep}"), architecture, driver),
        lambda rep: bare(n, DEFAULT_PARALLELISM),
    )
    first: Applied = engine_runs[0]
    print(
        f"\n1. apply of {n:,} independent objects, {CALL * 1000:.0f} ms a call, default parallelism {DEFAULT_PARALLELISM}"
    )
    if any(run.failed or run.created != n for run in engine_runs):
        why = f"the apply did not converge: {first.created} created, failures {first.failed}"
        line(f"{n:,} independent", None, why)
        return None
    seconds = median([run.seconds for run in engine_runs])
    plan_seconds = median([run.plan_seconds for run in engine_runs])
    reference = median(bare_runs)
    # 2 s at 1,000 objects is 1.25x the bound there; smaller sizes keep that margin.
    target = TARGET_INDEPENDENT * bound / (math.ceil(1_000 / DEFAULT_PARALLELISM) * CALL)
    figure("plan + apply", seconds, f"(of which plan {plan_seconds:.3f} s)")
    figure(
        f"bound at {DEFAULT_PARALLELISM}", bound, f"ceil({n:,}/{DEFAULT_PARALLELISM}) x {CALL} s"
    )
    figure(
        f"bare asyncio at {DEFAULT_PARALLELISM}",
        reference,
        f"the same sleeps under a Semaphore({DEFAULT_PARALLELISM}), no engine",
    )
    figure(
        "Terraform's default 10",
        terraform,
        f"ceil({n:,}/{TERRAFORM_PARALLELISM}) x {CALL} s (the bound at -parallelism=10)",
    )
    print(
        f"   engine / bound {seconds / bound:.2f}x; engine / bare {seconds / reference:.2f}x; "
        f"engine overhead {(seconds - reference) / n * 1e6:,.0f} µs an object; "
        f"{terraform / seconds:.1f}x faster than Terraform's bound"
    )
    line(
        f"{n:,} independent <= {target:.1f} s",
        seconds <= target,
        f"{seconds:.3f} s (bound {bound:.3f} s)",
    )
    return first


def measure_chain(tmp: Path, sizes: Sizes) -> None:
    depth = sizes.depth
    bound = depth * CALL
    target = TARGET_CHAIN * bound
    architecture = chain(depth)
    driver = waiting(CALL, CALL)
    engine_runs, bare_runs = interleave(
        sizes.reps,
        lambda rep: apply_once(folder(tmp, f"chain-{rep}"), architecture, driver),
        lambda rep: bare(1, DEFAULT_PARALLELISM, depth),
    )
    first: Applied = engine_runs[0]
    print(
        f"\n2. a chain {depth} deep (each compute given the previous one's output), {CALL * 1000:.0f} ms a call"
    )
    last = f"chain.c{depth - 1:02d}"
    expected = f"/wait/chain.c{depth - 2:02d}"
    if any(run.failed or run.created != depth for run in engine_runs):
        why = f"the apply did not converge: {first.created} created, failures {first.failed}"
        line(f"chain {depth}", None, why)
        return
    got = first.given.get(last, {}).get("env", {}).get("UP")
    if got != expected:
        why = f"{last} was given UP = {got!r}, not {expected!r}: references were not resolved"
        line(f"chain {depth}", None, why)
        return
    seconds = median([run.seconds for run in engine_runs])
    reference = median(bare_runs)
    figure("plan + apply", seconds, f"({last} was given UP = {got!r})")
    figure("bound", bound, f"{depth} x {CALL} s, one call after another")
    figure("bare asyncio", reference, f"{depth} sleeps one after another, no engine")
    print(
        f"   engine / bound {seconds / bound:.3f}x; engine / bare {seconds / reference:.3f}x; "
        f"engine overhead {(seconds - reference) / depth * 1e3:.1f} ms a link"
    )
    line(
        f"chain {depth} <= {TARGET_CHAIN} x {depth} x {CALL} s",
        seconds <= target,
        f"{seconds:.3f} s (target {target:.2f} s, bound {bound:.2f} s)",
    )


@dataclass
class NoopResult:
    setup: Applied
    plans: list[float]
    load_seconds: float
    counts: dict[str, int]
    reads: int


def measure_noop(tmp: Path, sizes: Sizes) -> NoopResult | None:
    """Apply `noop` objects once with calls of 0 s, then time `runtime.plan()` with reads of 0 s."""
    n = sizes.noop
    root = folder(tmp, "noop")
    architecture = independent(n)
    fast = waiting(0.0, 0.0)
    setup = apply_once(root, architecture, fast)
    print(f"\n3. a no-op plan of {n:,} objects (refresh included; the driver's reads take 0 s)")
    if setup.failed or setup.created != n:
        why = f"the first apply did not converge: {setup.created} created, failures {setup.failed}"
        line(f"no-op plan of {n:,}", None, why)
        return None
    plans: list[float] = []
    loads: list[float] = []
    counts: dict[str, int] = {}
    reads = 0
    for _ in range(sizes.reps):
        gc.collect()
        start = time.perf_counter()
        runtime = open_runtime(root, architecture, fast)
        loads.append(time.perf_counter() - start)
        gc.collect()
        start = time.perf_counter()
        plan = asyncio.run(runtime.plan())
        plans.append(time.perf_counter() - start)
        counts = plan.counts()
        wait = runtime.driver
        assert isinstance(wait, WaitDriver)
        reads = wait.calls["read"]
        if plan.has_changes:
            changed = [c.address for c in plan.changes if c.action is not Action.NOOP]
            why = f"the second plan is not a no-op: {counts}, e.g. {changed[:3]}"
            line(f"no-op plan of {n:,}", None, why)
            return None
    seconds = median(plans)
    target = TARGET_NOOP * n / 10_000
    figure(
        "plan",
        seconds,
        f"({counts['no-op']:,} no-op, {reads:,} reads; {seconds / n * 1e6:.0f} µs an object)",
    )
    figure("bound", 0, "the driver takes no time: this is the engine alone")
    figure(
        "open (informative)",
        median(loads),
        "read scoot.lock + build the desired objects, outside the timing",
    )
    line(
        f"no-op plan of {n:,} <= {target:.1f} s",
        seconds <= target,
        f"{seconds:.3f} s (engine only)",
    )
    return NoopResult(setup, plans, median(loads), counts, reads)


def measure_bytes(sizes: Sizes, small: Applied | None, large: Applied | None) -> None:
    print(
        "\n4. bytes of state written by an apply (scoot.lock + the journal lines written during it)"
    )
    if small is None or large is None:
        line("state bytes grow linearly", None, "an apply above did not converge")
        return
    rows = [(sizes.small, small), (sizes.noop, large)]
    for n, applied in rows:
        print(
            f"   {n:>7,} objects  lock {applied.lock_bytes:>11,} B  journal {applied.journal_bytes:>11,} B"
            f"  total {applied.state_bytes:>11,} B  ({applied.state_bytes / n:,.0f} B an object)"
        )
    ratio = large.state_bytes / small.state_bytes
    size_ratio = sizes.noop / sizes.small
    growth = ratio / size_ratio
    print(
        f"   {size_ratio:.0f}x the objects -> {ratio:.2f}x the bytes "
        f"(linear: {size_ratio:.0f}x; quadratic: {size_ratio**2:.0f}x)"
    )
    line(
        f"state bytes linear (~{size_ratio:.0f}x)",
        growth <= TARGET_LINEAR,
        f"{ratio:.2f}x for {size_ratio:.0f}x the objects ({growth:.3f} of linear)",
    )


def small_apply(tmp: Path, sizes: Sizes) -> Applied | None:
    """The state bytes of `sizes.small` objects, with the same driver as the large one (calls of 0 s)."""
    applied = apply_once(folder(tmp, "small"), independent(sizes.small), waiting(0.0, 0.0))
    return applied if not applied.failed and applied.created == sizes.small else None


def timed(what: str, fn: Callable[[], Any]) -> Any:
    """`fn()`, its duration on stderr; an error is reported as NOT MEASURED, not raised."""
    start = time.perf_counter()
    try:
        result = fn()
    except Exception as error:
        line(what, None, f"{type(error).__name__}: {error}")
        return None
    print(f"  measured {what} in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="200 / chain 5 / 1,000 objects, fewer repetitions"
    )
    ap.add_argument(
        "--reps", type=int, default=0, help="repetitions per timing (default: 3, quick: 1)"
    )
    args = ap.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)

    reps = args.reps or (1 if args.quick else 3)
    sizes = Sizes(200, 5, 1_000, reps) if args.quick else Sizes(1_000, 20, 10_000, reps)
    print(
        f"Python {sys.version.split()[0]}; a driver that only waits ({CALL * 1000:.0f} ms a call, no limit of its own)"
    )
    print(
        f"median of {reps} repetition(s), each on a fresh application folder; gc.collect() before each"
    )
    if args.quick:
        print(
            "quick run: smaller sizes; the targets are scaled to them (the same margin over the bound; the no-op plan in proportion)"
        )

    with tempfile.TemporaryDirectory(prefix="scoot-bench-apply-") as name:
        tmp = Path(name)
        timed("independent", lambda: measure_independent(tmp, sizes))
        timed("chain", lambda: measure_chain(tmp, sizes))
        noop: NoopResult | None = timed("no-op plan", lambda: measure_noop(tmp, sizes))
        small: Applied | None = timed("small apply", lambda: small_apply(tmp, sizes))
        measure_bytes(sizes, small, noop.setup if noop else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
