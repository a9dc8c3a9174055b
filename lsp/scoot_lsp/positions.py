"""Character offsets (the compiler's) to LSP positions (line, UTF-16 code unit) and back.

The compiler counts characters (Python `str` indices); LSP counts UTF-16 code
units by default, so a character outside the Basic Multilingual Plane (an
emoji) is one character but two units (UTF-8 and UTF-32, when the client
negotiates them, are supported too). LSP ends lines at `\\n`, `\\r\\n` and `\\r`.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from lsprotocol import types as lsp

_BREAK = re.compile(r"\r\n|\r|\n")


UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


def _width(ch: str, encoding: str) -> int:
    """The code units of one character in an encoding."""
    code = ord(ch)
    if encoding == UTF16:
        return 2 if code > 0xFFFF else 1
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 1


def _units(text: str, encoding: str) -> int:
    """Code units of `text` in the position encoding."""
    if text.isascii() or encoding == UTF32:
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class LineIndex:
    """The lines of one text, for converting offsets and positions both ways."""

    __slots__ = ("_ends", "_starts", "encoding", "text")

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.encoding = encoding
        starts = [0]
        ends: list[int] = []
        if "\r" in text:
            for match in _BREAK.finditer(text):
                ends.append(match.start())
                starts.append(match.end())
        else:
            find = text.find
            index = find("\n")
            while index >= 0:
                ends.append(index)
                starts.append(index + 1)
                index = find("\n", index + 1)
        ends.append(len(text))
        self._starts = starts
        self._ends = ends

    def edited(self, start: int, end: int, inserted: str, text: str) -> LineIndex:
        """The index of `text`, this index's text with `[start, end)` replaced by `inserted`:
        the lines before the edit kept, those after it moved (a keystroke in a large
        file does not look for every line break again). With `\r`, indexed afresh."""
        if "\r" in inserted or "\r" in self.text:
            return LineIndex(text, self.encoding)
        delta = len(inserted) - (end - start)
        breaks: list[int] = []
        at = inserted.find("\n")
        while at >= 0:
            breaks.append(start + at)
            at = inserted.find("\n", at + 1)
        starts, ends = self._starts, self._ends
        kept, gone = bisect_right(starts, start), bisect_right(starts, end)  # gone: breaks removed
        index = LineIndex.__new__(LineIndex)
        index.text, index.encoding = text, self.encoding
        index._starts = [*starts[:kept], *(b + 1 for b in breaks), *(s + delta for s in starts[gone:])]
        kept, gone = bisect_left(ends, start), bisect_left(ends, end)
        index._ends = [*ends[:kept], *breaks, *(e + delta for e in ends[gone:])]
        return index

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_of(self, offset: int) -> int:
        return max(bisect_right(self._starts, offset) - 1, 0)

    def position(self, offset: int) -> lsp.Position:
        offset = min(max(offset, 0), len(self.text))
        line = self.line_of(offset)
        start = self._starts[line]
        offset = min(offset, self._ends[line])  # inside a `\r\n`: the end of the line
        return lsp.Position(line=line, character=_units(self.text[start:offset], self.encoding))

    def offset(self, position: lsp.Position) -> int:
        """The offset of a position, clamped to its line (and the line to the text)."""
        line = position.line
        if line < 0:
            return 0
        if line >= len(self._starts):
            return len(self.text)
        start, end = self._starts[line], self._ends[line]
        wanted = max(position.character, 0)
        segment = self.text[start:end]
        if segment.isascii():
            return start + min(wanted, len(segment))
        units = 0
        for index, ch in enumerate(segment):
            if units >= wanted:
                return start + index
            units += _width(ch, self.encoding)
        return end

    def range(self, start: int, end: int) -> lsp.Range:
        return lsp.Range(start=self.position(start), end=self.position(end))

    def line_start(self, line: int) -> int:
        return self._starts[min(max(line, 0), len(self._starts) - 1)]

    def line_end(self, line: int) -> int:
        return self._ends[min(max(line, 0), len(self._ends) - 1)]
