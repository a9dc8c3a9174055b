"""Strings of the JSON form: literal text and `${...}` interpolations.

In the JSON form a string may hold references (`"http://${api.web.host}:8080"`)
and secrets (`"${secret(\\"TOKEN\\")}"`). A `$` that stands right before `{` or
another `$` is written `$$`, so that every string reads back to the same text:
`"$${x}"` is the literal text `${x}`, and `"$$${api.web.url}"` is a `$` followed
by a reference. The compiler writes strings with `escape`; every reader (the
compiler's JSON input, the runtime) splits them with `split`.

This module is the one reader of that syntax. `read_dollar` says what a `$` starts,
in the JSON form and in `.sct` strings (where only `$${` is an escape, for a
literal `${`); `split` reads a JSON-form string with it and the parser's string
decoding does too. `secret_name` reads `secret("NAME")` out of an interpolation, and
`interpolations` is the one walk over a dumped value: references, secret names and
"is this value one reference" are all asked through them, never by a regex over
the raw text (which would take the escaped `$${secret("X")}` for a secret).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

# What `secret("NAME")` may name: an environment variable's name.
SECRET_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SECRET_CALL = re.compile(r'\s*secret\(\s*"([^"\\]*)"\s*\)\s*')


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


class Dollar(NamedTuple):
    """What a `$` starts: literal `text` (an escape or a plain `$`), an interpolation, or an unclosed one."""

    kind: Literal["text", "interpolation", "unclosed"]
    text: str  # the literal text, or the source of the interpolation
    end: int  # where the reading goes on


def read_dollar(text: str, index: int, *, sct: bool = False) -> Dollar:
    """Read what the `$` at `index` starts. `sct`: a `.sct` string, where only `$${` is an
    escape (a literal `${`); in the JSON form `$$` is a `$` wherever it stands."""
    if text.startswith("$${", index):
        return Dollar("text", "${", index + 3)
    if not sct and text.startswith("$$", index):
        return Dollar("text", "$", index + 2)
    if text.startswith("${", index):
        close = closing_brace(text, index + 2)
        if close < 0:
            return Dollar("unclosed", text[index:], len(text))
        return Dollar("interpolation", text[index + 2 : close], close + 1)
    return Dollar("text", "$", index + 1)


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
        read = read_dollar(text, index)
        if read.kind == "unclosed":
            raise TemplateError("`${` is not closed with `}` (write `$${` for a literal `${`)", index)
        if read.kind == "text":
            literal.append(read.text)
        else:
            if literal:
                parts.append(Part("".join(literal), False, literal_start))
                literal = []
            parts.append(Part(read.text, True, index + 2))
            literal_start = read.end
        index = read.end
    if literal:
        parts.append(Part("".join(literal), False, literal_start))
    return parts


def is_reference(source: str) -> bool:
    """Whether an interpolation is a reference (`api.web.url`) rather than a call."""
    return "(" not in source


def secret_name(source: str) -> str | None:
    """The NAME of an interpolation that is `secret("NAME")`, or None (a reference, another call)."""
    found = _SECRET_CALL.fullmatch(source)
    return found.group(1) if found else None


def is_one_interpolation(value: Any) -> bool:
    """Whether a dumped value is a string that is exactly one `${...}`: it stands for the
    referenced value, whatever its type, known only at apply time."""
    if not isinstance(value, str) or "${" not in value:
        return False
    try:
        parts = split(value)
    except TemplateError:
        return False
    return len(parts) == 1 and parts[0].interpolation


def interpolations(value: Any) -> Iterator[Part]:
    """Every interpolation inside a dumped value (strings, lists, maps), in order.

    A string that is not a template the runtime could read holds none: validation reports it.
    """
    if isinstance(value, str):
        if "$" not in value:
            return
        try:
            parts = split(value)
        except TemplateError:
            return
        yield from (part for part in parts if part.interpolation)
    elif isinstance(value, list):
        for item in value:
            yield from interpolations(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from interpolations(item)


def may_hold_template(value: Any) -> bool:
    """Whether a configuration's value may hold a template: a string with `$`, or a list or map
    (looked into by whoever needs more). Most values are plain: one look instead of a walk."""
    return isinstance(value, dict | list) or (isinstance(value, str) and "$" in value)


def references_in(value: Any) -> Iterator[str]:
    """The references (`api.web.url`) inside a dumped value, secrets and other calls aside."""
    for part in interpolations(value):
        if is_reference(part.text):
            yield part.text.strip()


def secrets_in(value: Any) -> Iterator[str]:
    """The names of the secrets inside a dumped value."""
    for part in interpolations(value):
        name = secret_name(part.text)
        if name is not None:
            yield name
