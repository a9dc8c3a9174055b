"""A fuzz target for the language server's message loop: `scoot lsp` as a real process.

Each example is a list of steps (the corpus's format, JSON): requests of the server's
own methods with random params, notifications, framed bodies that are not messages,
frames with bad headers, and junk between frames. They are written to a fresh server
in one go, and then:

- the process is alive and answers every request that was sent as a well-formed
  frame (ids "fuzz-N"), within a deadline, exactly once, with a result or an error;
- it answers a final `shutdown`, and exits cleanly on `exit`.

Junk never holds the text `content-length` and ends with a blank line, and a bad
frame's body never holds it either: those are what let a reader find the next frame
(see `scoot_lsp.framing`), and the point is that the server does. A frame whose
declared length swallows the next one is not generated: the next one is its body.

The corpus in `corpus/lsp/` is replayed first (`test_corpus`, one server a file);
Hypothesis' own database of failing examples is `corpus/lsp/hypothesis/` (commit what
it saves). `SCOOT_LSP_FUZZ_EXAMPLES` sets how many examples a run generates (20 by
default: about half a minute, as each starts a server).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from lsprotocol.types import METHOD_TO_TYPES

from tests.lsp.conftest import SHOP
from tests.lsp.raw import DEADLINE, Message, frame, running

CORPUS = Path(__file__).parent / "corpus" / "lsp"
EXAMPLES = int(os.environ.get("SCOOT_LSP_FUZZ_EXAMPLES", "20"))
Step = dict[str, Any]

# --- the server's own method table --------------------------------------------------------


def _methods() -> tuple[list[str], list[str]]:
    from scoot_lsp.server import server

    features = server.protocol.fm
    names = sorted({*features.features, *features.builtin_features, "$/cancelRequest"})
    requests: list[str] = []
    notifications: list[str] = []
    for name in names:
        message_type = METHOD_TO_TYPES.get(name, (None,))[0]
        is_request = message_type is not None and "id" in attrs.fields_dict(message_type)
        (requests if is_request else notifications).append(name)
    # The only two that end the session: the runner sends them itself, at the end.
    requests.remove("shutdown")
    notifications.remove("exit")
    return requests, notifications


REQUESTS, NOTIFICATIONS = _methods()

# --- the files a step may name: symbols, made real by `Folder` ------------------------------

URIS = ["@open", "@file", "@fifo", "@device", "@directory", "@socket", "@missing", "@untitled"]


class Folder:
    """The files the URIs name: a regular file, a FIFO, a directory, a socket, and the open one."""

    def __init__(self, root: Path) -> None:
        (root / "architecture.sct").write_text(SHOP, encoding="utf-8")
        os.mkfifo(root / "pipe.sct")
        (root / "folder.sct").mkdir()
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(root / "socket.sct"))
        self.uris = {
            "@open": (root / "open.sct").as_uri(),
            "@file": (root / "architecture.sct").as_uri(),
            "@fifo": (root / "pipe.sct").as_uri(),
            "@device": "file:///dev/zero",
            "@directory": (root / "folder.sct").as_uri(),
            "@socket": (root / "socket.sct").as_uri(),
            "@missing": (root / "missing.sct").as_uri(),
            "@untitled": "untitled:scratch",
        }

    def real(self, value: Any) -> Any:
        """The value with each URI symbol made a URI."""
        if isinstance(value, str):
            return self.uris.get(value, value)
        if isinstance(value, list):
            return [self.real(item) for item in value]
        if isinstance(value, dict):
            return {key: self.real(item) for key, item in value.items()}
        return value


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Folder]:
    made = Folder(tmp_path_factory.mktemp("lsp-fuzz"))
    yield made
    made.listener.close()


# --- steps to bytes -----------------------------------------------------------------------

BAD_HEADERS = {
    "no length": "Content-Type: application/vscode-jsonrpc\r\n\r\n",
    "not a number": "Content-Length: twelve\r\n\r\n",
    "negative": "Content-Length: -12\r\n\r\n",
    "oversized": "Content-Length: 99999999999\r\n\r\n",
    "two lengths": "Content-Length: 3\r\nContent-Length: 4\r\n\r\n",
    "long line": "X-Padding: " + "p" * 2000 + "\r\n\r\n",
    "many lines": "X-Padding: p\r\n" * 40 + "\r\n",
    "not a header": "{not: a header}\r\n\r\n",
}


def render(steps: list[Step], folder: Folder) -> tuple[bytes, list[str]]:
    """The bytes of the steps, and the ids of the requests among them (each must be answered)."""
    out = bytearray()
    expected = []
    for number, step in enumerate(steps):
        kind = step["kind"]
        if kind in ("request", "notification"):
            message: dict[str, Any] = {"jsonrpc": "2.0", "method": step["method"]}
            if kind == "request":
                message["id"] = f"fuzz-{number}"
                expected.append(message["id"])
            if "params" in step:
                message["params"] = folder.real(step["params"])
            out += frame(message)
        elif kind == "body":
            out += frame(step["bytes"].encode("latin-1"))
        elif kind == "bad headers":
            out += BAD_HEADERS[step["headers"]].encode() + step["bytes"].encode("latin-1")
        elif kind == "junk":
            out += step["bytes"].encode("latin-1") + b"\r\n\r\n"
        else:
            raise AssertionError(f"a step of no kind: {step}")
    return bytes(out), expected


async def run(steps: list[Step], folder: Folder) -> list[Message]:
    """The answers to the steps' requests (checked: one each, and the server ended cleanly)."""
    data, expected = render(steps, folder)
    async with running() as client:
        await client.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": folder.uris["@open"], "languageId": "scoot", "version": 1, "text": SHOP}}})
        await client.write(data)
        await client.answers_to(expected, timeout=3 * DEADLINE)
        missing = [msg_id for msg_id in expected if msg_id not in client.answers]
        assert not missing, f"no answer to {missing}{client.said()}"
        final = await client.call("shutdown")
        assert "result" in final or "error" in final, final
        await client.send({"jsonrpc": "2.0", "method": "exit"})
        assert client.process is not None
        assert await asyncio.wait_for(client.process.wait(), DEADLINE) == 0, client.said()
        await client.until(lambda: client.closed, what="the end of the server's output")
        for msg_id in expected:
            answers = client.answers[msg_id]
            assert len(answers) == 1, f"{msg_id} answered {len(answers)} times: {answers}"
            assert ("result" in answers[0]) != ("error" in answers[0]), answers[0]
        ours = {msg_id for msg_id in client.answers if isinstance(msg_id, str) and msg_id.startswith("fuzz-")}
        assert ours <= set(expected), f"answers to requests never sent: {sorted(ours - set(expected))}"
        return [client.answers[msg_id][0] for msg_id in expected]


