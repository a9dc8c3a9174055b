"""The console's server and session without a browser: where it listens, what it refuses,
how the picture is laid out, destroy, the `.sct` links, looks that fetch nothing, log
streams that end when their reader leaves, secrets' old values kept hidden."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoot_app.console import server as console_server
from scoot_app.console.editor import EditorError, editor_template, link
from scoot_app.console.picture import columns
from scoot_app.console.server import ConsoleServer
from scoot_app.console.session import Session
from tests.runtime.test_cli_runtime import scoot
from tests.runtime.test_git_sources import Remote
from tests.waiting import wait_for


@contextlib.contextmanager
def serve(session: Session) -> Iterator[ConsoleServer]:
    serving = ConsoleServer(session)
    serving.start()
    try:
        yield serving
    finally:
        session.stop()
        serving.shutdown()
        serving.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ConsoleServer]:
    """The console of an application just made by `scoot init` (nothing applied)."""
    folder = tmp_path / "hello"
    assert scoot("init", str(folder)).exit_code == 0
    with serve(Session(folder)) as serving:
        serving.session.start_polling()
        yield serving


def answer(
    url: str, headers: dict[str, str] | None = None, method: str = "GET", body: bytes = b"{}"
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method, data=body if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def test_it_listens_on_127_0_0_1_with_an_unguessable_token(server: ConsoleServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    assert server.url.startswith(f"http://127.0.0.1:{server.port}/?token=")
    assert len(server.token) >= 40 and server.token != ConsoleServer(server.session).token


def test_every_request_without_the_token_is_refused(server: ConsoleServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    token = {"X-Scoot-Token": server.token}
    for path in ("/", "/api/picture", "/api/object?address=app.web", "/api/job", "/api/logs?address=app.web", "/x"):
        assert answer(base + path)[0] == 401, path
        assert answer(base + path, {"X-Scoot-Token": server.token[:-1]})[0] == 401, path
    assert answer(base + "/api/plan", method="POST")[0] == 401
    assert answer(base + f"/api/plan?token={server.token}", method="POST")[0] == 401  # the header only
    assert answer(base + "/api/picture", {**token, "Host": "attacker.example"})[0] == 403
    status, page = answer(server.url)
    assert status == 200 and b"<svg" in page and b"console.js" not in page  # its script inlined
    status, body = answer(base + "/api/picture?since=-1", token)
    picture = json.loads(body)["picture"]
    assert status == 200 and [(o["address"], o["status"], o["action"]) for o in picture["objects"]] == [
        ("app.data", "not created", "create"),
        ("app.web", "not created", "create"),
    ]


def test_components_stand_right_of_those_they_use_even_in_a_cycle() -> None:
    names = [f"c{n}" for n in range(60)]
    chain = [(f"c{n}", f"c{n - 1}") for n in range(1, 60)]
    placed = columns(names, chain)
    assert [placed[name] for name in names] == list(range(60))
    # The cycle is cut where it closes: b, reached from a, stands left of a.
    assert columns(["a", "b", "c"], [("a", "b"), ("b", "a"), ("c", "a")]) == {"a": 1, "b": 0, "c": 2}



def post(server: ConsoleServer, path: str, body: object, token: bool = True) -> tuple[int, dict[str, object]]:
    status, text = answer(
        f"http://127.0.0.1:{server.port}{path}", {"X-Scoot-Token": server.token} if token else {}, "POST",
        json.dumps(body).encode(),
    )
    return status, json.loads(text) if status == 200 else {"text": text.decode()}


def tiny_app(folder: Path, storages: tuple[str, ...] = ("notes",)) -> Path:
    """An application of storage objects alone (nothing to run), applied: its folder."""
    folder.mkdir()
    blocks = "".join(f'\n  storage {name} {{\n    engine = "sqlite"\n  }}\n' for name in storages)
    (folder / "architecture.sct").write_text(f"application tiny {{\n}}\n\ncomponent store {{{blocks}}}\n")
    applied = scoot("apply", "--yes", str(folder))
    assert applied.exit_code == 0, applied.output
    return folder


def test_destroy_shows_the_plan_takes_the_applications_name_and_applies_exactly_it(tmp_path: Path) -> None:
    app = tiny_app(tmp_path / "tiny")
    lock = app / "scoot.lock"
    recorded = lambda: json.loads(lock.read_text())["targets"]["local"]["objects"]  # noqa: E731
    assert "store.notes" in recorded()
    with serve(Session(app)) as server:
        # POST only, with the token in the header.
        assert post(server, "/api/plan", {"destroy": True}, token=False)[0] == 401
        assert answer(f"http://127.0.0.1:{server.port}/api/plan", {"X-Scoot-Token": server.token})[0] == 404

        status, plan = post(server, "/api/plan", {"destroy": True})
        assert status == 200 and plan["destroy"] is True and plan["application"] == "tiny", plan
        assert [(c["address"], c["action"], c["source"]) for c in plan["changes"]] == [  # type: ignore[index, union-attr]
            ("store.notes", "delete", None)
        ]
        assert post(server, "/api/apply", {"id": plan["id"], "confirm": "tiny"}, token=False)[0] == 401
        status, refused = post(server, "/api/apply", {"id": plan["id"], "confirm": "tinyy"})
        assert "type the application's name, `tiny`" in str(refused["error"]) and "store.notes" in recorded()

        status, started = post(server, "/api/apply", {"id": plan["id"], "confirm": "tiny"})
        assert started == {"started": plan["id"]}

        def job() -> dict[str, object]:
            request = urllib.request.Request(
                f"http://127.0.0.1:{server.port}/api/job", headers={"X-Scoot-Token": server.token}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                found: dict[str, object] = json.loads(response.read())
                return found

        wait_for(lambda: job()["state"] != "running", 60, "the destroy never ended")
        done = job()
        assert done["state"] == "done" and done["destroy"] is True, done
        assert done["objects"] == {"store.notes": {"action": "delete", "status": "done", "message": ""}}
        assert recorded() == {}
        # Applied once: the same plan again is refused.
        assert "each plan is applied once" in str(post(server, "/api/apply", {"id": plan["id"], "confirm": "tiny"})[1])


def test_each_change_and_object_links_to_its_sct_line_in_the_chosen_editor(tmp_path: Path) -> None:
    folder = tmp_path / "hello"
    assert scoot("init", str(folder)).exit_code == 0
    lines = (folder / "architecture.sct").read_text().splitlines()
    declared = {name: lines.index(f"  {kind} {name} {{") + 1 for kind, name in (("compute", "web"), ("storage", "data"))}
    sct = str((folder / "architecture.sct").resolve())
    session = Session(folder, editor=editor_template("idea"))
    plan = json.loads(session.make_plan())
    sources = {c["address"]: c["source"] for c in plan["changes"]}
    assert sources["app.web"]["line"] == declared["web"] and sources["app.data"]["line"] == declared["data"]
    assert sources["app.web"]["url"] == f"idea://open?file={sct}&line={declared['web']}"
    assert sources["app.web"]["shown"] == "architecture.sct"
    details = json.loads(session.object("app.data") or "{}")
    assert details["source"]["url"] == f"idea://open?file={sct}&line={declared['data']}"

    assert link(editor_template(None), "/a b/x.sct", 3) == "vscode://file/a%20b/x.sct:3"
    assert link(editor_template("cursor"), "/x.sct", 3) == "cursor://file/x.sct:3"
    assert link(editor_template("file"), "/x.sct", 3) == "file:///x.sct"
    assert link(editor_template("subl://open?url=file://{path}&line={line}"), "/x.sct", 3) == (
        "subl://open?url=file:///x.sct&line=3"
    )
    for bad, said in [
        ("emacs", "give an editor's name (vscode, cursor, idea, file) or a URL template"),
        ("javascript:alert({path})", "javascript:, data:, vbscript: and blob: are refused"),
        ("x://{path}:{column}", "only {path} and {line} may be in braces"),
    ]:
        with pytest.raises(EditorError, match="--editor") as raised:
            editor_template(bad)
        assert said in str(raised.value)
    refused = scoot("console", "--editor", "emacs", str(folder))
    assert refused.exit_code == 1 and "--editor 'emacs': give an editor's name" in refused.output
    from_environment = scoot("console", str(folder), env={"SCOOT_EDITOR": "{path}"})
    assert from_environment.exit_code == 1 and "SCOOT_EDITOR '{path}'" in from_environment.output


def git_commands(trace: Path) -> int:
    """How many times git asked a remote: `git fetch` and `git ls-remote`, as GIT_TRACE logs them."""
    if not trace.exists():
        return 0
    text = trace.read_text(encoding="utf-8", errors="replace")
    return sum(text.count(f"built-in: git {command} ") for command in ("fetch", "ls-remote"))


def test_looks_fetch_no_source_until_a_plan_or_a_change_of_the_architecture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = Remote(tmp_path / "web.git", tmp_path / "work")
    remote.commit({"server.py": "print('hello')\n"})
    app = tmp_path / "app"
    app.mkdir()
    architecture = (
        'application gitty {{\n}}\n\ncomponent web {{\n  source = "file://{bare}"\n\n'
        '  compute site {{\n    command = [{python}, "-u", "server.py"]\n  }}\n{more}}}\n'
    )
    sct = app / "architecture.sct"
    python = json.dumps(sys.executable)
    sct.write_text(architecture.format(bare=remote.bare, python=python, more=""), encoding="utf-8")
    trace = tmp_path / "git.trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))

    session = Session(app)
    session.refresh()
    first = git_commands(trace)
    assert first >= 1  # the first look fetches: nothing was fetched before
    _, picture = session.latest()
    assert [(o["address"], o["action"]) for o in json.loads(picture)["objects"]] == [("web.site", "create")]
    for _ in range(5):
        session.refresh()
    assert git_commands(trace) == first, "a look asked the remote again"

    json.loads(session.make_plan())  # planning fetches: the newest commit
    planned = git_commands(trace)
    assert planned > first
    session.refresh()
    assert git_commands(trace) == planned

    # The architecture changed: the next look fetches once, then no more.
    more = '\n  storage notes {\n    engine = "sqlite"\n  }\n'
    sct.write_text(architecture.format(bare=remote.bare, python=python, more=more), encoding="utf-8")
    session.refresh()
    changed = git_commands(trace)
    assert changed > planned
    assert {o["address"] for o in json.loads(session.latest()[1])["objects"]} == {"web.site", "web.notes"}
    for _ in range(3):
        session.refresh()
    assert git_commands(trace) == changed


def test_a_log_stream_ends_as_soon_as_its_reader_leaves(
    server: ConsoleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_server, "KEEPALIVE_SECONDS", 600.0)  # so only the leaving can end it
    reader = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    reader.sendall(
        f"GET /api/logs?address=app.web HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"X-Scoot-Token: {server.token}\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += reader.recv(4096)
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    wait_for(lambda: server.streams == 1, 10, "the stream did not start")
    reader.close()
    wait_for(lambda: server.streams == 0, 3, "the stream outlived its reader")


SECRET_APP = """\
application secretive {
}

component api {
  source = "./api"

  compute web {
    command = ["python3", "-c", "pass"]
    env = {
      TOKEN = secret("CONSOLE_TEST_TOKEN")
    }
  }
}
"""


def test_every_value_a_secret_had_while_the_console_ran_stays_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "secretive"
    (app / "api").mkdir(parents=True)
    (app / "architecture.sct").write_text(SECRET_APP, encoding="utf-8")
    monkeypatch.setenv("CONSOLE_TEST_TOKEN", "first-value-0123456789")
    session = Session(app)
    session.refresh()
    for n in range(6):  # more looks than the four the console once kept
        monkeypatch.setenv("CONSOLE_TEST_TOKEN", f"later-value-{n}-0123456789")
        session.refresh()
    said = session.redact("old first-value-0123456789, then later-value-2-0123456789, now later-value-5-0123456789")
    assert said == "old ***, then ***, now ***", said
