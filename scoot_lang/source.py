"""Source text and positions: offsets in, lines and columns out."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import NamedTuple


def decode_text(data: bytes) -> str:
    """UTF-8 bytes as text, newlines as a text-mode read gives them (`\\r\\n` and `\\r` are `\\n`).

    Raises `UnicodeDecodeError` for bytes that are not UTF-8.
    """
    text = data.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


class Span(NamedTuple):
    """A range of a source file, as character offsets `[start, end)`."""

    file: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column (columns count characters)."""

    line: int
    column: int


@dataclass(slots=True)
class SourceFile:
    """One file of a compilation unit, with a line index built on first use."""

    path: str
    text: str
    _line_starts: array[int] | None = field(default=None, repr=False, compare=False)

    @property
    def line_starts(self) -> array[int]:
        if self._line_starts is None:
            # Machine integers, 8 bytes a line: a list would take 40 (a text of
            # newlines only would cost 40 times its size).
            starts = array("q", [0])
            find = self.text.find
            index = find("\n")
            while index >= 0:
                starts.append(index + 1)
                index = find("\n", index + 1)
            self._line_starts = starts
        return self._line_starts

    def position(self, offset: int) -> Position:
        starts = self.line_starts
        line = bisect_right(starts, offset) - 1
        return Position(line + 1, offset - starts[line] + 1)

    def offset(self, line: int, column: int) -> int:
        """The offset of a 1-based line and column, clamped to the text."""
        starts = self.line_starts
        if line < 1:
            return 0
        if line > len(starts):
            return len(self.text)
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return min(start + max(column - 1, 0), end)

    def line_text(self, line: int) -> str:
        starts = self.line_starts
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[start:end].rstrip("\r")
