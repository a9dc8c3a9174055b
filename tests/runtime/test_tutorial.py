"""docs/tutorial.md, run: every command it shows, in order, in one temporary folder, by the
real `scoot` in a new process, and what each prints compared with what the page shows.

How the page is read (keep to it when editing the page):

- A ```console block holds commands and what they print. A line starting with `$ ` is a
  command, run by bash in the folder the previous commands left (a `cd` carries over); the
  lines after it, up to the next `$ ` line or the end of the block, are what it prints,
  stdout and stderr together, as a terminal shows them. Every command must succeed.
- A fenced block with `title="PATH"` in its info string is a file the reader writes, at PATH
  from the current folder, before the next command: ```python title="front/front.py"```
  is the whole file; with `append` (```sct title="architecture.sct" append```) its text is
  added at the end of the file; a ```diff title="PATH"``` block is an edit: its ` ` and `-`
  lines, found once in the file, become its ` ` and `+` lines.

What varies from one run to another is normalised, and nothing else:

- the page's folder `/home/you` is the test's temporary folder, and its ports 8080 and 8081
  are two free ports the test picks (so `scoot init hello --port 8080` runs with the test's
  port, and `port + 1` in the architecture is the second one): written so into commands and
  files, and written back as the page has them in what commands print;
- `…` in an output line stands for any text within that line (how long an operation took,
  when a process started, a revision that depends on the port);
- operations that run at the same time print their progress lines (`app.web: delete
  started`, `… done (…s)`) in the order they happen: each run of consecutive progress lines is
  compared whatever its order, every line there and no other.

The test fails when the page and what Scoot prints part; it says which command, and shows the
difference. The processes it starts are destroyed at the end, whatever happened, and any left
is killed.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.runtime.test_cli_runtime import app_processes, kill_leftovers, wait_until_gone

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
HOME = "/home/you"
PORTS = ("8080", "8081")
APP = "hello"  # the folder `scoot init` makes, where the page's commands run
ANY = "…"
FENCE = re.compile(r"^```(\S*)(.*)$")
TITLE = re.compile(r'\btitle="([^"]+)"')
PROGRESS = re.compile(r"^\S+: \w+ (started|done|failed)\b")


@dataclass(frozen=True)
class Command:
    line: int  # where the page shows it
    text: str
    output: list[str]


@dataclass(frozen=True)
class File:
    line: int  # where its block opens
    path: str
    text: str
    how: str  # "write", "append" or "edit"


Step = Command | File


def read_steps(page: str) -> list[Step]:
    """The page's commands and files, in order."""
    steps: list[Step] = []
    lines = page.splitlines()
    number = 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        number += 1
        if opening is None:
            continue
        start = number
        while number < len(lines) and not lines[number].startswith("```"):
            number += 1
        assert number < len(lines), f"docs/tutorial.md:{start}: a fenced block is never closed"
        body, number = lines[start:number], number + 1
        language, info = opening.groups()
        title = TITLE.search(info)
        if language == "console":
            steps.extend(_commands(body, start))
        elif title is not None:
            how = "edit" if language == "diff" else "append" if re.search(r"\bappend\b", info) else "write"
            steps.append(File(start, title.group(1), "\n".join(body) + "\n", how))
    return steps


def _commands(body: list[str], first: int) -> Iterator[Command]:
    starts = [i for i, text in enumerate(body) if text.startswith("$ ")]
    assert starts and starts[0] == 0, f"docs/tutorial.md:{first + 1}: a console block starts with a `$ ` command"
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(body)
        yield Command(first + start + 1, body[start][2:], body[start + 1 : end])


def localise(text: str, home: Path, ports: tuple[int, int]) -> str:
    """The page's text as it reads for this run: its folder and its ports the test's."""
    text = text.replace(HOME, str(home))
    for shown, port in zip(PORTS, ports, strict=True):
        text = re.sub(rf"\b{shown}\b", str(port), text)
    return text


