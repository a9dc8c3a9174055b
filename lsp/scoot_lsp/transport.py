"""The server's read loop, for stdio and TCP: bytes to `FrameParser`, frames to the protocol.

It takes the place of pygls' `run_async` (see `framing` for why), through the
server's `start_io` and `start_tcp`, the entry points pygls lets a server override.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import select
import threading
from typing import Protocol

from scoot_lsp.framing import Frame, FrameParser
from scoot_lsp.protocol import ScootProtocol

CHUNK = 64 * 1024  # one read; the parser holds at most one frame plus this

log = logging.getLogger("scoot_lsp")


class Source(Protocol):
    async def read(self, size: int) -> bytes:
        """Up to `size` bytes, at least one; b"" at the end of the stream."""
        ...


class StreamSource:
    """A TCP connection's reader."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def read(self, size: int) -> bytes:
        return await self._reader.read(size)


class DescriptorSource:
    """A file descriptor (stdin) read on a daemon thread, one chunk when the loop asks.

    pygls reads stdin in its thread pool, whose threads are joined when the interpreter
    exits: a read still waiting on the client held the server up after `exit`. A
    daemon thread is not waited for; and it reads with `os.read`, since a buffered
    reader's lock held by a daemon thread at exit aborts the interpreter. Reading only
    when asked leaves what the loop has not taken in the pipe: a client that writes
    faster than the server handles is slowed down, not buffered without bound.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._asks: queue.SimpleQueue[tuple[int, asyncio.Future[bytes]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ended = False  # the stream ended: the thread is gone, nothing more comes

    async def read(self, size: int) -> bytes:
        if self._ended:
            return b""
        loop = asyncio.get_running_loop()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(loop,), name="scoot-lsp-stdin", daemon=True)
            self._thread.start()
        answer: asyncio.Future[bytes] = loop.create_future()
        self._asks.put((size, answer))
        return await answer

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            size, answer = self._asks.get()
            try:
                data = self._read(size)
            except OSError as error:
                log.error("reading from the client failed: %s", error)
                data = b""
            self._ended = not data  # the end of the stream: nothing more to read
            try:
                loop.call_soon_threadsafe(_settle, answer, data)
            except RuntimeError:  # the loop is closed: the server has stopped
                return
            if self._ended:
                return

    def _read(self, size: int) -> bytes:
        while True:
            try:
                return os.read(self._fd, size)
            except BlockingIOError:  # a descriptor left non-blocking by whoever started us
                select.select([self._fd], [], [])


def _settle(answer: asyncio.Future[bytes], data: bytes) -> None:
    if not answer.done():
        answer.set_result(data)


async def serve(source: Source, protocol: ScootProtocol, stop: threading.Event) -> None:
    """Read frames until the stream ends or the server stops; answer the ones that cannot be read."""
    parser = FrameParser()
    while not stop.is_set():
        data = await source.read(CHUNK)
        if not data:
            if not parser.idle:
                log.warning("the client closed the connection in the middle of a frame")
            log.info("the client closed the connection")
            return
        for event in parser.feed(data):
            if isinstance(event, Frame):
                protocol.handle_frame(event.body)
            else:
                log.warning("a frame was refused: %s", event.message)
                protocol.reply_error(None, event.code, event.message)