# --- the corpus ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", sorted(CORPUS.glob("*.json")), ids=lambda path: path.stem)
def test_corpus(seed: Path, folder: Folder) -> None:
    asyncio.run(run(json.loads(seed.read_text(encoding="utf-8")), folder))


# --- generated steps ----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(URIS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
text = st.sampled_from([SHOP, "", "component {", "application x {\n}\n"]) | st.text(max_size=40)
valid_numbers = st.integers(0, 30)
any_numbers = valid_numbers | st.integers(-3, -1) | st.sampled_from([2**31 - 1, 2**31, 2**32, 10**20]) | json_values


def param_keys(numbers: st.SearchStrategy[Any], names: st.SearchStrategy[Any]) -> dict[str, st.SearchStrategy[Any]]:
    """A strategy for each key the server's methods read. All of them together are valid
    params for nearly every method (a method ignores the keys it does not have)."""
    position = st.fixed_dictionaries({"line": numbers, "character": numbers})
    span = st.fixed_dictionaries({"start": position, "end": position})
    return {
        "textDocument": st.fixed_dictionaries({
            "uri": st.sampled_from(URIS),
            "languageId": st.just("scoot"),
            "version": st.integers(0, 100),
            "text": text,
        }),
        "position": position,
        "range": span,
        "context": st.fixed_dictionaries({"includeDeclaration": st.booleans(), "diagnostics": st.just([])}),
        "newName": names,
        "query": st.text(max_size=6),
        "options": st.fixed_dictionaries({"tabSize": numbers, "insertSpaces": st.booleans()}),
        "contentChanges": st.lists(st.fixed_dictionaries({"text": text}, optional={"range": span}), max_size=3),
        "changes": st.lists(st.fixed_dictionaries({"uri": st.sampled_from(URIS), "type": st.integers(1, 3)}), max_size=2),
        "id": st.builds(lambda n: f"fuzz-{n}", st.integers(0, 20)),  # $/cancelRequest: one of ours
        "capabilities": st.just({}),
        "value": st.sampled_from(["off", "messages", "verbose"]),
    }