def as_the_page_writes(printed: str, home: Path, ports: tuple[int, int]) -> str:
    """What a command printed, with the test's folder and ports written as the page writes
    them: compared so, a difference reads as a line to put on the page."""
    printed = printed.replace(str(home), HOME)
    for shown, port in zip(PORTS, ports, strict=True):
        printed = re.sub(rf"\b{port}\b", shown, printed)
    return printed


def write_file(folder: Path, step: File) -> None:
    path = folder / step.path
    path.parent.mkdir(parents=True, exist_ok=True)
    if step.how == "write":
        path.write_text(step.text, encoding="utf-8")
    elif step.how == "append":
        path.write_text(path.read_text(encoding="utf-8") + step.text, encoding="utf-8")
    else:
        path.write_text(apply_edit(path.read_text(encoding="utf-8"), step), encoding="utf-8")


def apply_edit(text: str, step: File) -> str:
    lines = step.text.splitlines()
    before = "".join(line[1:] + "\n" for line in lines if line[:1] in (" ", "-"))
    after = "".join(line[1:] + "\n" for line in lines if line[:1] in (" ", "+"))
    assert text.count(before) == 1, (
        f"docs/tutorial.md:{step.line}: the edit's ` ` and `-` lines are not in {step.path} exactly once"
    )
    return text.replace(before, after)


def matches(expected: str, actual: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in expected.split(ANY))
    return re.fullmatch(pattern, actual) is not None


def _runs(lines: list[str]) -> list[list[str]]:
    """Lines in runs: each progress line's run is the consecutive progress lines around it."""
    runs: list[list[str]] = []
    for line in lines:
        if runs and PROGRESS.match(line) and PROGRESS.match(runs[-1][-1]):
            runs[-1].append(line)
        else:
            runs.append([line])
    return runs


def _by_operation(line: str) -> str:
    return line.split(" (", 1)[0]


def compared(expected: list[str], actual: list[str]) -> list[str]:
    """`actual` with each line that matches its expected line written as the page writes it
    (its `…` kept), and each run of progress lines in the page's order where it can be: equal
    to `expected` when the output is as the page shows."""
    expected_runs, actual_runs = _runs(expected), _runs(actual)
    shown: list[str] = []
    for index, run in enumerate(actual_runs):
        wanted = expected_runs[index] if index < len(expected_runs) else []
        if len(run) > 1 or PROGRESS.match(run[0]):
            order = {_by_operation(line): position for position, line in enumerate(wanted)}
            run = sorted(run, key=lambda line: order.get(_by_operation(line), len(order)))
        shown.extend(w if matches(w, a) else a for w, a in zip(wanted, run, strict=False))
        shown.extend(run[len(wanted) :])
    return shown


def run_command(command: Command, text: str, folder: Path, scratch: Path) -> tuple[str, Path]:
    """Run `text` (the command, localised) as a shell would; what it printed and the folder it left."""
    where = scratch / "cwd"
    script = f"{text}\nstatus=$?\npwd > {shlex.quote(str(where))}\nexit $status\n"
    finished = subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, (
        f"docs/tutorial.md:{command.line}: `{command.text}` failed ({finished.returncode}):\n{finished.stdout}"
    )
    return finished.stdout, Path(where.read_text(encoding="utf-8").strip())


def check_output(command: Command, expected: list[str], printed: str) -> None:
    actual = [line.rstrip() for line in printed.splitlines()]
    wanted = [line.rstrip() for line in expected]
    while actual and not actual[-1]:
        actual.pop()
    while wanted and not wanted[-1]:
        wanted.pop()
    shown = compared(wanted, actual)
    if shown != wanted:
        difference = "\n".join(difflib.unified_diff(wanted, shown, "the page", "printed", lineterm=""))
        pytest.fail(f"docs/tutorial.md:{command.line}: `{command.text}` printed other than the page shows:\n{difference}")


