"""`scoot watch` as a real process, on real git repositories and real compute processes.

A component's source is a bare repository on this machine (`file://`); commits are pushed
to it from a working clone. `scoot watch` runs in a new interpreter with a short interval;
its output lines are read as they come. An apply is counted by the `applying (…)` lines and
by scoot.lock's serial, and the compute process is asked which version it serves. Every
test stops the watcher, then destroys what it applied and kills what is left.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scoot_runtime.watch.loop import ApplyEnded, Outcome
from scoot_runtime.watch.webhook import signature
from tests.runtime.test_cli_runtime import (
    ROOT,
    app_processes,
    free_port,
    kill_leftovers,
    lock_file,
    recorded,
    scoot,
    wait_until_gone,
)
from tests.runtime.test_git_sources import Remote
from tests.runtime.test_webhook import Events

SECRET = "watch-secret-4b1d0e9f"
# A look, as `scoot watch` says it with SCOOT_WATCH_TRACE set.
LOOK = re.compile(r"^\d\d:\d\d:\d\d looked \(")
APPLIED = r"applied \(app\)$"

SERVER = """\
import os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

VERSION = "{version}"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = (VERSION + "\\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""
BROKEN = "raise SystemExit(3)\n"

ARCHITECTURE = """\
application tiny {
  owner = "acme"
}

param port: number = 8080

component app {
  source = SOURCE

  compute web {
    command = [PYTHON, "-u", "server.py"]
    port    = port
    health  = "/"
    env = {
      PORT = port
    }
  }
}
"""


# -- git --------------------------------------------------------------------------------------


def make_remote(folder: Path) -> Remote:
    """The component's repository by the naming scheme's name, `acme/tiny-app`."""
    bare = folder / "acme" / "tiny-app.git"
    bare.parent.mkdir(parents=True)
    return Remote(bare, folder / "work")


def release(remote: Remote, version: str) -> str:
    """Push a server answering `version`; the new commit."""
    return remote.commit({"server.py": SERVER.format(version=version)}, f"version {version}")


# -- the watcher ------------------------------------------------------------------------------


@dataclass
class Watcher:
    """`scoot watch` in a new interpreter; its lines, as they come."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    readers: list[threading.Thread] = field(default_factory=list)

    def read(self) -> None:
        def pump(stream: object, into: list[str]) -> None:
            for line in stream:  # type: ignore[attr-defined]
                with self.lock:
                    into.append(line.rstrip("\n"))

        for stream, into in ((self.process.stdout, self.lines), (self.process.stderr, self.errors)):
            reader = threading.Thread(target=pump, args=(stream, into), daemon=True)
            reader.start()
            self.readers.append(reader)

    def drained(self) -> None:
        """The process has exited: every line it wrote is read (its pipes are at their end)."""
        for reader in self.readers:
            reader.join(10)

    def output(self) -> str:
        with self.lock:
            return "\n".join(self.lines) + "\n--- stderr ---\n" + "\n".join(self.errors)

    def count(self, pattern: str, stream: str = "out") -> int:
        with self.lock:
            lines = list(self.lines if stream == "out" else self.errors)
        return sum(1 for line in lines if re.search(pattern, line))

    def wait_for(self, pattern: str, count: int = 1, stream: str = "out", seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while self.count(pattern, stream) < count:
            if self.process.poll() is not None:
                self.drained()
                raise AssertionError(f"scoot watch exited ({self.process.returncode}):\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {count} × {pattern!r} within {seconds}s:\n{self.output()}")
            time.sleep(0.05)

    def looks(self, after: str | None = None, failed: bool | None = None) -> int:
        """The looks said so far (SCOOT_WATCH_TRACE), or since the last line matching `after`;
        only the failed ones, or only the others, with `failed`."""
        with self.lock:
            lines = list(self.lines)
        if after is not None:
            last = max((number for number, line in enumerate(lines) if re.search(after, line)), default=-1)
            lines = lines[last + 1 :]
        said = [line for line in lines if LOOK.search(line)]
        if failed is not None:
            said = [line for line in said if line.endswith(": failed") == failed]
        return len(said)

    def wait_for_looks(
        self, count: int, after: str | None = None, failed: bool | None = None, seconds: float = 60
    ) -> None:
        """Until `count` looks are said (see `looks`): what the loop does is waited on, not the clock."""
        deadline = time.monotonic() + seconds
        while self.looks(after, failed) < count:
            if self.process.poll() is not None:
                self.drained()
                raise AssertionError(f"scoot watch exited ({self.process.returncode}):\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {count} looks within {seconds}s:\n{self.output()}")
            time.sleep(0.05)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(how)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"scoot watch did not stop on {how.name}:\n{self.output()}") from None


@dataclass
class App:
    folder: Path
    remote: Remote
    port: int
    watchers: list[Watcher] = field(default_factory=list)

    def watch(self, *args: str, env: dict[str, str] | None = None) -> Watcher:
        environment = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1", "SCOOT_WATCH_TRACE": "1"}
        environment["PYTHONPATH"] = str(ROOT) + os.pathsep + environment.get("PYTHONPATH", "")
        process = subprocess.Popen(
            [sys.executable, "-m", "scoot_cli", "watch", str(self.folder), "--interval", "0.5", *args],
            cwd=self.folder,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a Ctrl-C in the terminal running the tests is not its
        )
        watcher = Watcher(process)
        watcher.read()
        self.watchers.append(watcher)
        return watcher

    def serves(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5) as response:
            text: str = response.read().decode().strip()
            return text

    def serial(self) -> int:
        serial: int = lock_file(self.folder)["targets"]["local"]["serial"]
        return serial

    def revision(self) -> str | None:
        revision: str | None = recorded(self.folder).get("app.web", {}).get("revision")
        return revision


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    remote = make_remote(tmp_path / "remotes")
    release(remote, "v1")
    folder = tmp_path / "tiny"
    folder.mkdir()
    port = free_port()
    (folder / "architecture.sct").write_text(
        ARCHITECTURE.replace("SOURCE", json.dumps(remote.bare.as_uri())).replace("PYTHON", json.dumps(sys.executable)),
        encoding="utf-8",
    )
    (folder / "scoot.toml").write_text(
        f'[architecture]\npath = "."\n\n[params]\nport = {port}\n\n[targets.local]\nhealth_timeout = 5\n',
        encoding="utf-8",
    )
    made = App(folder, remote, port)
    pids: list[tuple[int, int | None]] = []
    try:
        yield made
    finally:
        for watcher in made.watchers:
            if watcher.process.poll() is None:
                watcher.process.kill()
                watcher.process.wait(10)
        pids = app_processes(folder)
        scoot("destroy", "--yes", str(folder))
        wait_until_gone(pids, 5)
        kill_leftovers(folder, pids)


# -- polling ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_new_commit_is_applied_once(app: App) -> None:
    watcher = app.watch()
    # Never applied: the first look applies what the repository holds.
    watcher.wait_for(r"^\d\d:\d\d:\d\d applied \(app\)$")
    assert app.serves() == "v1"
    first = app.serial()
    assert watcher.count(r"Watching 1 component of `tiny` \(target local\)") == 1
    assert watcher.count(r"app: .*tiny-app\.git \(git driver, from its `source`\)") == 1

    commit = release(app.remote, "v2")
    watcher.wait_for(r"applied \(app\)$", count=2)
    assert app.serves() == "v2"
    assert app.revision() == commit
    assert watcher.count(rf"app: new revision \w+ → {commit[:12]}$") == 1
    watcher.wait_for_looks(4, after=APPLIED)  # four more looks: nothing more to apply
    assert watcher.count(r"applying \(app\)") == 2
    assert app.serial() == first + 1

    assert watcher.stop() == 0
    assert watcher.count(r"Stopped watching \(2 applies run\)\.") == 1
    assert "Traceback" not in watcher.output()


@pytest.mark.slow
def test_a_burst_of_commits_is_one_apply(app: App) -> None:
    watcher = app.watch("--interval", "8", "--settle", "0.5")
    watcher.wait_for(r"applied \(app\)$")
    watcher.wait_for_looks(1, after=APPLIED)  # the look that follows an apply: the next is 8 s away
    for number in range(2, 6):
        last = release(app.remote, f"v{number}")
    watcher.wait_for(r"applied \(app\)$", count=2, seconds=30)
    assert app.serves() == "v5"
    assert app.revision() == last
    watcher.wait_for_looks(1, after=APPLIED)  # the look that follows the apply: nothing more
    assert watcher.count(r"applying \(app\)") == 2
    assert watcher.stop() == 0


@pytest.mark.slow
def test_a_failed_apply_is_reported_and_the_next_change_applies(app: App) -> None:
    watcher = app.watch()
    watcher.wait_for(r"applied \(app\)$")
    app.remote.commit({"server.py": BROKEN}, "broken")
    watcher.wait_for(r"apply failed \(app [0-9a-f]{12}\); watching goes on", stream="err")
    assert watcher.count(r"app\.web: ", stream="err") >= 1  # what failed, from the apply
    watcher.wait_for_looks(3, after=r"applying \(app\)")  # more looks: the broken revision is not tried again
    assert watcher.count(r"applying \(app\)") == 2
    fixed = release(app.remote, "v3")
    watcher.wait_for(r"applied \(app\)$", count=2)
    assert app.serves() == "v3"
    assert app.revision() == fixed
    assert watcher.count(r"applying \(app\)") == 3
    assert watcher.stop() == 0


@pytest.mark.slow
def test_a_commit_during_an_apply_is_applied_after_it(app: App) -> None:
    (app.folder / "scoot.toml").write_text(
        (app.folder / "scoot.toml").read_text().replace("health_timeout = 5", "health_timeout = 20")
    )
    slow = SERVER.format(version="slow").replace("import os, signal, sys", "import os, signal, sys, time\ntime.sleep(3)")
    app.remote.commit({"server.py": slow}, "slow to start")
    watcher = app.watch()
    watcher.wait_for(r"^app\.web: \S+ started$")
    commit = release(app.remote, "v2")  # while the first apply waits for the slow server
    watcher.wait_for(r"applied \(app\)$", count=2, seconds=60)
    assert app.serves() == "v2" and app.revision() == commit
    watcher.wait_for_looks(3, after=APPLIED)
    assert watcher.count(r"applying \(app\)") == 2
    assert watcher.stop() == 0


@pytest.mark.slow
def test_a_folder_source_is_watched_too(app: App) -> None:
    folder = app.folder / "web"
    folder.mkdir()
    (folder / "server.py").write_text(SERVER.format(version="f1"), encoding="utf-8")
    sct = app.folder / "architecture.sct"
    sct.write_text(re.sub(r'source = ".*"', 'source = "./web"', sct.read_text()), encoding="utf-8")
    watcher = app.watch()
    watcher.wait_for(r"applied \(app\)$")
    assert watcher.count(r"app: \./web \(path driver, from its `source`\)") == 1
    assert app.serves() == "f1"
    (folder / "server.py").write_text(SERVER.format(version="f2"), encoding="utf-8")
    watcher.wait_for(r"applied \(app\)$", count=2)
    assert app.serves() == "f2"
    assert (app.revision() or "").startswith("sha256:")
    watcher.wait_for_looks(3, after=APPLIED)
    assert watcher.count(r"applying \(app\)") == 2
    assert watcher.stop() == 0


@pytest.mark.slow
def test_a_broken_architecture_or_a_missing_repository_is_said_once_and_watching_goes_on(app: App) -> None:
    watcher = app.watch()
    watcher.wait_for(r"applied \(app\)$")
    sct = app.folder / "architecture.sct"
    good = sct.read_text()
    sct.write_text(good.replace("compute web {", "compute web {\n    colour = 3"))
    watcher.wait_for(r"cannot look at the sources \([^)]+\): the architecture has errors", stream="err")
    watcher.wait_for_looks(4, after=APPLIED, failed=True)  # three more looks, said once
    assert watcher.count(r"cannot look at the sources", stream="err") == 1
    assert watcher.count(r"colour", stream="err") >= 1  # the diagnostic itself
    sct.write_text(good)
    watcher.wait_for(r"The architecture compiles again\.$")

    moved = app.remote.bare.with_name("elsewhere.git")
    app.remote.bare.rename(moved)
    watcher.wait_for(r"app: cannot tell its newest revision: ", stream="err")
    watcher.wait_for_looks(watcher.looks() + 3)
    assert watcher.count(r"app: cannot tell its newest revision", stream="err") == 1
    moved.rename(app.remote.bare)
    watcher.wait_for(r"app: its newest revision is known again\.$")

    release(app.remote, "v2")
    watcher.wait_for(r"applied \(app\)$", count=2)
    assert app.serves() == "v2"
    assert watcher.stop() == 0


@pytest.mark.slow
def test_losing_the_race_for_the_apply_lock_is_waiting_not_failing(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another apply takes the lock between watching's quick check and the apply's own:
    that revision is looked at again at the next look, not counted as a failed apply."""
    from scoot_app.application import Loaded, load
    from scoot_app.watch import WatchSession
    from scoot_runtime.applylock import ApplyLock

    loaded = load(app.folder)
    assert isinstance(loaded, Loaded)
    events = Events()
    session = WatchSession(loaded, app.folder, interval=1, settle=0, on_event=events)
    # The quick check saw no holder; the other run took the lock just after it.
    monkeypatch.setattr("scoot_runtime.applylock.running_holder", lambda *args: None)
    other = ApplyLock(session.state_dir, session.target_name, command="scoot apply")
    other.acquire()
    try:
        assert not session.loop.check("poll")
    finally:
        other.release()
    assert session.loop.attempted == {} and session.applies == 0
    assert [e.outcome for e in events.of(ApplyEnded)] == [Outcome.BUSY]
    # The lock is free again: the next look applies the revision.
    assert session.loop.check("poll")
    assert app.serves() == "v1" and session.applies == 1
    assert [e.outcome for e in events.of(ApplyEnded)] == [Outcome.BUSY, Outcome.APPLIED]


# -- the desired state: the architecture's files, scoot.toml, its repository -------------------

# The server, answering its GREETING and WHO (from the architecture) rather than a version.
GREETER = SERVER.format(version="-").replace(
    '(VERSION + "\\n")', '(os.environ["GREETING"] + " " + os.environ["WHO"] + "\\n")'
)
assert "GREETING" in GREETER
# Any apply, whatever it is for: `applied (app)`, `applied (architecture.sct)`...
ANY_APPLIED = r"^\d\d:\d\d:\d\d applied \("
APPLYING = r"^\d\d:\d\d:\d\d applying \("


def greeting(text: str, value: str) -> str:
    """The architecture, its compute greeting with `value` (and WHO from the param `who`)."""
    if "GREETING" in text:
        return re.sub(r'GREETING = "[^"]*"', f'GREETING = "{value}"', text)
    text = text.replace("param port:", 'param who: string = "world"\nparam port:', 1)
    return text.replace("PORT = port", f'PORT = port\n      GREETING = "{value}"\n      WHO = who', 1)


def save(path: Path, text: str) -> None:
    """As editors save: the new text written beside the file, then renamed over it."""
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


@pytest.mark.slow
def test_edits_of_the_architecture_and_of_scoot_toml_are_applied_once(app: App) -> None:
    app.remote.commit({"server.py": GREETER}, "greets")
    sct = app.folder / "architecture.sct"
    text = greeting(sct.read_text(), "hello")
    sct.write_text(text, encoding="utf-8")
    settings = app.folder / "scoot.toml"
    settings.write_text(settings.read_text() + '\n[targets.local.params]\nwho = "team"\n', encoding="utf-8")
    # A long interval: only a save makes it look again.
    watcher = app.watch("--interval", "600", "--settle", "2")
    watcher.wait_for(ANY_APPLIED)
    watcher.wait_for_looks(1, after=ANY_APPLIED)
    assert app.serves() == "hello team"
    assert watcher.count(r"\d   architecture\.sct, scoot\.toml: on every save$") == 1
    # The params first, as plan and apply say them (and each apply's plan again).
    params = r"^Params: port = \d+ \(scoot\.toml \[params\]\); who = team \(scoot\.toml \[targets\.local\.params\]\)$"
    assert re.search(params, watcher.lines[0]), watcher.output()

    # One edit: one apply, saying what changed.
    save(sct, greeting(text, "bonjour"))
    watcher.wait_for(ANY_APPLIED, count=2)
    assert app.serves() == "bonjour team"
    assert watcher.count(r"^\d\d:\d\d:\d\d architecture\.sct changed$") == 1
    assert watcher.count(r"applied \(architecture\.sct\)$") == 1
    watcher.wait_for_looks(1, after=ANY_APPLIED)

    # Two saves in quick succession (within the settle time): one apply, of the last. They
    # are spaced so that each is seen on its own (the files are polled every 0.5 s).
    save(sct, greeting(text, "hola"))
    time.sleep(0.6)
    save(sct, greeting(text, "ciao"))
    watcher.wait_for(ANY_APPLIED, count=3)
    assert app.serves() == "ciao team"
    watcher.wait_for_looks(1, after=ANY_APPLIED)
    assert watcher.count(APPLYING) == 3

    # An edit with errors: said, nothing applied; fixed, applied.
    save(sct, greeting(text, "salut").replace("compute web {", "compute web {\n    colour = 3"))
    watcher.wait_for(r"cannot look at the sources \(architecture\.sct changed\): the architecture has errors", stream="err")
    assert watcher.count(r"colour", stream="err") >= 1
    # What really happens: the fix is looked at when it is saved, not when the interval is up.
    watcher.wait_for(r"^  looking again at the next save of a watched file, else in \d+s$", stream="err")
    save(sct, greeting(text, "salut"))
    watcher.wait_for(r"The architecture compiles again\.$")
    watcher.wait_for(ANY_APPLIED, count=4)
    assert app.serves() == "salut team"
    assert watcher.count(APPLYING) == 4
    assert watcher.count(r"cannot look at the sources", stream="err") == 1
    watcher.wait_for_looks(1, after=ANY_APPLIED)

    # The same content saved again is no change; a param of the target changed in scoot.toml
    # is one: the look it makes is for scoot.toml alone, and one apply follows.
    save(sct, greeting(text, "salut"))
    save(settings, settings.read_text().replace('who = "team"', 'who = "crew"'))
    watcher.wait_for(ANY_APPLIED, count=5)
    assert app.serves() == "salut crew"
    assert watcher.count(r" looked \(scoot\.toml changed\): 1 new$") == 1
    assert watcher.count(r" looked \([^)]*architecture\.sct") == 4  # the three edits above and the fix
    assert watcher.count(r"applied \(scoot\.toml\)$") == 1
    watcher.wait_for_looks(1, after=ANY_APPLIED)
    assert watcher.count(APPLYING) == 5

    # A component's new commit and a save, seen by one look: one apply for both.
    commit = app.remote.commit({"server.py": GREETER + "# again\n"}, "greets again")
    save(sct, greeting(text, "hallo"))
    watcher.wait_for(ANY_APPLIED, count=6)
    assert watcher.count(r"applied \(app, architecture\.sct\)$") == 1
    assert app.serves() == "hallo crew" and app.revision() == commit
    watcher.wait_for_looks(1, after=ANY_APPLIED)
    assert watcher.count(APPLYING) == 6
    assert watcher.stop() == 0
    assert watcher.count(r"Stopped watching \(6 applies run\)\.") == 1
    assert "Traceback" not in watcher.output()


@pytest.mark.slow
def test_a_push_to_the_architecture_repository_is_applied_once(app: App, tmp_path: Path) -> None:
    app.remote.commit({"server.py": GREETER}, "greets")
    local = app.folder / "architecture.sct"
    text = greeting(local.read_text(), "hello")
    local.unlink()  # the architecture is the repository's alone
    repository = Remote(tmp_path / "remotes" / "acme" / "tiny.git", tmp_path / "architecture")
    first = repository.commit({"architecture.sct": text}, "hello")
    url = repository.bare.as_uri()

    # A webhook's push to the architecture's repository is a reason to look, as one to a component's.
    from scoot_app.application import Loaded, load
    from scoot_app.watch import WatchSession
    from scoot_runtime.sources import ARCHITECTURE
    from scoot_runtime.watch.webhook import Push

    loaded = load(app.folder, from_repo=url)
    assert isinstance(loaded, Loaded)
    session = WatchSession(loaded, app.folder, from_repo=url)
    assert session.pushed(Push("1", "acme/tiny", frozenset({url}), "refs/heads/main", None)) == [ARCHITECTURE]
    assert session.pushed(Push("2", "acme/tiny-app", frozenset(), "refs/heads/main", None)) == ["app"]
    assert session.pushed(Push("3", "acme/other", frozenset(), "refs/heads/main", None)) == []

    watcher = app.watch("--from", url)
    watcher.wait_for(ANY_APPLIED)
    watcher.wait_for_looks(1, after=ANY_APPLIED)
    assert app.serves() == "hello world"
    assert watcher.count(rf"\d   the architecture: {re.escape(url)} \(its newest revision\)$") == 1
    assert watcher.count(r"\d   scoot\.toml: on every save$") == 1

    second = repository.commit({"architecture.sct": greeting(text, "bonjour")}, "bonjour")
    watcher.wait_for(ANY_APPLIED, count=2)
    assert app.serves() == "bonjour world"
    said = rf"^\d\d:\d\d:\d\d architecture repository {re.escape(url)}: {first[:12]} → {second[:12]}$"
    assert watcher.count(said) == 1
    watcher.wait_for_looks(3, after=ANY_APPLIED)  # more looks: nothing more to apply
    assert watcher.count(APPLYING) == 2
    assert watcher.stop() == 0
    assert watcher.count(r"Stopped watching \(2 applies run\)\.") == 1


@pytest.mark.slow
def test_with_a_lock_timeout_an_apply_waits_for_the_lock(app: App) -> None:
    from scoot_app.application import Loaded, load
    from scoot_runtime.applylock import ApplyLock

    loaded = load(app.folder)
    assert isinstance(loaded, Loaded)
    other = ApplyLock(loaded.workspace.state_dir, loaded.target.name, command="scoot apply")
    other.acquire()
    try:
        watcher = app.watch("--lock-timeout", "1m")
        watcher.wait_for(r"^Target `local` is locked .*; waiting up to 1m for it\.$", stream="err")
        assert watcher.count(r"applying \(app\)") == 1 and watcher.count(ANY_APPLIED) == 0
    finally:
        other.release()
    watcher.wait_for(r"applied \(app\)$")
    assert app.serves() == "v1"
    assert watcher.count(r"another run holds the apply lock", stream="err") == 0
    assert watcher.stop() == 0

    bad = app.watch("--lock-timeout", "soon")
    assert bad.process.wait(60) == 2
    bad.drained()
    assert "--lock-timeout" in bad.output() and "applying" not in bad.output()


# -- webhooks ---------------------------------------------------------------------------------


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def push(url: str, *, secret: str | None = SECRET, delivery: str | None = None, body: bytes | None = None) -> int:
    # Each body is new, as GitHub's are (an identical signed body is refused as a replay).
    payload = body or json.dumps(
        {
            "ref": "refs/heads/main",
            "after": uuid.uuid4().hex,
            "repository": {"full_name": "acme/tiny-app", "clone_url": "x"},
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = signature(secret.encode(), payload)
    return post(url, payload, headers)


def webhook_url(watcher: Watcher) -> str:
    watcher.wait_for(r"Listening for GitHub push webhooks on ")
    with watcher.lock:
        line = next(line for line in watcher.lines if "Listening for GitHub push webhooks" in line)
    found = re.search(r"on (http://\S+) ", line)
    assert found, line
    return found.group(1)


@pytest.mark.slow
def test_webhooks_trigger_one_apply_and_bad_ones_none(app: App) -> None:
    # A long interval: only webhooks make it look again.
    watcher = app.watch(
        "--interval", "600", "--settle", "0.5", "--webhook", "--listen", "127.0.0.1:0",
        env={"SCOOT_WEBHOOK_SECRET": SECRET},
    )
    url = webhook_url(watcher)
    watcher.wait_for(r"applied \(app\)$")
    watcher.wait_for_looks(1, after=APPLIED)  # the look that follows an apply (after the settle time)
    commit = release(app.remote, "v2")

    # Refused, each of them: no look, no apply.
    assert push(url, secret=None) == 401
    assert push(url, secret="not the secret") == 401
    assert push(url, body=b'{"pad": "' + b"x" * (2 << 20) + b'"}') == 413
    assert watcher.count(r"applying \(app\)") == 1
    assert app.serves() == "v1"

    # A signed push: one apply. Its replay: refused.
    assert push(url, delivery="delivery-1") == 202
    watcher.wait_for(r"applied \(app\)$", count=2)
    assert app.serves() == "v2" and app.revision() == commit
    # Only the signed push made the loop look: a refused one never reaches it.
    assert watcher.count(r" looked \(push to app\)") == 1
    watcher.wait_for_looks(1, after=APPLIED)  # the look that follows the apply

    # A replay, with something new to apply: refused, nothing applied.
    release(app.remote, "v3")
    assert push(url, delivery="delivery-1") == 409
    assert watcher.count(r"applying \(app\)") == 2
    assert app.serves() == "v2"

    # A burst of pushes within the settle window: one apply.
    for number in range(4, 6):
        last = release(app.remote, f"v{number}")
    for _ in range(3):
        assert push(url) == 202
    watcher.wait_for(r"applied \(app\)$", count=3)
    assert app.serves() == "v5" and app.revision() == last
    watcher.wait_for_looks(1, after=APPLIED)
    assert watcher.count(r"applying \(app\)") == 3

    pids = [pid for pid, _ in app_processes(app.folder)]
    assert pids
    assert watcher.stop() == 0
    text = watcher.output()
    assert SECRET not in text
    for pid in pids:  # not in the environment of what it started
        assert SECRET.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
    for file in app.folder.rglob("*"):  # nor in any file it wrote
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file
    assert watcher.count(r"webhook: 401 ") == 2 and watcher.count(r"webhook: 413 ") == 1
    assert watcher.count(r"webhook: 409 ") == 1
    # The server is gone with the process.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


def test_webhook_needs_a_secret(app: App) -> None:
    watcher = app.watch("--webhook", env={"SCOOT_WEBHOOK_SECRET": ""})
    assert watcher.process.wait(60) == 2
    watcher.drained()
    assert "SCOOT_WEBHOOK_SECRET" in watcher.output()
    assert "applying" not in watcher.output()


def test_watch_settings_come_from_scoot_toml(app: App) -> None:
    """`[watch] webhook = true` is as `--webhook` (so it wants its secret); `--no-webhook` wins."""
    settings = app.folder / "scoot.toml"
    settings.write_text(settings.read_text() + '\n[watch]\nwebhook = true\nwebhook_secret_env = "SHOP_HOOK"\n')
    watcher = app.watch(env={"SHOP_HOOK": ""})
    assert watcher.process.wait(60) == 2
    watcher.drained()
    assert "SHOP_HOOK" in watcher.output() and "applying" not in watcher.output()


def test_watch_settings_are_checked(tmp_path: Path) -> None:
    from scoot_runtime.workspace import SettingsError, WatchSettings, load

    (tmp_path / "scoot.toml").write_text("[watch]\ninterval = 5\nlisten = \"127.0.0.1:9000\"\n")
    assert load(tmp_path).watch == WatchSettings(interval=5.0, listen="127.0.0.1:9000")
    assert load(tmp_path / "nowhere").watch == WatchSettings()
    for table, says in [
        ("intervall = 5", "did you mean `interval`"),
        ('interval = "5"', "`interval` must be a number of seconds"),
        ("interval = 0", "at least 0.1"),
        ("webhook = 1", "`webhook` must be true or false"),
    ]:
        (tmp_path / "scoot.toml").write_text(f"[watch]\n{table}\n")
        with pytest.raises(SettingsError, match=re.escape(says)):
            load(tmp_path)


# -- stopping ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_while_idle_stops_cleanly(app: App) -> None:
    watcher = app.watch("--webhook", "--listen", "127.0.0.1:0", env={"SCOOT_WEBHOOK_SECRET": SECRET})
    webhook_url(watcher)
    watcher.wait_for(r"applied \(app\)$")
    assert watcher.stop(signal.SIGINT) == 0
    assert watcher.count(r"Stopped watching \(1 apply run\)\.") == 1
    assert app.serves() == "v1"  # what runs keeps running


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_an_apply_cancels_it_safely(app: App, how: signal.Signals) -> None:
    (app.folder / "scoot.toml").write_text(
        (app.folder / "scoot.toml").read_text().replace("health_timeout = 5", "health_timeout = 30")
    )
    app.remote.commit({"server.py": "import time\ntime.sleep(60)\n"}, "hangs")
    watcher = app.watch()
    watcher.wait_for(r"app\.web: create started")
    started = time.monotonic()
    assert watcher.stop(how) == 1
    assert time.monotonic() - started < 20
    assert watcher.count(r"Interrupted", stream="err") == 1
    # The next run finds a readable state and converges.
    release(app.remote, "v2")
    again = app.watch()
    again.wait_for(r"applied \(app\)$")
    assert app.serves() == "v2"
    assert again.stop() == 0
