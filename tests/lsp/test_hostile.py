"""A hostile client: bad frames, malformed requests, files that are not files.

Each test drives `scoot lsp` as a real process through `raw.RawClient` (a client
library sends none of this) and waits for every answer with a deadline: the server
must answer each request, with a result or a JSON-RPC error, and go on.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lsp.conftest import SHOP
from tests.lsp.raw import RawClient, frame, request, running, start_tcp
from tests.ports import free_port

pytestmark = pytest.mark.asyncio

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
REQUEST_CANCELLED = -32800
SYMBOLS = {"query": ""}


async def still_answers(client: RawClient, timeout: float = 5.0) -> None:
    answer = await client.call("workspace/symbol", SYMBOLS, timeout=timeout)
    assert "result" in answer, answer


# --- frames -------------------------------------------------------------------------------


async def test_an_oversized_frame_is_refused_and_the_next_request_answered() -> None:
    async with running() as client:
        await client.write(b"Content-Length: 99999999999\r\n\r\n{}")
        await still_answers(client)
        error = await client.unnamed_error()
        assert error["error"]["code"] == PARSE_ERROR
        assert "99999999999 bytes is larger than" in error["error"]["message"]
        # An oversized body sent whole is skipped, not held (the server's memory is capped
        # well below what holding many such frames would take).
        body = json.dumps(request(1, "workspace/symbol", {"query": "x" * (17 * 1024 * 1024)})).encode()
        for _ in range(3):
            await client.write(frame(body))
        await still_answers(client)
        assert len(client.unnamed) == 4 and 1 not in client.answers
        assert await client.stop() == 0


BAD_HEADERS = {
    "no Content-Length": b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}",
    "Content-Length: abc": b"Content-Length: abc\r\n\r\n{}",
    "a negative Content-Length": b"Content-Length: -5\r\n\r\n{}",
    "two Content-Lengths": b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "a header line of 1 MiB": b"X-Padding: " + b"a" * 2**20 + b"\r\n\r\n{}",
    "a hundred header lines": b"X-Padding: a\r\n" * 100 + b"\r\n{}",
    "a body without headers": json.dumps(request(1, "workspace/symbol", SYMBOLS)).encode(),
}


@pytest.mark.parametrize("bad", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
async def test_a_frame_with_bad_headers_is_answered_and_the_next_one_read(bad: bytes) -> None:
    async with running() as client:
        await client.write(bad)
        await still_answers(client)
        error = await client.unnamed_error()
        assert error["error"]["code"] == PARSE_ERROR, error
        assert 1 not in client.answers  # nothing of a refused frame is run
        assert await client.stop() == 0


async def test_over_tcp_too() -> None:
    client = await start_tcp(free_port())
    try:
        await client.initialize()
        await client.write(b"Content-Length: 99999999999\r\n\r\n")
        await still_answers(client)
        assert (await client.unnamed_error())["error"]["code"] == PARSE_ERROR
        await client.write(b"Content-Length: abc\r\n\r\n{}")
        await still_answers(client)
        assert (await client.unnamed_error(2))["error"]["code"] == PARSE_ERROR
        assert await client.stop() == 0
    finally:
        await client.kill()


# --- bodies -------------------------------------------------------------------------------

WORKSPACE_SYMBOL = {"method": "workspace/symbol", "params": SYMBOLS}
DOCUMENT = {"textDocument": {"uri": "untitled:a", "languageId": "scoot", "version": 1, "text": ""}}

# (body, the error code, the id it answers)
BODIES: list[tuple[bytes | dict[str, Any], int, Any]] = [
    (b"{", PARSE_ERROR, None),
    (b"", PARSE_ERROR, None),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "\xff"}', PARSE_ERROR, None),  # not UTF-8
    (b"[" * 100_000, PARSE_ERROR, None),  # nested beyond any parser's stack
    (b"[]", INVALID_REQUEST, None),
    (b"42", INVALID_REQUEST, None),
    ({"jsonrpc": "2.0"}, INVALID_REQUEST, None),
    ({"id": 11, **WORKSPACE_SYMBOL}, INVALID_REQUEST, 11),  # no "jsonrpc"
    ({"jsonrpc": "1.0", "id": 12, **WORKSPACE_SYMBOL}, INVALID_REQUEST, 12),
    ({"jsonrpc": "2.0", "id": 1.5, **WORKSPACE_SYMBOL}, INVALID_REQUEST, None),
    ({"jsonrpc": "2.0", "id": True, **WORKSPACE_SYMBOL}, INVALID_REQUEST, None),
    ({"jsonrpc": "2.0", "id": {"a": 1}, **WORKSPACE_SYMBOL}, INVALID_REQUEST, None),
    ({"jsonrpc": "2.0", "id": None, **WORKSPACE_SYMBOL}, INVALID_REQUEST, None),
    ({"jsonrpc": "2.0", "id": 13, "method": 7}, INVALID_REQUEST, 13),
    ({"jsonrpc": "2.0", "id": 14, "method": "textDocument/didOpen", "params": DOCUMENT}, INVALID_REQUEST, 14),
    ({"jsonrpc": "2.0", "id": 15, "method": "no/such/method", "params": {"a": [{"b": {}}] * 1000}}, METHOD_NOT_FOUND, 15),
    ({"jsonrpc": "2.0", "id": "sixteen", "method": "workspace/symbol", "params": {"query": 16}}, INVALID_PARAMS, "sixteen"),
]


async def test_bodies_that_are_not_requests_are_answered() -> None:
    """One answer each, with the code JSON-RPC gives and the id when one can be read."""
    async with running() as client:
        failures = []
        for number, (body, code, answers) in enumerate(BODIES):
            before = len(client.unnamed)
            await client.write(frame(body if isinstance(body, bytes) else json.dumps(body).encode()))
            await client.send(request(f"after {number}", "workspace/symbol", SYMBOLS))
            # Answers come in order here (both are answered at once): the one after shows
            # that the server read on, and by then any answer to the bad body has come.
            await client.answers_to([f"after {number}"], timeout=5.0)
            if f"after {number}" not in client.answers:
                failures.append(f"#{number} {body!r:.80}: the server stopped answering")
                break
            answer = client.answers.get(answers, [None])[0] if answers is not None else (
                client.unnamed[before] if len(client.unnamed) > before else None)
            if answer is None:
                failures.append(f"#{number} {body!r:.80}: no answer")
            elif code is not None and answer.get("error", {}).get("code") != code:
                failures.append(f"#{number} {body!r:.80}: expected error {code}, got {answer}")
        assert not failures, "\n".join(failures)
        assert await client.stop() == 0


# --- params -------------------------------------------------------------------------------


def malformed(doc: str) -> Iterator[tuple[str, str, Any, int | None]]:
    """(name, method, params, the error code or None for "a result or an error") for each case."""
    ident = {"uri": doc}

    def at(line: Any, character: Any) -> dict[str, Any]:
        return {"line": line, "character": character}

    extras: dict[str, dict[str, Any]] = {
        "textDocument/hover": {},
        "textDocument/completion": {},
        "textDocument/definition": {},
        "textDocument/references": {"context": {"includeDeclaration": True}},
        "textDocument/prepareRename": {},
        "textDocument/rename": {"newName": "shop2"},
    }
    for method, extra in extras.items():
        cases: dict[str, tuple[Any, int | None]] = {
            "a negative line": ({"textDocument": ident, "position": at(-1, 0), **extra}, INVALID_PARAMS),
            "a negative character": ({"textDocument": ident, "position": at(0, -5), **extra}, INVALID_PARAMS),
            "a line of 2^31": ({"textDocument": ident, "position": at(2**31, 0), **extra}, INVALID_PARAMS),
            "a character of 2^32": ({"textDocument": ident, "position": at(0, 2**32), **extra}, INVALID_PARAMS),
            "a line of 10^30": ({"textDocument": ident, "position": at(10**30, 0), **extra}, INVALID_PARAMS),
            "a line that is a word": ({"textDocument": ident, "position": at("one", 0), **extra}, INVALID_PARAMS),
            "a line that is a numeral": ({"textDocument": ident, "position": at("3", 0), **extra}, INVALID_PARAMS),
            "a line of 1.5": ({"textDocument": ident, "position": at(1.5, 0), **extra}, INVALID_PARAMS),
            "a character that is true": ({"textDocument": ident, "position": at(0, True), **extra}, INVALID_PARAMS),
            "a uri that is a number": ({"textDocument": {"uri": 5}, "position": at(0, 0), **extra}, INVALID_PARAMS),
            "a position that is a list": ({"textDocument": ident, "position": [0, 0], **extra}, INVALID_PARAMS),
            "no position": ({"textDocument": ident, **extra}, INVALID_PARAMS),
            "no textDocument": ({"position": at(0, 0), **extra}, INVALID_PARAMS),
            "a textDocument that is a string": ({"textDocument": doc, "position": at(0, 0), **extra}, INVALID_PARAMS),
            "no params": (None, INVALID_PARAMS),
            "params that are a list": ([doc, 0, 0], INVALID_PARAMS),
            # The largest position LSP allows is past the end: clamped to it, as LSP says.
            "the last position there is": ({"textDocument": ident, "position": at(2**31 - 1, 2**31 - 1), **extra}, None),
        }
        for name, (params, code) in cases.items():
            yield name, method, params, code
    yield "a rename to a number", "textDocument/rename", {"textDocument": ident, "position": at(0, 12), "newName": 5}, INVALID_PARAMS
    yield "references without a context", "textDocument/references", {"textDocument": ident, "position": at(0, 0)}, INVALID_PARAMS
    for method in ["textDocument/semanticTokens/full", "textDocument/documentSymbol", "textDocument/codeLens",
                   "textDocument/foldingRange", "textDocument/diagnostic", "textDocument/formatting"]:
        extra = {"options": {"tabSize": 2, "insertSpaces": True}} if method.endswith("formatting") else {}
        yield "no textDocument", method, {**extra}, INVALID_PARAMS
        yield "a uri that is null", method, {"textDocument": {"uri": None}, **extra}, INVALID_PARAMS
        yield "no params", method, None, INVALID_PARAMS
        yield "a uri that is not a file", method, {"textDocument": {"uri": "untitled:nothing"}, **extra}, None
    yield "formatting without options", "textDocument/formatting", {"textDocument": ident}, INVALID_PARAMS
    yield "a tab size of -1", "textDocument/formatting", {"textDocument": ident, "options": {"tabSize": -1, "insertSpaces": True}}, INVALID_PARAMS
    code_action = {"textDocument": ident, "context": {"diagnostics": []}}
    yield "a range before the start", "textDocument/codeAction", {**code_action, "range": {"start": at(-1, -1), "end": at(0, 0)}}, INVALID_PARAMS
    yield "a range past the end", "textDocument/codeAction", {**code_action, "range": {"start": at(0, 0), "end": at(2**31 - 1, 0)}}, None
    yield "a range reversed", "textDocument/codeAction", {**code_action, "range": {"start": at(5, 0), "end": at(0, 0)}}, None
    yield "no context", "textDocument/codeAction", {"textDocument": ident, "range": {"start": at(0, 0), "end": at(0, 0)}}, INVALID_PARAMS
    yield "a query that is a number", "workspace/symbol", {"query": 5}, INVALID_PARAMS
    yield "no query", "workspace/symbol", {}, INVALID_PARAMS


async def test_malformed_requests_are_answered(tmp_path: Path) -> None:
    """Negative and too large positions, wrong types, missing params: each answered, once."""
    path = tmp_path / "architecture.sct"
    path.write_text(SHOP, encoding="utf-8")
    doc = path.as_uri()
    async with running() as client:
        await client.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": doc, "languageId": "scoot", "version": 1, "text": SHOP}}})
        cases = list(malformed(doc))
        sent = {await client.request(method, params): (name, method, code) for name, method, params, code in cases}
        await client.answers_to(list(sent), timeout=20.0)
        failures = []
        for msg_id, (name, method, code) in sent.items():
            if msg_id not in client.answers:
                failures.append(f"{method} with {name}: no answer")
                continue
            answer = client.answers[msg_id][0]
            if not ("result" in answer) ^ ("error" in answer):
                failures.append(f"{method} with {name}: not an answer: {answer}")
            elif code is not None and answer.get("error", {}).get("code") != code:
                failures.append(f"{method} with {name}: expected error {code}, got {answer}")
        await still_answers(client)
        twice = [msg_id for msg_id in sent if len(client.answers[msg_id]) > 1]
        assert not failures, f"{len(failures)} of {len(cases)} requests:\n" + "\n".join(failures)
        assert not twice
        assert await client.stop() == 0


async def test_cancelled_and_late_requests_are_answered_once() -> None:
    async with running() as client:
        # A request and its cancellation in one write (atomic on a pipe, so read at once):
        # cancelled before it runs, and answered so.
        await client.write(frame(request("cancelled", "workspace/symbol", SYMBOLS))
                           + frame({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "cancelled"}}))
        assert (await client.answer("cancelled"))["error"]["code"] == REQUEST_CANCELLED
        # After shutdown: an error each (pygls used to drop them), and exit ends the server.
        assert "result" in await client.call("shutdown")
        after: list[tuple[str, Any]] = [("workspace/symbol", SYMBOLS), ("shutdown", None), ("initialize", {"capabilities": {}})]
        for method, params in after:
            answer = await client.call(method, params)
            assert answer.get("error", {}).get("code") == INVALID_REQUEST, answer
        await client.send({"jsonrpc": "2.0", "method": "exit"})
        assert client.process is not None
        assert await client.process.wait() == 0
        assert len(client.answers["cancelled"]) == 1


# --- files the client names --------------------------------------------------------------


def special_file(kind: str, folder: Path) -> tuple[str, str]:
    """A file:// URI of a file of that kind, and what the server's answer says of it."""
    if kind == "a FIFO":
        os.mkfifo(folder / "pipe.sct")
        return (folder / "pipe.sct").as_uri(), "is a FIFO (named pipe), not a regular file"
    if kind == "a device":
        return "file:///dev/zero", "is a character device, not a regular file"
    if kind == "a directory":
        (folder / "folder.sct").mkdir()
        return (folder / "folder.sct").as_uri(), "is a folder, not a regular file"
    if kind == "a socket":
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(folder / "socket.sct"))  # closed with the process; the file stays
        return (folder / "socket.sct").as_uri(), "is a socket, not a regular file"
    if kind == "a file of 5 MiB":
        (folder / "large.sct").write_bytes(b"# " + b"x" * (5 * 1024 * 1024) + b"\n")
        return (folder / "large.sct").as_uri(), "is larger than 4 MiB"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["a FIFO", "a device", "a directory", "a socket", "a file of 5 MiB"])
async def test_unopened_files_that_are_not_regular_are_refused(kind: str, tmp_path: Path) -> None:
    """Refused with the reason, at once; every later request still answered promptly."""
    uri, reason = special_file(kind, tmp_path)
    async with running() as client:
        position = {"line": 0, "character": 0}
        for method, params in [
            ("textDocument/hover", {"textDocument": {"uri": uri}, "position": position}),
            ("textDocument/definition", {"textDocument": {"uri": uri}, "position": position}),
            ("textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}}),
        ]:
            answer = await client.call(method, params, timeout=5.0)
            assert reason in answer.get("error", {}).get("message", ""), answer
        await still_answers(client)
        assert await client.stop() == 0