def environment() -> dict[str, str]:
    """This environment, without Scoot's own settings, with this Python's `scoot` first."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith("SCOOT_")}
    kept["PATH"] = str(Path(sys.executable).parent) + os.pathsep + kept.get("PATH", "")
    return kept


def run_tutorial(page: str, home: Path) -> None:
    """Every step of `page`, in order, in `home`; the application it makes destroyed at the end."""
    first = free_port(len(PORTS))
    ports = (first, first + 1)
    app = home / APP
    folder = home
    pids: list[tuple[int, int | None]] = []
    try:
        for step in read_steps(page):
            if isinstance(step, File):
                write_file(folder, replace(step, text=localise(step.text, home, ports)))
                continue
            printed, folder = run_command(step, localise(step.text, home, ports), folder, home.parent)
            pids = list({*pids, *app_processes(app)})
            check_output(step, step.output, as_the_page_writes(printed, home, ports))
    finally:
        pids = list({*pids, *app_processes(app)})
        if (app / "scoot.lock").exists():
            subprocess.run(
                ["scoot", "destroy", "--yes"], cwd=app, env=environment(), capture_output=True, timeout=120, check=False
            )
        wait_until_gone(pids, 5)
        kill_leftovers(app, pids)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "you"
    folder.mkdir()
    return folder


@pytest.mark.slow
def test_the_tutorial_runs_as_it_reads(home: Path) -> None:
    steps = read_steps(TUTORIAL.read_text(encoding="utf-8"))
    shown = {step.text.split()[1] for step in steps if isinstance(step, Command) and step.text.startswith("scoot ")}
    assert {"init", "plan", "apply", "status", "logs", "output", "destroy"} <= shown
    run_tutorial(TUTORIAL.read_text(encoding="utf-8"), home)


@pytest.mark.slow
def test_a_stale_line_fails(home: Path) -> None:
    """A line of output the page shows that Scoot no longer prints: the test says where."""
    page = TUTORIAL.read_text(encoding="utf-8")
    stale = page.replace("Plan: 3 to create, 0 to update", "Plan: 3 to create, 1 to update", 1)
    assert stale != page
    with pytest.raises(pytest.fail.Exception, match=r"docs/tutorial\.md:\d+: `scoot plan` printed other") as failure:
        run_tutorial(stale, home)
    assert "-Plan: 3 to create, 1 to update" in str(failure.value)
    assert "+Plan: 3 to create, 0 to update" in str(failure.value)


def test_progress_lines_compare_in_any_order_and_all_of_them() -> None:
    page = ["Plan: 2 to delete.", "", "a.x: delete started", "a.x: delete done (…s)", "b.y: delete started",
            "b.y: delete done (…s)", "", "Destroy complete in …s."]
    printed = ["Plan: 2 to delete.", "", "b.y: delete started", "a.x: delete started", "a.x: delete done (0.1s)",
               "b.y: delete done (0.0s)", "", "Destroy complete in 0.1s."]
    assert compared(page, printed) == page
    assert compared(page, [line for line in printed if line != "b.y: delete done (0.0s)"]) != page
    assert compared(page, [*printed[:6], "c.z: delete done (0.0s)", *printed[6:]]) != page
    # `…` stands for text within a line, never for a line.
    assert compared(["a", "…", "b"], ["a", "b"]) != ["a", "…", "b"]
    assert compared(["Destroy complete in …s."], ["Destroy complete in 0.1s, 1 failed."]) != ["Destroy complete in …s."]


def test_the_page_is_read_as_commands_and_files() -> None:
    page = "\n".join([
        "```console", "$ scoot init hello --port 8080", "Scoot application", "$ cd hello", "```",
        "```python title=\"front/front.py\"", "print(1)", "```",
        "```sct title=\"architecture.sct\" append", "", "component front {}", "```",
        "```diff title=\"architecture.sct\"", " a", "-b", "+c", "```",
        "```sct", "not a file", "```",
    ])
    assert read_steps(page) == [
        Command(2, "scoot init hello --port 8080", ["Scoot application"]),
        Command(4, "cd hello", []),
        File(6, "front/front.py", "print(1)\n", "write"),
        File(9, "architecture.sct", "\ncomponent front {}\n", "append"),
        File(13, "architecture.sct", " a\n-b\n+c\n", "edit"),
    ]
    edit = read_steps(page)[-1]
    assert isinstance(edit, File) and apply_edit("a\nb\nd\n", edit) == "a\nc\nd\n"
