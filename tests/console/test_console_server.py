"""The console's server and picture without a browser: where it listens, what it refuses,
and how the picture is laid out."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoot_app.console.picture import columns
from scoot_app.console.server import ConsoleServer
from scoot_app.console.session import Session
from tests.runtime.test_cli_runtime import scoot


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ConsoleServer]:
    """The console of an application just made by `scoot init` (nothing applied)."""
    folder = tmp_path / "hello"
    assert scoot("init", str(folder)).exit_code == 0
    session = Session(folder)
    serving = ConsoleServer(session)
    serving.start()
    session.start_polling()
    try:
        yield serving
    finally:
        session.stop()
        serving.shutdown()
        serving.server_close()


def answer(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method, data=b"{}" if method == "POST" else None)
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
