"""A raw client for hostile input: `scoot lsp` as a real process, bytes written as given.

A client library (pytest-lsp) sends only well-formed frames with well-typed params,
and waits without a deadline. This one writes whatever bytes a test gives, reads the
server's frames on a task, and waits for each answer with a deadline, so that a
server that hangs fails the test instead of hanging it. The server runs with a cap
on its address space: a regression that reads without bounds fails with
MemoryError at once rather than taking the machine's memory with it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import resource
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

SERVER = [sys.executable, "-m", "scoot_cli", "lsp"]
DEADLINE = 10.0  # seconds for one answer; the server answers in milliseconds
MEMORY_CAP = 3 * 1024**3  # address space: Python's threads reserve arenas, far beyond what they use

_LIMIT = 64 * 1024 * 1024  # the client's line limit: the server's answers can be long

Message = dict[str, Any]


def frame(message: Message | bytes) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(msg_id: int | str, method: str, params: Any = None) -> Message:
    message: Message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


class RawClient:
    """One connection to a server: what it sent, by id, and a way to wait for it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, process: asyncio.subprocess.Process | None) -> None:
        self.reader = reader
        self.writer = writer
        self.process = process
        self.answers: dict[int | str, list[Message]] = collections.defaultdict(list)
        self.unnamed: list[Message] = []  # answers with id null: frames that could not be read
        self.notifications: list[Message] = []
        self.stderr: collections.deque[str] = collections.deque(maxlen=200)
        self.closed = False
        self._ids = itertools.count(1000)
        self._changed = asyncio.Condition()
        self._tasks = [asyncio.ensure_future(self._read())]
        if process is not None and process.stderr is not None:
            self._tasks.append(asyncio.ensure_future(self._drain(process.stderr)))

    @classmethod
    async def start(cls, *args: str) -> RawClient:
        """`scoot lsp` on stdio (its stderr drained: a full pipe would block its logging)."""
        process = await asyncio.create_subprocess_exec(
            *SERVER, *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=_cap_memory,
            limit=_LIMIT,
        )
        assert process.stdout is not None and process.stdin is not None
        return cls(process.stdout, process.stdin, process)

    # --- sending ----------------------------------------------------------------------

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, message: Message | bytes) -> None:
        await self.write(frame(message))

    async def request(self, method: str, params: Any = None) -> int:
        """Send a request; its id (for `answer`)."""
        msg_id = next(self._ids)
        await self.send(request(msg_id, method, params))
        return msg_id

    async def call(self, method: str, params: Any = None, timeout: float = DEADLINE) -> Message:
        return await self.answer(await self.request(method, params), timeout)

    async def initialize(self, root: str | None = None) -> None:
        params = {"processId": None, "rootUri": root, "capabilities": {}, "initializationOptions": {"debounce": 0.0}}
        answer = await self.call("initialize", params)
        assert "result" in answer, answer
        await self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    # --- waiting ----------------------------------------------------------------------

    async def until(self, condition: Callable[[], bool], timeout: float = DEADLINE, what: str = "the server") -> None:
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: condition() or self.closed), timeout)
        except TimeoutError:
            raise AssertionError(f"no answer from {what} in {timeout} s{self.said()}") from None
        if not condition():
            raise AssertionError(f"the server closed the connection before {what} answered{self.said()}")

    async def answer(self, msg_id: int | str, timeout: float = DEADLINE) -> Message:
        """The one answer to a request (waited for)."""
        await self.until(lambda: msg_id in self.answers, timeout, f"request {msg_id!r}")
        return self.answers[msg_id][0]

    async def answers_to(self, ids: Sequence[int | str], timeout: float = DEADLINE) -> None:
        """Wait, with one deadline, until each request has an answer; missing ones are not an error here."""
        with contextlib.suppress(AssertionError):
            await self.until(lambda: all(msg_id in self.answers for msg_id in ids), timeout, "every request")

    async def unnamed_error(self, count: int = 1, timeout: float = DEADLINE) -> Message:
        """The `count`-th answer with id null (an unreadable frame's)."""
        await self.until(lambda: len(self.unnamed) >= count, timeout, f"an error with id null (#{count})")
        return self.unnamed[count - 1]

    def said(self) -> str:
        return "; the server said:\n" + "".join(self.stderr) if self.stderr else ""

    # --- reading ----------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            while True:
                length = None
                while True:
                    line = await self.reader.readline()
                    if not line:
                        return
                    if not line.strip():
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                assert length is not None, "the server sent a frame without Content-Length"
                message = json.loads(await self.reader.readexactly(length))
                async with self._changed:
                    if "method" in message:
                        self.notifications.append(message)  # a request of the server's too
                    elif message.get("id") is None:
                        self.unnamed.append(message)
                    else:
                        self.answers[message["id"]].append(message)
                    self._changed.notify_all()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            self.closed = True
            async with self._changed:
                self._changed.notify_all()

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode("utf-8", "replace"))

    # --- ending -----------------------------------------------------------------------

    async def stop(self, timeout: float = DEADLINE) -> int | None:
        """`shutdown` and `exit` if the server still listens; its exit code (killed if it hangs)."""
        try:
            if not self.closed and not self.writer.is_closing():
                shutdown = await self.request("shutdown")
                await self.answer(shutdown, timeout)
                await self.send({"jsonrpc": "2.0", "method": "exit"})
            if self.process is not None:
                return await asyncio.wait_for(self.process.wait(), timeout)
            return None
        finally:
            await self.kill()

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self.writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def start_tcp(port: int, timeout: float = DEADLINE) -> RawClient:
    """`scoot lsp --tcp` and a connection to it, once it listens (it takes a second to start)."""
    process = await asyncio.create_subprocess_exec(
        *SERVER, "--tcp", "--port", str(port),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_cap_memory,
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=_LIMIT)
            return RawClient(reader, writer, process)
        except OSError:
            if time.monotonic() > deadline or process.returncode is not None:
                process.kill()
                await process.wait()
                raise
            await asyncio.sleep(0.05)  # polling for the port to open: there is nothing to wait on


@contextlib.asynccontextmanager
async def running(*args: str) -> AsyncIterator[RawClient]:
    """A started, initialized server on stdio; killed at the end whatever happened."""
    client = await RawClient.start(*args)
    try:
        await client.initialize()
        yield client
    finally:
        await client.kill()
