"""Strings of the JSON form: literal text and `${...}` interpolations.

In the JSON form a string may hold references (`"http://${api.web.host}:8080"`)
and secrets (`"${secret(\\"TOKEN\\")}"`). A `$` that stands right before `{` or
another `$` is written `$$`, so that every string reads back to the same text:
`"$${x}"` is the literal text `${x}`, and `"$$${api.web.url}"` is a `$` followed
by a reference. The compiler writes strings with `escape`; every reader (the
compiler's JSON input, the runtime) splits them with `split`.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Part(NamedTuple):
    """A piece of a template: literal `text`, or the source of an interpolation."""

    text: str
    interpolation: bool
    offset: int  # where the piece starts in the string (after `${` for an interpolation)


def escape(text: str, before_interpolation: bool = False) -> str:
    """Literal text in the JSON form; `before_interpolation` when `${` follows it."""
    if "$" not in text:
        return text

    def double(match: re.Match[str]) -> str:
        # Every `$` of a run but its last is before a `$`; the last is doubled before `{`.
        following = match.string[match.end() : match.end() + 1]
        last = following == "{" or (not following and before_interpolation)
        return "$" * (2 * len(match.group()) - (0 if last else 1))

    # A run of `$` at a time, and a slice of the text at a time, so that a text of
    # many dollars does not become an object for each of them (`re.sub` keeps every
    # piece until it joins them). A slice ends after a character that is not `$`,
    # so the character that follows each run is in its slice.
    pieces: list[str] = []
    start, end_of_text = 0, len(text)
    while start < end_of_text:
        end = min(start + _SLICE, end_of_text)
        while end < end_of_text and text[end - 1] == "$":
            end += 1
        pieces.append(_DOLLARS.sub(double, text[start:end]))
        start = end
    return "".join(pieces)


_DOLLARS = re.compile(r"\$+")
_SLICE = 1 << 16


def closing_brace(text: str, start: int) -> int:
    """The `}` that closes an interpolation whose inside starts at `start`, or -1."""
    index = start
    while index < len(text):
        char = text[index]
        if char == "}":
            return index
        if char == "{":
            return -1
        if char == '"':
            index += 1
            while index < len(text) and text[index] != '"':
                index += 2 if text[index] == "\\" else 1
        index += 1
    return -1


class TemplateError(ValueError):
    """A `${` with no `}`: the offset says where."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def split(text: str) -> list[Part]:
    """The literal pieces and interpolations of a JSON-form string, in order."""
    if "$" not in text:
        return [Part(text, False, 0)] if text else []
    parts: list[Part] = []
    literal: list[str] = []
    literal_start = 0
    index = 0
    while index < len(text):
        dollar = text.find("$", index)
        if dollar < 0:  # the rest is literal text: one slice, not a character at a time
            literal.append(text[index:])
            break
        if dollar > index:
            literal.append(text[index:dollar])
            index = dollar
        run = _DOLLARS.match(text, index)
        pairs = (run.end() - index) // 2 if run else 0
        if pairs:  # each `$$` of a run is a `$`, the whole run at once
            literal.append("$" * pairs)
            index += 2 * pairs
        elif text.startswith("${", index):
            close = closing_brace(text, index + 2)
            if close < 0:
                raise TemplateError("`${` is not closed with `}` (write `$${` for a literal `${`)", index)
            if literal:
                parts.append(Part("".join(literal), False, literal_start))
                literal = []
            parts.append(Part(text[index + 2 : close], True, index + 2))
            index = close + 1
            literal_start = index
        else:
            literal.append("$")
            index += 1
    if literal:
        parts.append(Part("".join(literal), False, literal_start))
    return parts


def is_reference(source: str) -> bool:
    """Whether an interpolation is a reference (`api.web.url`) rather than a call."""
    return "(" not in source
