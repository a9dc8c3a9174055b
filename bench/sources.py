"""Repository benchmarks: the git and path drivers against what git and hashlib do bare.

Run from anywhere:

    python bench/sources.py            # about 30 s on 2 cores
    python bench/sources.py --quick    # fewer repetitions, a smaller plan (the smoke test)

Everything is made in a temporary folder (removed at the end): bare repositories
reached through `file://` URLs, with the real `git` (argument lists, no shell).

1. git, cold fetch: `GitDriver.fetch` of a bare repository of 500 files (about
   3 MB, two commits) into a fresh workspace, against `git clone --depth 1 file://…`
   of the same repository into a fresh folder.
2. git, warm: what `scoot plan` asks of a source already fetched, against
   `git ls-remote file://… HEAD`, the least any look at a remote can do. Two
   readings: `GitDriver.fetch(repository)` with no pin (what `Runtime.open` does on
   every plan: a shallow fetch of HEAD, then the checkout is found on disk), and
   `latest` then `fetch` of that commit (ask for the newest revision, then fetch one
   that is on disk: no second call to the remote). Also shown, for the why: a
   `git fetch origin HEAD` into the same cache without `--depth`.
3. path: `folder_revision` of a folder of 2,000 files (about 20 MB) against a plain
   loop that walks the folder, reads every byte and hashes it with one sha256.
4. `scoot plan` end to end (in process, through click's CliRunner) of an application
   of 4 components, each with a compute object, whose sources are git URLs, against
   the same application whose sources are folders of the same files. The
   application is not applied (every object is planned for creation); nothing
   changes between runs, so the git plan finds each checkout already made.

Each figure is the median of several `time.perf_counter()` repetitions after one
warm-up, with `gc.collect()` before each, Scoot and its reference interleaved
repetition by repetition, and every target a ratio to a reference measured in the
same run, because these machines are noisy. A breakdown of the git driver's time
by git command (from a subclass that times `_git`) says whether the time is git's
or Scoot's. It is a report, not a test: it exits 0 whether the targets are met or not.
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scoot_runtime.repositories.base import (  # noqa: E402
    REPOS,
    Repository,
    RepositoryContext,
)
from scoot_runtime.repositories.git import CACHE, GitDriver, safe_name  # noqa: E402
from scoot_runtime.repositories.path import folder_revision  # noqa: E402

TARGET_COLD = 1.5  # GitDriver.fetch into a fresh workspace / git clone --depth 1: at most this
TARGET_WARM = 2.0  # a plan's look at a fetched source / git ls-remote: at most this
TARGET_PATH = 1.3  # folder_revision / walk + read + sha256 in one pass: at most this

GIT_FILES = 500  # files in the repository of the cold and warm fetches
GIT_FILE_BYTES = 6_000  # about 3 MB in all
PATH_FILES = 2_000  # files in the folder of the path driver
PATH_FILE_BYTES = 10_000  # about 20 MB in all
PLAN_COMPONENTS = 4
PLAN_FILES = 50  # files in each component's source, for the plan

IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_TERMINAL_PROMPT": "0",
}


# --- timing ---------------------------------------------------------------------


def time_once(fn: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@dataclass
class Contender:
    """Something timed: `fn` is timed; `before` (a fresh folder, say) runs untimed before it."""

    name: str
    fn: Callable[[], Any]
    before: Callable[[], Any] = lambda: None
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def race(contenders: list[Contender], reps: int) -> dict[str, float]:
    """Warm each contender up once, then time them interleaved; the median of each, by name."""
    for c in contenders:
        c.before()
        c.fn()
    for _ in range(reps):
        for c in contenders:
            c.before()
            c.times.append(time_once(c.fn))
    return {c.name: c.median for c in contenders}


# --- git, bare ------------------------------------------------------------------


def git(args: Sequence[str], cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **IDENTITY},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"`git {' '.join(args)}` exited {done.returncode}: {done.stderr.strip()[-500:]}"
        )
    return done.stdout


def write_files(folder: Path, count: int, size: int, seed: int, per_folder: int = 50) -> int:
    """`count` files of `size` bytes of text (`per_folder` to a sub-folder); the bytes written."""
    rng = random.Random(seed)
    total = 0
    for i in range(count):
        path = folder / f"pkg{i // per_folder:03d}" / f"module{i % per_folder:03d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(size // 2).hex().encode()  # text, about half as compressible as code
        lines = b"\n".join(data[j : j + 80] for j in range(0, len(data), 80)) + b"\n"
        path.write_bytes(lines)
        total += len(lines)
    return total


def make_remote(where: Path, files: int, size: int, seed: int) -> tuple[str, int]:
    """A bare repository of two commits (`files` files at the tip); its file:// URL and bytes."""
    work = where.with_name(where.name + "-work")
    work.mkdir(parents=True)
    git(["init", "--quiet", "--initial-branch=main", str(work)])
    write_files(work, files // 2, size, seed)
    git(["add", "--all"], cwd=work)
    git(["commit", "--quiet", "-m", "first"], cwd=work)
    total = write_files(work, files, size, seed + 1)
    git(["add", "--all"], cwd=work)
    git(["commit", "--quiet", "-m", "second"], cwd=work)
    git(["clone", "--quiet", "--bare", str(work), str(where)])
    shutil.rmtree(work)
    return f"file://{where}", total


def git_driver(root: Path) -> GitDriver:
    """A git driver for an application folder `root` (its workspace: `root/.scoots`)."""
    root.mkdir(parents=True, exist_ok=True)
    return GitDriver(RepositoryContext("bench", "acme", root, root / ".scoots"))


class TimedGit(GitDriver):
    """The git driver, with the time each `git` command took, by verb."""

    def __init__(self, context: RepositoryContext) -> None:
        super().__init__(context)
        self.spent: list[tuple[str, float]] = []

    def _git(self, arguments: Sequence[str], **kwargs: Any) -> str:
        start = time.perf_counter()
        try:
            return super()._git(arguments, **kwargs)
        finally:
            self.spent.append((arguments[0], time.perf_counter() - start))


@dataclass
class Breakdown:
    """Median time of a driver call, and the part of it spent in each git command."""

    total: float
    by_verb: dict[str, float]  # summed per run, then the median over runs
    in_git: float  # all git commands of a run, the median over runs
    in_python: float  # the rest of a run, the median over runs
    calls: int  # git processes per run


def breakdown(
    runs: int, make: Callable[[int], TimedGit], call: Callable[[TimedGit], Any]
) -> Breakdown:
    totals: list[float] = []
    in_git: list[float] = []
    verbs: dict[str, list[float]] = {}
    calls = 0
    for run in range(runs):
        driver = make(run)
        totals.append(time_once(functools.partial(call, driver)))
        summed: dict[str, float] = {}
        for verb, seconds in driver.spent:
            summed[verb] = summed.get(verb, 0.0) + seconds
        for verb, seconds in summed.items():
            verbs.setdefault(verb, []).append(seconds)
        in_git.append(sum(summed.values()))
        calls = len(driver.spent)
    return Breakdown(
        statistics.median(totals),
        {v: statistics.median(s) for v, s in verbs.items()},
        statistics.median(in_git),
        statistics.median(t - g for t, g in zip(totals, in_git, strict=True)),
        calls,
    )


def process_cost(reps: int) -> float:
    """The median time of the cheapest git process there is: `git --version`."""
    times = [time_once(lambda: git(["--version"])) for _ in range(reps)]
    return statistics.median(times)


# --- the path driver's bound ------------------------------------------------------


def hash_folder(folder: Path) -> str:
    """The least a digest of a folder's files can cost: walk, read every byte, one sha256."""
    digest = hashlib.sha256()
    for directory, subdirectories, files in os.walk(folder):
        subdirectories.sort()
        for name in sorted(files):
            with open(os.path.join(directory, name), "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()


# --- scoot plan ---------------------------------------------------------------------


COMPONENT = """
component svc{i} {{
  source = "{source}"

  compute web {{
    command = ["python3", "-m", "svc{i}"]
  }}
}}
"""


def make_application(folder: Path, sources: list[str]) -> Path:
    folder.mkdir(parents=True)
    text = 'application bench {\n  owner = "acme"\n}\n' + "".join(
        COMPONENT.format(i=i, source=source) for i, source in enumerate(sources)
    )
    (folder / "architecture.sct").write_text(text, encoding="utf-8")
    return folder


def plan_once(app: Path) -> None:
    from click.testing import CliRunner

    from scoot_cli import cli

    result = CliRunner().invoke(cli, ["plan", str(app)])
    if result.exit_code != 0:
        raise RuntimeError(
            f"`scoot plan {app}` exited {result.exit_code}: {result.output.strip()[-500:]}"
        )
    if "svc0.web" not in result.output:
        raise RuntimeError(
            f"`scoot plan {app}` planned nothing for svc0.web: {result.output.strip()[-500:]}"
        )


# --- the report -------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def figure(name: str, seconds: float, note: str = "") -> None:
    print(f"   {name:<44} {ms(seconds)}  {note}".rstrip())


def target(title: str, ratio: float | None, limit: float, note: str) -> bool | None:
    if ratio is None:
        print(f"  {title:<44}  NOT MEASURED ({note})")
        return None
    ok = ratio <= limit
    print(f"  {title:<44}  {verdict(ok)}  {ratio:.2f}x  ({note})")
    return ok


def show_breakdown(label: str, found: Breakdown, spawn: float) -> None:
    verbs = ", ".join(f"{verb} {seconds * 1000:.1f}" for verb, seconds in found.by_verb.items())
    print(
        f"   {label}: {found.total * 1000:.1f} ms, of which {found.in_git * 1000:.1f} ms in "
        f"{found.calls} git processes ({verbs} ms) and {found.in_python * 1000:.1f} ms "
        f"in Python; {found.calls} x `git --version` = {found.calls * spawn * 1000:.1f} ms"
    )


@dataclass
class Results:
    cold: float | None = None
    warm_plan: float | None = None
    warm_latest: float | None = None
    path: float | None = None
    plan: float | None = None
    notes: dict[str, str] = field(default_factory=dict)


def measure_cold(
    tmp: Path, url: str, reps: int, profile_runs: int, spawn: float, out: Results
) -> None:
    runs = iter(range(10**6))
    scoot_root: list[Path] = []
    clone_dir: list[Path] = []

    def fresh_scoot() -> None:
        for old in scoot_root:
            shutil.rmtree(old, ignore_errors=True)
        scoot_root[:] = [tmp / f"cold-scoot-{next(runs)}"]

    def fresh_clone() -> None:
        for old in clone_dir:
            shutil.rmtree(old, ignore_errors=True)
        clone_dir[:] = [tmp / f"cold-clone-{next(runs)}"]

    repository = Repository(GitDriver.name, url)
    by = race(
        [
            Contender("scoot", lambda: git_driver(scoot_root[0]).fetch(repository), fresh_scoot),
            Contender(
                "clone",
                lambda: git(["clone", "--quiet", "--depth", "1", url, str(clone_dir[0])]),
                fresh_clone,
            ),
        ],
        reps,
    )
    fresh_scoot()
    fresh_clone()
    print(f"\n1. git, cold fetch of {GIT_FILES} files into a fresh workspace (median of {reps})")
    figure("GitDriver.fetch(repository)", by["scoot"])
    figure("git clone --depth 1 file://…", by["clone"], "(the reference)")
    found = breakdown(
        profile_runs,
        lambda run: TimedGit(git_driver(tmp / f"cold-profile-{run}").context),
        lambda driver: driver.fetch(repository),
    )
    show_breakdown("where the fetch's time goes", found, spawn)
    for run in range(profile_runs):
        shutil.rmtree(tmp / f"cold-profile-{run}", ignore_errors=True)
    out.cold = by["scoot"] / by["clone"]


def measure_warm(
    tmp: Path, url: str, reps: int, profile_runs: int, spawn: float, out: Results
) -> None:
    root = tmp / "warm"
    repository = Repository(GitDriver.name, url)
    head = git_driver(root).fetch(repository).revision  # on disk from now on

    def plan_look() -> None:
        fetched = git_driver(root).fetch(repository)
        assert fetched.revision == head

    def latest_then_fetch() -> None:
        driver = git_driver(root)
        driver.fetch(repository, driver.latest(repository))

    cache = root / ".scoots" / REPOS / safe_name(url) / CACHE
    by = race(
        [
            Contender("plan", plan_look),
            Contender("latest", latest_then_fetch),
            Contender("ls-remote", lambda: git(["ls-remote", url, "HEAD"])),
            Contender(
                "no-depth",
                lambda: git(
                    ["--git-dir", str(cache), "fetch", "--quiet", "--no-tags", "origin", "HEAD"]
                ),
            ),
        ],
        reps,
    )
    print(f"\n2. git, warm: the newest revision of a source already fetched (median of {reps})")
    figure("GitDriver.fetch(repository), no pin", by["plan"], "(what each `scoot plan` does)")
    figure("GitDriver.latest + fetch(repository, commit)", by["latest"])
    figure("git ls-remote file://… HEAD", by["ls-remote"], "(the reference)")
    figure("git fetch origin HEAD, no --depth, same cache", by["no-depth"], "(informative)")
    figure("git --version", spawn, "(one git process, for scale)")
    found = breakdown(
        profile_runs, lambda run: TimedGit(git_driver(root).context), lambda d: d.fetch(repository)
    )
    show_breakdown("fetch, no pin", found, spawn)
    found = breakdown(
        profile_runs,
        lambda run: TimedGit(git_driver(root).context),
        lambda d: d.fetch(repository, d.latest(repository)),
    )
    show_breakdown("latest + fetch(commit)", found, spawn)
    out.warm_plan = by["plan"] / by["ls-remote"]
    out.warm_latest = by["latest"] / by["ls-remote"]


def measure_path(tmp: Path, reps: int, out: Results) -> None:
    folder = tmp / "folder"
    total = write_files(folder, PATH_FILES, PATH_FILE_BYTES, seed=7, per_folder=100)
    by = race(
        [
            Contender("scoot", lambda: folder_revision(folder)),
            Contender("bound", lambda: hash_folder(folder)),
        ],
        reps,
    )
    print(
        f"\n3. path: a digest of {PATH_FILES:,} files, {total / 1e6:.1f} MB (median of {reps}; the files in the OS cache)"
    )
    figure("folder_revision(folder)", by["scoot"], f"({total / by['scoot'] / 1e6:,.0f} MB/s)")
    figure(
        "walk + read + sha256, one pass",
        by["bound"],
        f"({total / by['bound'] / 1e6:,.0f} MB/s; the reference)",
    )
    out.path = by["scoot"] / by["bound"]


def measure_plan(tmp: Path, reps: int, files: int, out: Results) -> None:
    urls = [
        make_remote(tmp / "plan-remotes" / f"svc{i}.git", files, GIT_FILE_BYTES, seed=100 + i)[0]
        for i in range(PLAN_COMPONENTS)
    ]
    with_git = make_application(tmp / "plan-git", urls)
    folders = make_application(tmp / "plan-path", [f"./svc{i}" for i in range(PLAN_COMPONENTS)])
    for i in range(PLAN_COMPONENTS):
        write_files(folders / f"svc{i}", files, GIT_FILE_BYTES, seed=101 + i)
    by = race(
        [
            Contender("git", lambda: plan_once(with_git)),
            Contender("path", lambda: plan_once(folders)),
        ],
        reps,
    )
    print(
        f"\n4. `scoot plan` of {PLAN_COMPONENTS} components, {files} files a source, not applied "
        f"(in process; median of {reps})"
    )
    figure("git sources (file:// URLs, already fetched)", by["git"])
    figure("folder sources (the same files)", by["path"], "(the reference)")
    figure(
        "what git sources add",
        by["git"] - by["path"],
        f"({(by['git'] - by['path']) / PLAN_COMPONENTS * 1000:.1f} ms a component, fetched in threads)",
    )
    out.plan = by["git"] / by["path"]


def timed(what: str, out: Results, fn: Callable[[], Any]) -> None:
    """`fn()`, its duration on stderr; an error is kept as the reason a figure is missing."""
    start = time.perf_counter()
    try:
        fn()
    except Exception as error:
        out.notes[what] = f"{type(error).__name__}: {error}"
        print(f"\n   {what}: NOT MEASURED ({out.notes[what]})")
        return
    print(f"  measured {what} in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, a smaller plan")
    ap.add_argument(
        "--reps", type=int, default=0, help="repetitions per figure (default: 9, quick: 3)"
    )
    args = ap.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    if shutil.which("git") is None:
        print("NOT MEASURED: these figures need the `git` program on PATH")
        return 0

    reps = args.reps or (3 if args.quick else 9)
    warm_reps = reps * 3  # a warm look takes a few ms: more of them for a steady median
    profile_runs = 3
    plan_files = 10 if args.quick else PLAN_FILES
    print(f"Python {sys.version.split()[0]}, {git(['--version']).strip()}, {os.cpu_count()} CPUs")
    print(
        f"medians of {reps} repetitions ({warm_reps} for the warm look) after one warm-up; "
        "gc.collect() before each; Scoot and its reference interleaved"
    )
    out = Results()
    with tempfile.TemporaryDirectory(prefix="scoot-bench-sources-") as name:
        tmp = Path(name)
        url, total = make_remote(tmp / "remote.git", GIT_FILES, GIT_FILE_BYTES, seed=1)
        packed = sum(p.stat().st_size for p in (tmp / "remote.git").rglob("*") if p.is_file())
        print(
            f"the repository: {GIT_FILES} files, {total / 1e6:.1f} MB at the tip, two commits, "
            f"{packed / 1e6:.1f} MB packed; reached as {url.replace(name, '<tmp>')}"
        )
        spawn = process_cost(max(reps, 9))
        timed("cold fetch", out, lambda: measure_cold(tmp, url, reps, profile_runs, spawn, out))
        timed("warm look", out, lambda: measure_warm(tmp, url, warm_reps, profile_runs, spawn, out))
        timed("path digest", out, lambda: measure_path(tmp, reps, out))
        timed("scoot plan", out, lambda: measure_plan(tmp, max(3, reps // 2), plan_files, out))

    print("\ntargets")
    target(
        f"git cold fetch / git clone <= {TARGET_COLD}x",
        out.cold,
        TARGET_COLD,
        out.notes.get("cold fetch", "GitDriver.fetch into a fresh workspace / git clone --depth 1"),
    )
    target(
        f"git warm (plan) / git ls-remote <= {TARGET_WARM:.0f}x",
        out.warm_plan,
        TARGET_WARM,
        out.notes.get("warm look", "GitDriver.fetch, no pin, of a fetched source / git ls-remote"),
    )
    target(
        f"git warm (latest) / git ls-remote <= {TARGET_WARM:.0f}x",
        out.warm_latest,
        TARGET_WARM,
        out.notes.get("warm look", "latest + fetch(commit) on disk / git ls-remote"),
    )
    target(
        f"path digest / bare sha256 <= {TARGET_PATH}x",
        out.path,
        TARGET_PATH,
        out.notes.get("path digest", "folder_revision / walk + read + sha256"),
    )
    if out.plan is None:
        print(
            f"  {'plan, git / folder sources':<44}  NOT MEASURED ({out.notes.get('scoot plan', '?')})"
        )
    else:
        print(f"  {'plan, git / folder sources':<44}  {out.plan:.2f}x  (informative: no target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
