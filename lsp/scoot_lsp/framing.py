"""LSP's base protocol, read with bounds: `Content-Length` headers, a blank line, a body.

pygls' own reader trusts its client: it allocates whatever `Content-Length` says (a
MemoryError for 99999999999), reads header lines of any length, and a frame without a
usable `Content-Length` leaves it waiting for one forever, answering nothing. This
parser is fed bytes as they arrive and returns what they make: whole frames, and the
errors to answer (JSON-RPC's rule: id null when no request can be named).

Limits, each answered with a Parse error (-32700):

- a body of at most `MAX_FRAME_BYTES` (16 MiB: four times the largest file the server
  reads from disk, `disk.MAX_FILE_BYTES`, leaving room for JSON's escapes);
- header lines of at most `MAX_HEADER_LINE` bytes, at most `MAX_HEADERS` of them;
- a `Content-Length` that is present, once, and a decimal number.

After an error the parser resynchronises: it discards bytes until the next
`Content-Length:` (a JSON body cannot hold one outside a string, and a frame's body is
never searched). A declared length that is too large is not skipped: a client that
lies about it would otherwise have every later frame swallowed, and one that does not
lie has its oversized body discarded by the search, never held. Memory stays bounded
by one frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_HEADER_LINE = 1024
MAX_HEADERS = 32

PARSE_ERROR = -32700

_CONTENT_LENGTH = b"content-length"
_RESYNC = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
# Bytes kept when a search finds nothing: a `Content-Length:` split across two reads.
_KEEP = 64
# RFC 9110's token: what a header name may be. A line of JSON is not one.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")
_DIGITS = re.compile(rb"[0-9]+")


@dataclass(frozen=True)
class Frame:
    body: bytes


@dataclass(frozen=True)
class FrameError:
    """A frame that could not be read; `message` says why (for the log and the client)."""

    message: str
    code: int = PARSE_ERROR


Event = Frame | FrameError


class FrameParser:
    """Bytes in, frames and errors out; no I/O, so it is the same for stdio and TCP."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._body_length: int | None = None  # reading a body of this length
        self._searching = False  # discarding up to the next `Content-Length:`
        # The header block being read is buffer[:_line_start] plus the lines after it.
        self._line_start = 0
        self._headers = 0
        self._length: int | None = None
        self._error: str | None = None  # the block's first problem, said when it ends

    @property
    def idle(self) -> bool:
        """Between frames: nothing of the next one read (so an end of stream here is clean)."""
        return self._body_length is None and not self._searching and not self._buffer.strip()

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        while self._step(events):
            pass
        return events

    def _step(self, events: list[Event]) -> bool:
        """One step forward; False when it needs more bytes."""
        if self._searching:
            return self._search()
        if self._body_length is not None:
            if len(self._buffer) < self._body_length:
                return False
            events.append(Frame(bytes(self._buffer[: self._body_length])))
            del self._buffer[: self._body_length]
            self._body_length = None
            return True
        return self._header_line(events)

    def _search(self) -> bool:
        """Skip to the next `Content-Length:`; False when the buffer holds none yet."""
        match = _RESYNC.search(self._buffer)
        if match is None:
            del self._buffer[: max(len(self._buffer) - _KEEP, 0)]
            return False
        del self._buffer[: match.start()]
        self._searching = False
        return True

    def _header_line(self, events: list[Event]) -> bool:
        """Read one line of the header block.

        The block stays in the buffer until it ends, so that after a malformed line the
        search can start just after that line's first byte: a line of JSON that ran into
        the next frame's `Content-Length:` (a client that forgot the headers) then finds
        that frame.
        """
        start = self._line_start
        end = self._buffer.find(b"\n", start, start + MAX_HEADER_LINE + 2)
        if end < 0:
            if len(self._buffer) - start > MAX_HEADER_LINE + 1:
                events.append(self._restart(start + 1, f"a header line is longer than {MAX_HEADER_LINE} bytes"))
                return True
            return False
        line = bytes(self._buffer[start:end])
        if line.endswith(b"\r"):
            line = line[:-1]
        self._line_start = end + 1
        if not line:
            if self._headers == 0:  # blank lines between frames: tolerated, dropped
                del self._buffer[: self._line_start]
                self._line_start = 0
            else:
                self._block_end(events)
            return True
        self._headers += 1
        if self._headers > MAX_HEADERS:
            events.append(self._restart(start, f"a frame has more than {MAX_HEADERS} header lines"))
            return True
        name, colon, value = line.partition(b":")
        value = value.strip(b" \t")
        if not colon or not _TOKEN.fullmatch(name) or not _VALUE.fullmatch(value):
            events.append(self._restart(start + 1, f"not a header line: {line[:80].decode('latin-1')!r}"))
            return True
        if name.lower() == _CONTENT_LENGTH:
            if not _DIGITS.fullmatch(value):
                shown = value[:40].decode("latin-1")
                self._error = self._error or f"Content-Length {shown!r} is not a number of bytes"
            elif self._length is not None and self._length != int(value):
                self._error = self._error or "a frame has two different Content-Length headers"
            else:
                self._length = int(value)
        return True

    def _block_end(self, events: list[Event]) -> None:
        """The blank line after the headers: a body to read next, or an error."""
        error = self._error
        if error is None and self._length is None:
            error = "a frame has no Content-Length header"
        elif error is None and self._length is not None and self._length > MAX_FRAME_BYTES:
            error = f"a frame of {self._length} bytes is larger than the {MAX_FRAME_BYTES} the server reads"
        if error is not None:
            events.append(self._restart(self._line_start, error))
            return
        self._body_length = self._length
        del self._buffer[: self._line_start]
        self._clear()

    def _restart(self, skip: int, message: str) -> FrameError:
        """Give up on the block: drop `skip` bytes and search for the next header."""
        del self._buffer[:skip]
        self._clear()
        self._searching = True
        return FrameError(message)

    def _clear(self) -> None:
        self._line_start = 0
        self._headers = 0
        self._length = None
        self._error = None