# A quarter of the params fit (so that requests reach their handlers: positions on the
# text, past its end, renames); the rest have out-of-range numbers, values of the wrong
# JSON type, missing keys, or are not an object at all.
FITTING = param_keys(valid_numbers, st.sampled_from(["orders2", "api", "", "not a name"]))
ANY = param_keys(any_numbers, st.sampled_from(["orders2", "api", "", "not a name"]) | json_values)
params = (
    st.fixed_dictionaries(FITTING)
    | st.fixed_dictionaries(ANY)
    | st.fixed_dictionaries({}, optional=ANY | {"textDocument": st.text(max_size=20) | json_values})
    | json_values
)


def _without_header(data: bytes) -> bool:
    return b"content-length" not in data.lower()


def _not_exit(body: str) -> bool:
    """A body that is not an `exit` notification (Hypothesis draws strings from this file too)."""
    try:
        message = json.loads(body)
    except ValueError:
        return True
    return not (isinstance(message, dict) and message.get("method") == "exit")


latin1 = st.binary(max_size=120).filter(_without_header).map(lambda data: data.decode("latin-1"))
json_text = json_values.map(json.dumps)
envelopes = st.fixed_dictionaries({}, optional={
    "jsonrpc": st.sampled_from(["2.0", "1.0"]) | json_values,
    "id": json_values,
    "method": st.sampled_from([*REQUESTS, *NOTIFICATIONS, "no/such"]) | json_values,
    "params": params,
    "result": json_values,
    "error": json_values,
}).map(json.dumps)


def _optional_params(method: str, value: Any) -> Step:
    return {"method": method, "params": value} if value is not None else {"method": method}


steps = st.lists(
    st.one_of(
        st.builds(lambda m, p: {"kind": "request", **_optional_params(m, p)}, st.sampled_from(REQUESTS), params | st.none()),
        st.builds(lambda m, p: {"kind": "notification", **_optional_params(m, p)}, st.sampled_from(NOTIFICATIONS), params),
        st.builds(lambda b: {"kind": "body", "bytes": b},
                  (latin1 | json_text | envelopes).filter(lambda b: "fuzz-" not in b and _not_exit(b))),
        st.builds(lambda h, b: {"kind": "bad headers", "headers": h, "bytes": b}, st.sampled_from(sorted(BAD_HEADERS)),
                  (latin1 | json_text).filter(lambda b: _without_header(b.encode("latin-1")))),
        st.builds(lambda b: {"kind": "junk", "bytes": b}, latin1),
    ),
    min_size=1,
    max_size=20,
)


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,  # an example starts a server: seconds, not milliseconds
    database=DirectoryBasedExampleDatabase(str(CORPUS / "hypothesis")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
@given(steps=steps)
def test_generated(steps: list[Step], folder: Folder) -> None:
    note("as a corpus file: " + json.dumps(steps))
    for answer in asyncio.run(run(steps, folder)):
        # For --hypothesis-show-statistics: how many requests reach a handler.
        event("a result" if "result" in answer else f"error {answer['error']['code']}")
