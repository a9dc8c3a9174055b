"""Text to syntax tree: the Lark LALR parser of `grammar/scoot.lark`.

The tree is built while parsing (Lark's inline transformer), so no parse tree
is made and walked again. The parser recovers from syntax errors by inserting
the token it expected (`=`, `,`, a value, a closing bracket) or by dropping the
token it could not use, so that one mistake does not hide the next.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
from collections.abc import Callable
from copy import copy
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from scoot_lang import syntax as s
from scoot_lang.diagnostics import Diagnostic, diagnostic
from scoot_lang.source import Span
from scoot_model import template
from scoot_model.names import KEYWORDS

MAX_SYNTAX_ERRORS = 50
MAX_REPAIRS = 1000  # syntax errors repaired in a file, reported or not (see `_Recovery`)
# The deepest the language nests: brackets `{ [ (` and `${...}` inside one another,
# counted from the file's top level, may be at most this many levels deep
# (docs/language.md, "Limits"). The later stages walk trees and values recursively
# (the checker, the formatter, the decompiler, the JSON dump, the editor tools), a
# few Python frames a level: 64 levels keep them far below Python's recursion limit
# of 1,000 whoever calls them, and far above what any architecture needs (its own
# blocks take 2, `env = { ... }` 3).
MAX_NESTING = 64


def grammar_path(name: str = "scoot.lark") -> Path:
    """The grammar file: packaged inside `scoot_lang`, or in the source tree's `grammar/`."""
    packaged = resources.files("scoot_lang").joinpath(name)
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "grammar" / name


# --- strings -----------------------------------------------------------------

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_SIMPLE_REFERENCE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_-]*)(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_-]*)*\s*")
# The grammar's keywords: never names (a test keeps this in step with the grammar).
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}
# What decoding a string stops at: an escape, `$${` (a literal `${`) or `${`; any other
# `$` is text like the rest of its run.
_ESCAPE_OR_INTERPOLATION = re.compile(r"\\|\$\$\{|\$\{")


# A line's blanks, if it is not blank. Possessive: giving blanks back to the look-ahead
# would try it again at each one (a line of 40,000 spaces took minutes).
_INDENTED_LINE = re.compile(r"^[ \t]*+(?=[^\n]*?\S)", re.MULTILINE)


def _dedent(body: str) -> tuple[str, Callable[[int], int]]:
    """Dedent a `\"\"\"` string body; also return where each of its characters was in `body`.

    A leading newline is dropped, the common indentation of the non-blank lines
    is removed, and a last line of only blanks (the closing quotes' indent) is
    emptied, so the string ends with the newline before it. It works on the whole
    text with regular expressions, never a list of its lines: a string of
    millions of short lines costs a few copies of itself, not an object a line.
    """
    skip = 1 if body.startswith("\n") else 2 if body.startswith("\r\n") else 0
    rest = body[skip:]
    last_newline = rest.rfind("\n")
    emptied = last_newline >= 0 and not rest[last_newline + 1 :].strip()
    if emptied:
        rest = rest[: last_newline + 1]
    indent = min((m.end() - m.start() for m in _INDENTED_LINE.finditer(rest)), default=0)
    text = _sub_by_chunks(re.compile(rf"(?m)^[ \t]{{1,{indent}}}"), rest) if indent else rest
    return text, _Offsets(body, skip, indent, emptied).old


def _sub_by_chunks(pattern: re.Pattern[str], text: str, chunk: int = 1 << 16) -> str:
    """`pattern.sub("", text)` for a pattern that matches within a line, a few lines at a time.

    `re.sub` keeps every piece between two matches until it joins them: an object
    a line, some 50 bytes, for a text of millions of short lines.
    """
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = text.find("\n", start + chunk)
        end = len(text) if end < 0 else end + 1
        pieces.append(pattern.sub("", text[start:end]))
        start = end
    return "".join(pieces)


class _Offsets:
    """Where a character of a dedented string was before dedenting, line by line.

    The string is decoded left to right, so each lookup starts from the line of
    the one before: the whole string costs one pass, and no table of its lines.
    """

    def __init__(self, body: str, skip: int, indent: int, emptied: bool) -> None:
        self.body, self.skip, self.indent, self.emptied = body, skip, indent, emptied
        self._start()

    def _start(self) -> None:
        self.new_start = 0  # the current line, in the dedented text
        self.line = self.skip  # ... and in the body
        self.eol = self.body.find("\n", self.line)
        self.cut = self._cut()

    def _cut(self) -> int:
        """How many blanks dedenting took from the start of the current line."""
        if self.eol < 0 and self.emptied:
            return 0  # the emptied last line
        blanks = len(self.body) - self.line if self.eol < 0 else self.eol - self.line
        match = _LEADING_BLANKS.match(self.body, self.line, self.line + min(self.indent, blanks))
        return match.end() - self.line if match else 0

    def old(self, index: int) -> int:
        if index < self.new_start:
            self._start()
        while self.eol >= 0:
            next_start = self.new_start + (self.eol - self.line - self.cut) + 1
            if index < next_start:
                break
            self.new_start, self.line = next_start, self.eol + 1
            self.eol = self.body.find("\n", self.line)
            self.cut = self._cut()
        return self.line + self.cut + index - self.new_start


_LEADING_BLANKS = re.compile(r"[ \t]*")


def _same(index: int) -> int:
    """The offsets of a one-line string's body: nothing moved."""
    return index


# --- building the tree -------------------------------------------------------


# The nodes whose depth the builder counts (`_Builder._nested`).
_Nested = (
    s.StringLit | s.ListExpr | s.MapExpr | s.Call | s.Binary | s.Unary | s.Conditional | s.Index | s.GetAttr | s.Paren
)


class _Builder(Transformer[Any, Any]):
    """Lark's inline transformer: each method builds one node from its children."""

    def __init__(self) -> None:
        super().__init__()
        self.file = ""
        self.diagnostics: list[Diagnostic] = []
        self.parse_expr: Callable[[str, int], Any] = lambda text, depth: None
        self.text = ""  # the text being parsed
        # The nesting level the text being parsed starts at: 0 for a file, more for
        # the inside of an interpolation; and the level of each string holding a `$`
        # in it, by offset (its interpolations are one deeper).
        self.depth_base = 0
        self.string_depths: dict[int, int] = {}

    def too_deep(self, start: int, end: int) -> None:
        """Report the bracket (or `${`) at `[start, end)` that goes past `MAX_NESTING`."""
        self._error(
            "SCT009",
            f"this nests deeper than {MAX_NESTING} levels of brackets and `${{...}}`; "
            "write the value flatter, or split it with `let`s",
            start,
            end,
        )

    def _error(self, code: str, message: str, start: int, end: int) -> None:
        # Up to MAX_SYNTAX_ERRORS a file, as the parser's own: a string of 100,000 bad
        # escapes is not 100,000 errors to print, each with its (long) line.
        if len(self.diagnostics) < MAX_SYNTAX_ERRORS:
            self.diagnostics.append(diagnostic(code, message, Span(self.file, start, end)))

    @staticmethod
    def _ident(token: Any) -> s.Ident:
        return s.Ident(token.value, token.start_pos, token.end_pos)

    def start(self, children: list[s.Item]) -> list[s.Item]:
        return children

    def application(self, c: list[Any]) -> s.ApplicationBlock:
        return s.ApplicationBlock(
            self._ident(c[1]), c[3:-1], c[0].start_pos, c[-1].end_pos, c[2].start_pos
        )

    def component(self, c: list[Any]) -> s.ComponentBlock:
        repetition = c[2] if isinstance(c[2], s.Repetition) else None
        brace = 3 if repetition else 2
        return s.ComponentBlock(
            self._ident(c[1]), c[brace + 1 : -1], c[0].start_pos, c[-1].end_pos, c[brace].start_pos, repetition
        )

    def object(self, c: list[Any]) -> s.ObjectBlock:
        repetition = c[2] if isinstance(c[2], s.Repetition) else None
        brace = 3 if repetition else 2
        return s.ObjectBlock(
            self._ident(c[0]),
            self._ident(c[1]),
            c[brace + 1 : -1],
            c[0].start_pos,
            c[-1].end_pos,
            c[brace].start_pos,
            repetition,
        )

    def for_clause(self, c: list[Any]) -> s.Repetition:
        # FOR NAME ("," NAME)? IN expr (IF expr)?: the names are the tokens before `in`.
        at_in = next(i for i, child in enumerate(c) if isinstance(child, Token | _Tok) and child.type == "IN")
        variables = [self._ident(t) for t in c[1:at_in]]
        iterable = c[at_in + 1]
        condition = c[at_in + 3] if len(c) > at_in + 3 else None
        end = (condition or iterable).end
        return s.Repetition(variables, iterable, condition, c[0].start_pos, end)

    def if_clause(self, c: list[Any]) -> s.Repetition:
        return s.Repetition([], None, c[1], c[0].start_pos, c[1].end)

    def module(self, c: list[Any]) -> s.ModuleBlock:
        b = self.object(c)  # shaped as an object block whose kind is the keyword `module`
        return s.ModuleBlock(b.kind, b.name, b.attributes, b.start, b.end, b.open_brace, b.repetition)

    def output(self, c: list[Any]) -> s.OutputDecl:
        return s.OutputDecl(self._ident(c[1]), c[3], c[0].start_pos, c[3].end)

    def moved(self, c: list[Any]) -> s.MovedBlock:
        return s.MovedBlock(c[2:-1], c[0].start_pos, c[-1].end_pos, c[1].start_pos)

    def param(self, c: list[Any]) -> s.ParamDecl:
        default = c[4] if len(c) > 4 else None
        end = default.end if default is not None else c[2].end_pos
        return s.ParamDecl(self._ident(c[1]), self._ident(c[2]), default, c[0].start_pos, end)

    def let(self, c: list[Any]) -> s.LetDecl:
        return s.LetDecl(self._ident(c[1]), c[3], c[0].start_pos, c[3].end)

    def attribute(self, c: list[Any]) -> s.Attribute:
        return s.Attribute(self._ident(c[0]), c[2], c[0].start_pos, c[2].end)

    def string(self, c: list[Any]) -> s.Expr:
        token = c[0]
        string = self.make_string(token.value, token.start_pos, token.end_pos)
        parts = string.parts
        if not parts or (len(parts) == 1 and type(parts[0]) is str):  # most strings: text alone
            return string
        inner = [part for part in parts if not isinstance(part, str)]
        return self._nested(string, *inner) if inner else string

    def number(self, c: list[Any]) -> s.NumberLit:
        raw = c[0].value
        value: int | float = int(raw) if raw.isdigit() else float(raw)
        return s.NumberLit(raw, value, c[0].start_pos, c[0].end_pos)

    def _nested(self, node: _Nested, *children: Any) -> s.Expr:
        """`node`, one level deeper than the deepest of its children; past `MAX_NESTING`
        (`1 + 1 + ...` a thousand times: the later stages recurse), an ErrorExpr."""
        node.depth = 1 + max(getattr(child, "depth", 0) for child in children)
        if node.depth <= MAX_NESTING:
            return node
        self._error(
            "SCT009",
            f"this expression nests deeper than {MAX_NESTING} levels of operators and brackets; "
            "split it with `let`s",
            node.start,
            node.end,
        )
        return s.ErrorExpr(node.start, node.end)

    def binary(self, c: list[Any]) -> s.Expr:
        left, op, right = c
        return self._nested(s.Binary(op.value, left, right, left.start, right.end), left, right)

    def unary(self, c: list[Any]) -> s.Expr:
        op, operand = c
        if op.value == "-" and isinstance(operand, s.NumberLit) and not operand.raw.startswith("-"):
            # `-1` is a negative number, as it was before `-` was an operator.
            return s.NumberLit("-" + operand.raw, -operand.value, op.start_pos, operand.end)
        return self._nested(s.Unary(op.value, operand, op.start_pos, operand.end), operand)

    def conditional(self, c: list[Any]) -> s.Expr:
        return self._nested(s.Conditional(c[0], c[2], c[4], c[0].start, c[4].end), c[0], c[2], c[4])

    def index(self, c: list[Any]) -> s.Expr:
        return self._nested(s.Index(c[0], c[2], c[0].start, c[3].end_pos), c[0], c[2])

    def get_attr(self, c: list[Any]) -> s.Expr:
        return self._nested(s.GetAttr(c[0], self._ident(c[-1]), c[0].start, c[-1].end_pos), c[0])

    def group(self, c: list[Any]) -> s.Expr:
        return self._nested(s.Paren(c[1], c[0].start_pos, c[2].end_pos), c[1])

    def true(self, c: list[Any]) -> s.BoolLit:
        return s.BoolLit(True, c[0].start_pos, c[0].end_pos)

    def false(self, c: list[Any]) -> s.BoolLit:
        return s.BoolLit(False, c[0].start_pos, c[0].end_pos)

    def null(self, c: list[Any]) -> s.NullLit | s.ErrorExpr:
        token = c[0]
        if not token.value:  # the stand-in value inserted by error recovery
            return s.ErrorExpr(token.start_pos, token.end_pos)
        return s.NullLit(token.start_pos, token.end_pos)

    def list_expr(self, c: list[Any]) -> s.Expr:
        node = s.ListExpr(c[1:-1], self._spans_lines(c[0], c[-1]), c[0].start_pos, c[-1].end_pos)
        return self._nested(node, *node.items) if node.items else node

    def map_expr(self, c: list[Any]) -> s.Expr:
        node = s.MapExpr(c[1:-1], self._spans_lines(c[0], c[-1]), c[0].start_pos, c[-1].end_pos)
        return self._nested(node, *(entry.value for entry in node.entries)) if node.entries else node

    def _spans_lines(self, opening: Any, closing: Any) -> bool:
        """Whether a list or map was written over several lines (the formatter keeps that)."""
        return self.text.find("\n", opening.start_pos, closing.end_pos) >= 0

    def entry(self, c: list[Any]) -> s.MapEntry:
        key_token = c[0]
        quoted = key_token.type == "STRING"
        if quoted:
            key_string = self.make_string(key_token.value, key_token.start_pos, key_token.end_pos)
            if not key_string.is_plain:
                self._error(
                    "SCT004",
                    "a map key cannot hold an interpolation; write the key as plain text",
                    key_token.start_pos,
                    key_token.end_pos,
                )
            key = s.Ident(key_string.text, key_token.start_pos, key_token.end_pos)
        else:
            key = self._ident(key_token)
        return s.MapEntry(key, c[2], quoted, key_token.start_pos, c[2].end)

    def reference(self, c: list[Any]) -> s.Reference:
        return s.Reference([self._ident(t) for t in c], c[0].start_pos, c[-1].end_pos)

    def call(self, c: list[Any]) -> s.Expr:
        node = s.Call(self._ident(c[0]), c[1:-1], c[0].start_pos, c[-1].end_pos)
        return self._nested(node, *node.args) if node.args else node

    # strings ---------------------------------------------------------------

    def make_string(self, raw: str, start: int, end: int) -> s.StringLit:
        if raw.startswith('"""'):
            body, old = _dedent(raw[3:-3])
            base = start + 3
        else:
            body, old = raw[1:-1], _same
            base = start + 1
        if "$" not in body and "\\" not in body:  # no escape, no interpolation: text alone
            return s.StringLit(raw, [body] if body else [], start, end)
        # Its interpolations nest one level deeper than the string itself.
        depth = self.string_depths.get(start, self.depth_base) + 1
        return s.StringLit(raw, self.decode(body, lambda index: base + old(index), depth), start, end)

    def decode(self, body: str, at: Callable[[int], int], depth: int) -> list[str | s.Expr]:
        """Split a string body into literal text and interpolated expressions.

        `at` maps an offset in `body` to one in the file; `depth` is the nesting
        level of the interpolations. The text between escapes and `$` is taken a
        run at a time, not a character at a time.
        """
        parts: list[str | s.Expr] = []
        text: list[str] = []
        i, n = 0, len(body)
        while i < n:
            special = _ESCAPE_OR_INTERPOLATION.search(body, i)
            if special is None:
                text.append(body[i:])
                break
            if special.start() > i:
                text.append(body[i : special.start()])
                i = special.start()
            if body[i] == "\\":
                i = self._escape(body, i, text, at)
                continue
            read = template.read_dollar(body, i, sct=True)
            if read.kind == "unclosed":
                self._error("SCT004", "`${` is not closed; close it with `}`", at(i), at(n))
                text.append(read.text)
                break
            if read.kind == "text":
                text.append(read.text)
            else:
                if text:
                    parts.append("".join(text))
                    text = []
                parts.append(self._interpolation(read.text, at(i), at(i + 2), at(read.end), depth))
            i = read.end
        if text:
            parts.append("".join(text))
        return parts

    def _escape(self, body: str, i: int, text: list[str], at: Callable[[int], int]) -> int:
        nxt = body[i + 1 : i + 2]
        if nxt in _SIMPLE_ESCAPES:
            text.append(_SIMPLE_ESCAPES[nxt])
            return i + 2
        if nxt in ("u", "U"):
            width = 4 if nxt == "u" else 8
            digits = body[i + 2 : i + 2 + width]
            if len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
                code = int(digits, 16)
                if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                    text.append(chr(code))
                    return i + 2 + width
            self._error(
                "SCT003",
                f"`\\{nxt}` needs {width} hexadecimal digits naming a Unicode character",
                at(i),
                at(min(i + 2 + width, len(body))),
            )
            return i + 2
        self._error(
            "SCT003",
            f"unknown escape `\\{nxt}`; use \\n \\t \\r \\\" \\\\ \\$ \\uXXXX, or write `\\\\` for a backslash",
            at(i),
            at(i + 2),
        )
        text.append(nxt)
        return i + 2

    def _interpolation(self, inner: str, start: int, inner_start: int, end: int, depth: int) -> s.Expr:
        """The expression inside a `${...}` at `[start, end)`; `depth`: its nesting level."""
        simple = _SIMPLE_REFERENCE.fullmatch(inner)
        if simple and simple.group(1) not in KEYWORDS:
            # Most interpolations are a plain `${name.name}`: no parser needed.
            parts = [
                s.Ident(m.group(), inner_start + m.start(), inner_start + m.end())
                for m in _NAME_RE.finditer(inner)
            ]
            return s.Reference(parts, parts[0].start, parts[-1].end)
        if not inner.strip():
            self._error("SCT004", "empty interpolation `${}`; put a value inside or remove it", start, end)
            return s.ErrorExpr(start, end)
        if depth > MAX_NESTING:
            self.too_deep(start, inner_start)
            return s.ErrorExpr(start, end)
        reported = len(self.diagnostics)
        try:
            expr = self.parse_expr(inner, depth)
        except UnexpectedInput as error:
            self._shift_diagnostics(reported, inner_start)
            self._error(
                "SCT004",
                f"`${{{inner.strip()}}}` is not a value: {_describe(error)}",
                start,
                end,
            )
            return s.ErrorExpr(start, end)
        self._shift_diagnostics(reported, inner_start)
        _shift(expr, inner_start)
        return expr  # type: ignore[no-any-return]

    def _shift_diagnostics(self, first: int, delta: int) -> None:
        """Move what parsing an interpolation reported (from `diagnostics[first]` on) to its place."""
        for index in range(first, len(self.diagnostics)):
            found = self.diagnostics[index]
            if found.span is not None:
                span = found.span._replace(start=found.span.start + delta, end=found.span.end + delta)
                self.diagnostics[index] = dataclasses.replace(found, span=span)


def _shift(node: Any, delta: int) -> None:
    """Move a node parsed out of context (an interpolation) to its place in the file."""
    if hasattr(node, "start") and node.start >= 0:
        node.start += delta
        node.end += delta
    for child_name in getattr(node, "__slots__", ()):
        child = getattr(node, child_name)
        if isinstance(child, list):
            for item in child:
                if not isinstance(item, str):
                    _shift(item, delta)
        elif hasattr(child, "__slots__") and not isinstance(child, str):
            _shift(child, delta)


# --- recovery ----------------------------------------------------------------

_DISPLAY = {
    "EQUAL": "`=`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LBRACKET": "`[`",
    "RBRACKET": "`]`",
    "RPAREN": "`)`",
    "LPAR": "`(`",
    "QMARK": "`?`",
    "OROR": "`||`",
    "ANDAND": "`&&`",
    "EQEQ": "`==`",
    "NOTEQ": "`!=`",
    "LT": "`<`",
    "LE": "`<=`",
    "GT": "`>`",
    "GE": "`>=`",
    "PLUS": "`+`",
    "MINUS": "`-`",
    "STAR": "`*`",
    "SLASH": "`/`",
    "PERCENT": "`%`",
    "BANG": "`!`",
    "FOR": "`for`",
    "IN": "`in`",
    "IF": "`if`",
    "COMMA": "`,`",
    "COLON": "`:`",
    "DOT": "`.`",
    "NAME": "a name",
    "STRING": "a string",
    "MSTRING": "a string",
    "NUMBER": "a number",
    "APPLICATION": "`application`",
    "COMPONENT": "`component`",
    "PARAM": "`param`",
    "LET": "`let`",
    "MOVED": "`moved`",
    "MODULE": "`module`",
    "OUTPUT": "`output`",
    "TRUE": "`true`",
    "FALSE": "`false`",
    "NULL": "`null`",
    "$END": "the end of the file",
}
_VALUE_STARTS = {
    "STRING", "MSTRING", "NUMBER", "TRUE", "FALSE", "NULL", "LBRACKET", "LBRACE", "NAME", "LPAR", "MINUS", "BANG"
}
# What may follow a complete value: an operator, an index. Named together in a message.
_OPERATORS = {
    "QMARK", "OROR", "ANDAND", "EQEQ", "NOTEQ", "LT", "LE", "GT", "GE", "PLUS", "MINUS", "STAR", "SLASH", "PERCENT",
    "LBRACKET",
}
_CLOSERS = ("RBRACE", "RBRACKET", "RPAREN")
_RESYNC = {
    "$END",
    "APPLICATION",
    "COMPONENT",
    "PARAM",
    "LET",
    "MOVED",
    "MODULE",
    "OUTPUT",
    *_CLOSERS,
}
_GAP = re.compile(r"(?:\s+|(?://|#)[^\n]*|/\*[\s\S]*?\*/)*")


def _expected(accepts: set[str]) -> str:
    operator = ["an operator"] if accepts >= _OPERATORS - {"LBRACKET"} else []
    if operator:
        accepts = accepts - _OPERATORS
    if accepts >= _VALUE_STARTS:
        names = ["a value", *sorted({_DISPLAY.get(a, a) for a in accepts - _VALUE_STARTS}), *operator]
    else:
        names = sorted({_DISPLAY.get(a, f"`{a}`") for a in accepts}) + operator
    if len(names) > 1:
        return ", ".join(names[:-1]) + " or " + names[-1]
    return names[0] if names else "nothing more"


def _describe(error: UnexpectedInput) -> str:
    if isinstance(error, UnexpectedToken):
        found = "the end" if error.token.type == "$END" else f"`{error.token.value}`"
        return f"unexpected {found}; expected {_expected(set(error.accepts or error.expected))}"
    if isinstance(error, UnexpectedCharacters):
        return f"unexpected character `{error.char}`"
    return str(error)


class _Recovery:
    """Lark's `on_error` handler: report, then repair or skip, and go on."""

    def __init__(self, builder: _Builder, text: str) -> None:
        self.builder = builder
        self.text = text
        self.last_end = -1
        self.count = 0
        self.repairs = 0

    def _report(self, code: str, message: str, start: int, end: int) -> None:
        # An error right after the last one is its consequence, not news.
        gap = _GAP.match(self.text, self.last_end) if self.last_end >= 0 else None
        if gap is not None and gap.end() >= start:
            self.last_end = max(self.last_end, end)
            return
        self.count += 1
        if self.count > MAX_SYNTAX_ERRORS:
            raise _TooManyErrors
        self.builder._error(code, message, start, end)
        self.last_end = end

    def __call__(self, error: UnexpectedInput) -> bool:
        # Errors that follow others are not reported, but each repair costs (a millisecond:
        # Lark's `accepts` tries every terminal): text of nothing but errors (100,000 `"`)
        # is given up on after MAX_REPAIRS, as after MAX_SYNTAX_ERRORS reported.
        self.repairs += 1
        if self.repairs > MAX_REPAIRS:
            raise _TooManyErrors
        if isinstance(error, UnexpectedCharacters):
            return self._characters(error)
        if isinstance(error, UnexpectedToken):
            return self._token(error)
        return False

    def _characters(self, error: Any) -> bool:
        pos = error.pos_in_stream
        char = self.text[pos]
        state = error.interactive_parser.lexer_thread.state
        if char == '"':
            eol = self.text.find("\n", pos)
            eol = len(self.text) if eol < 0 else eol
            self._report(
                "SCT002",
                "this string is not closed: end it with `\"` on the same line, close any `${` "
                "with `}`, or use `\"\"\"` for text over several lines",
                pos,
                eol,
            )
            state.line_ctr.feed(self.text[pos:eol])
            parser = error.interactive_parser
            if "NULL" in parser.accepts():
                # The broken string still stands where a value was expected.
                parser.feed_token(Token("NULL", "", pos, error.line, error.column, end_pos=eol))
        elif self.text.startswith("/*", pos):
            self._report("SCT002", "this comment is not closed; end it with `*/`", pos, pos + 2)
            state.line_ctr.feed(self.text[pos:])
        else:
            self._report("SCT002", f"`{char}` cannot start anything here; remove it", pos, pos + 1)
        return True

    def _token(self, error: Any) -> bool:
        token = error.token
        parser = error.interactive_parser
        if token.type == "SLASH" and self.text.startswith("/*", token.start_pos):
            # A comment never closed: its `/` lexed as division. The rest of the text is the comment.
            self._report("SCT002", "this comment is not closed; end it with `*/`", token.start_pos, token.start_pos + 2)
            parser.lexer_thread.state.line_ctr.feed(self.text[token.end_pos :])
            return True
        at_end = token.type == "$END"
        start = len(self.text) if at_end else token.start_pos
        end = len(self.text) if at_end else token.end_pos
        found = "the end of the file" if at_end else f"`{token.value}`"
        self._report("SCT001", f"unexpected {found}; expected {_expected(parser.accepts())}", start, end)
        repaired = self._repair(_dry_copy(parser), token)
        if repaired is not None:
            for filler in repaired:
                parser.feed_token(filler)
            if not at_end:
                parser.feed_token(token)
        return True

    def _repair(self, parser: Any, token: Token) -> list[Token] | None:
        """The tokens to insert before `token` so the parser can take it, if a few do."""
        fillers: list[Token] = []
        for _ in range(12):
            accepts = parser.accepts()
            if token.type in accepts:
                return fillers
            filler = self._filler(accepts, token)
            if filler is None:
                return None
            parser.feed_token(filler)
            fillers.append(filler)
        return None

    @staticmethod
    def _filler(accepts: set[str], token: Token) -> Token | None:
        def make(kind: str, value: str = "") -> Token:
            return Token.new_borrow_pos(kind, value, token)

        if "NULL" in accepts:
            return make("NULL")  # an empty `null` becomes an ErrorExpr
        if "EQUAL" in accepts:
            return make("EQUAL", "=")
        if "COMMA" in accepts and token.type not in _RESYNC:
            return make("COMMA", ",")
        if token.type in _RESYNC:
            for closer in _CLOSERS:
                if closer in accepts:
                    return make(closer, "")
        if "NAME" in accepts and token.type in _VALUE_STARTS | {"LBRACE"}:
            return make("NAME")
        return None


def _dry_copy(parser: Any) -> Any:
    """A copy of an interactive parser that builds nothing: trying tokens has no side effects."""
    trial = parser.copy(deepcopy_values=False)
    conf = copy(trial.parser_state.parse_conf)
    conf.callbacks = {}
    trial.parser_state.parse_conf = conf
    return trial


class _TooManyErrors(Exception):
    pass


# --- the nesting limit ----------------------------------------------------------

_OPENING = frozenset({"LBRACE", "LBRACKET", "LPAR"})


def _stand_in(kind: str, start: int, end: int) -> list[tuple[str, str, int, int]]:
    """The tokens that stand for a bracket cut out at `[start, end)`, as (kind, value, start, end).

    An empty `null` spanning the cut becomes an ErrorExpr: a value already known
    to be wrong, so no later stage reports anything more about it. A call keeps
    its parentheses, around the stand-in, so that `f(...)` still reads as a call.
    """
    if kind == "LPAR":
        return [("LPAR", "(", start, start + 1), ("NULL", "", start, end), ("RPAREN", ")", end, end)]
    return [("NULL", "", start, end)]


class NestingLexer:
    """A Lark lexer whose tokens go no deeper than a limit, as `_FastPath.tokens` does.

    It wraps a Lark parser's own lexer (`lark.parser.lexer`), whose tokens it passes
    on while counting how deep brackets nest. With `cut`, a bracket past `limit`
    is reported (`report(start, end)`) and replaced, with all it holds, by the
    stand-in of `_stand_in`; without, `report` is expected to raise (the JSON
    reader stops there). With `resumed`, Lark calls `lex` again after each syntax
    error it recovers from (`on_error`), with the same lexer state: the count is
    then kept per state until `forget`.
    """

    def __init__(
        self,
        inner: Any,
        limit: int,
        report: Callable[[int, int], None],
        cut: bool = True,
        resumed: bool = True,
        base: Callable[[], int] = lambda: 0,
        strings: Callable[[], dict[int, int]] | None = None,
    ) -> None:
        self.inner, self.limit, self.report, self.cut, self.resumed = inner, limit, report, cut, resumed
        self.base, self.strings = base, strings
        # Per lexer state (held, so that its id is not reused): [depth, cut level, cut start, cut kind].
        self.counts: dict[int, tuple[Any, list[Any]]] = {}

    def forget(self, kept: int = 0) -> None:
        """Drop the counts of finished parses: all but the first `kept` (parses nest)."""
        for key in list(self.counts)[kept:]:
            del self.counts[key]

    def lex(self, state: Any, parser_state: Any) -> Any:
        entry = self.counts.get(id(state)) if self.resumed else None
        if entry is None or entry[0] is not state:
            entry = (state, [self.base(), 0, 0, ""])
            if self.resumed:
                self.counts[id(state)] = entry
        count = entry[1]
        strings = self.strings() if self.strings is not None else None
        for token in self.inner.lex(state, parser_state):
            kind = token.type
            if count[1]:  # inside a cut: only the brackets count
                count[1] += 1 if kind in _OPENING else -1 if kind in _CLOSERS else 0
                if not count[1]:
                    yield from self._stand_in(count, token, token.end_pos)
                continue
            if kind in _OPENING:
                count[0] += 1
                if count[0] > self.limit:
                    count[0] -= 1
                    self.report(token.start_pos, token.end_pos)
                    if self.cut:
                        count[1:] = [1, token.start_pos, kind]
                        continue
            elif kind in _CLOSERS:
                count[0] -= 1
            elif strings is not None and kind in ("STRING", "MSTRING") and "$" in token:
                strings[token.start_pos] = count[0]
            yield token
        if count[1]:  # the text ended inside the cut
            yield from self._stand_in(count, None, len(state.text.text))

    @staticmethod
    def _stand_in(count: list[Any], last: Token | None, end: int) -> Any:
        _, _, start, kind = count
        count[1] = 0
        for k, v, a, b in _stand_in(kind, start, end):
            token = Token(k, v, start_pos=a, end_pos=b)
            if last is not None:
                token.line, token.column = last.line, last.column
            yield token


# --- the fast path -------------------------------------------------------------


class _Tok:
    """A token of the fast path: what the tree builder reads of Lark's `Token`."""

    __slots__ = ("end_pos", "start_pos", "type", "value")

    def __init__(self, kind: str, value: str, start: int, end: int) -> None:
        self.type = kind
        self.value = value
        self.start_pos = start
        self.end_pos = end


_POSITIONLESS = {"EQUAL": "=", "COMMA": ",", "DOT": "."}
# `_FastPath.kinds` keeps the kinds of tokens this short, this many at most (a thread's
# parser lives as long as its thread: the language server's).
_KIND_KEPT_LENGTH, _KINDS_KEPT = 64, 100_000


class _NotClean(Exception):
    """The fast path met something it does not handle: Lark's parser takes over."""


class _FastPath:
    """Lex with one regular expression and drive Lark's own LALR table and callbacks.

    Lark's general machinery (line counting, lexer threads, interactive states)
    costs more than the grammar needs. For text without errors this loop builds
    the same tree from the same grammar; at the first error it gives up and the
    caller parses again with Lark, which recovers and reports.
    """

    def __init__(self, lark: Lark, builder: _Builder, comments: list[s.Comment]) -> None:
        from lark.lexer import PatternStr
        from lark.parsers.lalr_analysis import Shift

        name_re = re.compile(next(t.pattern.to_regexp() for t in lark.terminals if t.name == "NAME"))
        self.keywords: dict[str, str] = {}
        alternatives = []
        terminals = sorted(
            lark.terminals,
            key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name),
        )
        self.comment_types = frozenset({"LINE_COMMENT", "BLOCK_COMMENT"})
        blank = ""
        for terminal in terminals:
            if isinstance(terminal.pattern, PatternStr) and name_re.fullmatch(terminal.pattern.value):
                self.keywords[terminal.pattern.value] = terminal.name
            elif terminal.name in lark.lexer_conf.ignore and terminal.name not in self.comment_types:
                blank = terminal.pattern.to_regexp()
            else:
                alternatives.append(f"(?P<{terminal.name}>{terminal.pattern.to_regexp()})")
        # Punctuation whose position no node keeps: one token object serves them all.
        self.shared = {kind: _Tok(kind, value, -1, -1) for kind, value in _POSITIONLESS.items()}
        # Blanks before a token are part of its match: one regex call a token.
        self.scanner = re.compile(f"(?:{blank})?(?:{'|'.join(alternatives)})")
        # `tokens`: the same alternatives, in the same order, as one group that `re.split`
        # cuts the whole text by (in C): tokens at odd indices, what is between at even ones.
        plain = [re.sub(r"^\(\?P<\w+>", "(?:", alternative) for alternative in alternatives]
        self.splitter = re.compile(f"({'|'.join(plain)})")
        self.blanks = re.compile(f"(?:{blank})?")  # one run: what is between is all blanks
        # A token's text to its kind: the punctuation's and the keywords' from the start,
        # a name's, a number's and a string's found by `scanner` on first sight (the
        # same texts come again and again: `web`, `port`, `8080`).
        self.kinds: dict[str, str] = {
            terminal.pattern.value: terminal.name
            for terminal in terminals
            if isinstance(terminal.pattern, PatternStr)
        }
        self.kinds.update(self.keywords)
        # The kinds `tokens` only makes a token of (most tokens): no bracket to count, no
        # comment, no string that may hold an interpolation.
        self.plain = frozenset(
            {"NAME", "NUMBER", *self.keywords.values()}
            | {t.name for t in terminals if isinstance(t.pattern, PatternStr) and "$" not in t.pattern.value}
        ) - {*self.shared, *_OPENING, *_CLOSERS, *self.comment_types}
        parser = lark.parser.parser.parser
        self.states = parser.parse_table.states
        self.start_states = parser.parse_table.start_states
        self.end_states = parser.parse_table.end_states
        # Per rule: how many values it takes, what it reduces to, and its tree builder;
        # None for a `?rule` of one symbol, which hands its value on (an expression goes
        # through one a precedence level: calling a builder for each would cost).
        self.rules = {
            rule: (
                len(rule.expansion),
                rule.origin.name,
                None if rule.options.expand1 and not rule.alias and len(rule.expansion) == 1 else callback,
            )
            for rule, callback in parser.callbacks.items()
        }
        # The table the loop reads: per state, per symbol, the state a shift (or, for a
        # rule's name, a goto) leads to, or the reduction as `_reduction` makes it. Lark's
        # own table names the rule, whose hash is a Python method, and calls the builder
        # through a wrapper that drops punctuation and splices the `__x_star` lists in.
        self.table: dict[int, dict[str, Any]] = {
            state: {
                kind: arg if action is Shift else self._reduction(arg, builder)
                for kind, (action, arg) in actions.items()
            }
            for state, actions in self.states.items()
        }
        self.shift = Shift
        # (state below, top state, token) → the state a chain of one-value reductions ends in.
        self.handed: dict[tuple[int, int, str], int] = {}
        self.builder = builder
        self.comments = comments

    def tokens(self, text: str) -> list[_Tok]:
        """The tokens of a text, cut by `splitter`; `scanned` does what this does not:
        a text with anything but blanks between two tokens, or nested too deep."""
        pieces = self.splitter.split(text)
        if self.splitter.groups != 1 or not (
            self.blanks.fullmatch("".join(pieces[0:-1:2])) and (not pieces[-1] or pieces[-1].isspace())
        ):
            return self.scanned(text)
        kinds, plain = self.kinds, self.plain
        comment_types, comments, shared = self.comment_types, self.comments, self.shared
        string_depths = self.builder.string_depths
        depth = self.builder.depth_base
        comments_before = len(comments)
        out: list[_Tok] = []
        append = out.append
        pos = 0
        for index in range(1, len(pieces), 2):
            value = pieces[index]
            start = pos + len(pieces[index - 1])
            pos = start + len(value)
            kind = kinds.get(value)
            if kind is None:
                kind = self._kind(value)
            if kind in plain:
                append(_Tok(kind, value, start, pos))
            elif kind in shared:
                append(shared[kind])
            elif kind in comment_types:
                comments.append(s.Comment(value, start, pos))
            else:
                if kind in _OPENING:
                    depth += 1
                    if depth > MAX_NESTING:  # `scanned` cuts it: start again with it
                        del comments[comments_before:]
                        return self.scanned(text)
                elif kind in _CLOSERS:
                    depth -= 1
                elif "$" in value:  # a string that may hold interpolations
                    string_depths[start] = depth
                append(_Tok(kind, value, start, pos))
        return out

    def _kind(self, value: str) -> str:
        """The kind of a token `splitter` found (the first alternative that matches it, as
        there), kept for the next time if it is short and no comment."""
        found = self.scanner.match(value)
        kind = found.lastgroup if found is not None else None
        if kind is None:
            raise _NotClean  # cannot be: `splitter` matched it
        if kind == "NAME":
            kind = self.keywords.get(value, "NAME")
        if len(value) <= _KIND_KEPT_LENGTH and len(self.kinds) < _KINDS_KEPT and kind not in self.comment_types:
            self.kinds[value] = kind
        return kind

    def scanned(self, text: str) -> list[_Tok]:
        """`tokens`, a regex match a token: it cuts what nests too deep, and stops at the
        first text that is no token."""
        match = self.scanner.match
        keywords, comment_types, comments, shared = self.keywords, self.comment_types, self.comments, self.shared
        string_depths = self.builder.string_depths
        depth = self.builder.depth_base
        out: list[_Tok] = []
        append = out.append
        pos, end_of_text = 0, len(text)
        while pos < end_of_text:
            found = match(text, pos)
            if found is None:
                if text[pos:].isspace():
                    break
                raise _NotClean
            kind: str = found.lastgroup  # type: ignore[assignment]  # every alternative is a named group
            start, pos = found.span(kind)
            if kind in shared:
                append(shared[kind])
            elif kind in comment_types:
                comments.append(s.Comment(text[start:pos], start, pos))
            else:
                value = text[start:pos]
                if kind == "NAME":
                    kind = keywords.get(value, "NAME")
                elif kind in _OPENING:
                    depth += 1
                    if depth > MAX_NESTING:
                        pos = self._cut(text, kind, start, pos, out)
                        depth -= 1
                        continue
                elif kind in _CLOSERS:
                    depth -= 1
                elif "$" in value:  # a string that may hold interpolations
                    string_depths[start] = depth
                append(_Tok(kind, value, start, pos))
        return out

    def _cut(self, text: str, kind: str, start: int, end: int, out: list[_Tok]) -> int:
        """Replace a bracket past the nesting limit, and all it holds, by a stand-in value.

        Returns where the tokens go on: after its closing bracket (or at the end of
        the text, where the parser will find it unclosed).
        """
        self.builder.too_deep(start, end)
        level, pos = 1, end
        while level and pos < len(text):
            found = self.scanner.match(text, pos)
            if found is None:
                if text[pos:].isspace():
                    pos = len(text)
                    break
                raise _NotClean
            inner = str(found.lastgroup)
            pos = found.end()
            level += 1 if inner in _OPENING else -1 if inner in _CLOSERS else 0
        out.extend(_Tok(k, v, a, b) for k, v, a, b in _stand_in(kind, start, pos))
        return pos

    def _reduction(self, rule: Any, builder: _Builder) -> tuple[int, str, Any, Any]:
        """A rule's reduction: (values it takes, its name, its builder or None, which of
        its values the builder gets: None for all, else (index, splice) pairs).

        The builder is None for a `?rule` of one symbol (its value is handed on, see
        `_hand_on`) and for Lark's `__x_star` rules of a repetition, whose value is the
        list of theirs, spliced into the rule that holds them (as Lark's `_` rules)."""
        size, origin, callback = self.rules[rule]
        if callback is None:
            return size, origin, None, None
        include = [
            (i, not sym.is_term and sym.name.startswith("_"))
            for i, sym in enumerate(rule.expansion)
            if not (sym.is_term and sym.filter_out)
        ]
        name = rule.alias or rule.options.template_source or origin
        method = None if origin.startswith("_") else getattr(builder, name, None)
        if not origin.startswith("_") and method is None:
            return size, origin, callback, None  # Lark's own (a tree): no rule has none today
        if len(include) == size and not any(splice for _, splice in include):
            return size, origin, method or _as_list, None
        return size, origin, method or _as_list, tuple(include)

    def _hand_on(self, below: int, origin: str, kind: str, end_state: int) -> int:
        """The state a chain of one-value reductions ends in, before `kind` is read.

        Each such reduction (`?add_expr: mul_expr`) replaces the top state only, so
        where the chain ends depends on the state below, the top and the token: an
        expression's value goes up its ten precedence levels in one step."""
        table = self.table
        top: int = table[below][origin]
        while not (kind == "$END" and top == end_state):
            action = table[top].get(kind)
            if action is None or type(action) is int or action[2] is not None:
                break
            top = table[below][action[1]]
        return top

    def parse(self, text: str, start: str) -> Any:
        table = self.table
        # The state on top is `state`; `below` holds the states under it.
        state = self.start_states[start]
        below: list[int] = []
        values: list[Any] = []
        tokens = self.tokens(text)
        tokens.append(_Tok("$END", "", len(text), len(text)))
        end_state = self.end_states[start]
        handed = self.handed
        for token in tokens:
            kind = token.type
            while True:
                action = table[state].get(kind)
                if type(action) is int:
                    below.append(state)
                    state = action
                    values.append(token)
                    break
                if action is None:
                    raise _NotClean
                size, origin, build, include = action
                if build is None:  # one value, handed on as it is: the chain is remembered
                    key = (below[-1], state, kind)
                    top = handed.get(key)
                    if top is None:
                        top = handed[key] = self._hand_on(below[-1], origin, kind, end_state)
                    state = top
                else:
                    if size:
                        children = values[-size:]
                        del values[-size:]
                        if size > 1:
                            del below[1 - size :]
                    else:
                        children = []
                        below.append(state)
                    if include is not None:
                        kept: list[Any] = []
                        for i, splice in include:
                            if not splice:
                                kept.append(children[i])
                            elif kept:
                                kept += children[i]
                            else:
                                kept = children[i]  # a list of its own (LALR shares none)
                        children = kept
                    values.append(build(children))
                    state = table[below[-1]][origin]
                if kind == "$END" and state == end_state:
                    return values[-1]
        raise _NotClean


def _as_list(children: list[Any]) -> list[Any]:
    """The value of a repetition's `__x_star` rule: its values, spliced in where it is used."""
    return children


# --- the parser --------------------------------------------------------------

# Each thread has a parser of its own (`cached_parser`): the language server's event
# loop parses the cursor's block while its compile thread parses the unit, and neither
# waits for the other. No parser is shared between threads: there is nothing to lock.
_lock = contextlib.nullcontext()
_parsers = threading.local()


def cached_parser() -> tuple[Lark, _Builder, list[s.Comment], _FastPath]:
    """This thread's parser, built on its first use."""
    made: tuple[Lark, _Builder, list[s.Comment], _FastPath] | None = getattr(_parsers, "made", None)
    if made is None:
        made = _parsers.made = _build_parser()
    return made


def _build_parser() -> tuple[Lark, _Builder, list[s.Comment], _FastPath]:
    builder = _Builder()
    comments: list[s.Comment] = []

    def on_comment(token: Any) -> Any:
        comments.append(s.Comment(token.value, token.start_pos, token.end_pos))
        return token

    lark = Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        # Not the contextual lexer: it would read a misplaced keyword as a name.
        lexer="basic",
        start=["start", "expr"],
        transformer=builder,
        lexer_callbacks={"LINE_COMMENT": on_comment, "BLOCK_COMMENT": on_comment},
        maybe_placeholders=False,
        cache=True,
    )

    fast = _FastPath(lark, builder, comments)
    # Lark's own lexer (for text with errors) keeps to the nesting limit too.
    lark.parser.lexer = NestingLexer(
        lark.parser.lexer,
        MAX_NESTING,
        builder.too_deep,
        base=lambda: builder.depth_base,
        strings=lambda: builder.string_depths,
    )

    def parse_expr(text: str, depth: int) -> Any:
        """Parse the inside of an interpolation, which starts at nesting level `depth`."""
        saved = (comments[:], builder.text, builder.depth_base, builder.string_depths)
        builder.text, builder.depth_base, builder.string_depths = text, depth, {}
        reported, counted = len(builder.diagnostics), len(lark.parser.lexer.counts)
        try:
            try:
                return fast.parse(text, "expr")
            except _NotClean:
                del builder.diagnostics[reported:]  # Lark's lexer finds them again
                return lark.parse(text, start="expr")  # raises, with what went wrong
        finally:
            comments[:] = saved[0]
            builder.text, builder.depth_base, builder.string_depths = saved[1:]
            lark.parser.lexer.forget(counted)  # this parse's, over (the JSON reader's too)

    builder.parse_expr = parse_expr
    return lark, builder, comments, fast


def parse(text: str, path: str = "architecture.sct") -> tuple[s.File, list[Diagnostic]]:
    """Parse one file: its tree (partial where there were errors) and its syntax errors."""
    lark, builder, comments, fast = cached_parser()
    with _lock:
        builder.file = path
        builder.diagnostics = []
        builder.text = text
        builder.depth_base, builder.string_depths = 0, {}
        lark.parser.lexer.forget()
        comments.clear()
        items: list[s.Item]
        try:
            items = fast.parse(text, "start")
        except _NotClean:
            recovery = _Recovery(builder, text)
            builder.diagnostics = []
            builder.string_depths = {}
            comments.clear()
            try:
                items = lark.parse(text, start="start", on_error=recovery)  # type: ignore[assignment]
            except (UnexpectedInput, _TooManyErrors):
                items = []
        file = s.File(path, items, sorted(comments, key=lambda c: c.start))
        return file, builder.diagnostics


def parse_expression(
    source: str, path: str, start: int, end: int, depth: int = 1
) -> tuple[s.Expr, list[Diagnostic]]:
    """Parse the inside of a `${...}` found at `[start, end)` of a file (a JSON string's).

    `depth` is the interpolation's nesting level: one more than the string's.
    """
    _, builder, _, _ = cached_parser()
    with _lock:
        saved = (builder.file, builder.diagnostics, builder.text)
        builder.file, builder.diagnostics, builder.text = path, [], source
        try:
            expr = builder._interpolation(source, start, start + 2, end, depth)
            return expr, builder.diagnostics
        finally:
            builder.file, builder.diagnostics, builder.text = saved


# --- parsing an edited text again ---------------------------------------------------


def parse_edit(old_text: str, old: s.File, new_text: str) -> tuple[s.File, list[Diagnostic]]:
    """Parse `new_text`, an edit of `old_text` whose tree (parsed without errors) is `old`.

    The top-level items an edit did not touch keep their text: those before it are
    kept as they are (the same nodes), those after it are moved by the length the
    edit added (copies: a tree is never changed, an older compilation may still be
    read), and only the stretch between them is parsed. The result is the tree a
    parse of the whole text gives (`tests/lsp/test_incremental.py` checks it): the
    stretch must parse alone without errors, and no token may cross its ends (each
    end is a `}` or a blank); else the whole text is parsed.
    """
    prefix, suffix = common_ends(old_text, new_text)
    delta = len(new_text) - len(old_text)
    before: list[s.Item] = []
    after: list[s.Item] = []
    for item in old.items:
        if item.end <= prefix:
            before.append(item)
        elif item.start >= len(old_text) - suffix:
            after.append(item)
    start = before[-1].end if before else 0
    end = after[0].start + delta if after else len(new_text)
    part, errors = parse(new_text[start:end], old.path) if _separate(new_text, start, end, before) else (None, [])
    if part is None or errors or not _ends_clean(new_text, start, end, part):
        return parse(new_text, old.path)
    items: list[s.Item] = [*before, *(_moved(item, start) for item in part.items)]
    items.extend(after if not delta else (_shifted(item, delta) for item in after))
    comments = [c for c in old.comments if c.end <= start]
    comments.extend(_moved(c, start) for c in part.comments)
    comments.extend(_moved(c, delta) for c in old.comments if c.start >= end - delta)
    return s.File(old.path, items, comments), []


_BLOCKS = (s.ApplicationBlock, s.ComponentBlock, s.ObjectBlock, s.MovedBlock)


def _separate(text: str, start: int, end: int, before: list[s.Item]) -> bool:
    """Whether no token crosses `start`: the item before it ends with a block's `}`,
    or a blank follows it (an item starts with a name or a keyword, which nothing
    ending a declaration's value goes on with)."""
    return not before or isinstance(before[-1], _BLOCKS) or (start < end and text[start].isspace())


def _ends_clean(text: str, start: int, end: int, part: s.File) -> bool:
    """Whether nothing of the stretch `[start, end)` goes on past `end`: the text ends
    there, or the stretch ends with a line break (a `//` comment ends there too) or with
    the `}` of its last item."""
    if end >= len(text) or end == start:
        return True
    if text[end - 1] in "\r\n":
        return True
    return bool(part.items) and part.items[-1].end == end - start and text[end - 1] == "}"


def _moved(node: Any, delta: int) -> Any:
    """A copy of a node (and all it holds) whose offsets are `delta` further on."""
    if not delta:
        return node
    return _MOVERS.get(type(node), _mover)(node, delta)


def _shifted(item: Any, delta: int) -> Any:
    """An item after an edit, moved by `delta`: a component (without `for` or `if`) is
    moved lazily (`ComponentBlock.shifted`): its offsets and name now, its members when
    first read. A line added above 10,000 lines moves hundreds of components, and a
    compile whose checks replay them reads none of their members. Moved again before
    being read, it is moved from the same block, by the sum: moved back, that block."""
    if type(item) is not s.ComponentBlock or item.repetition is not None:
        return _moved(item, delta)
    shifted = item.shifted
    source, total = (item, delta) if shifted is None else (shifted[0], shifted[1] + delta)
    if not total:
        return source
    new = object.__new__(s.ComponentBlock)
    new.name = _moved(item.name, delta)
    new.start, new.end = item.start + delta, item.end + delta
    new.open_brace = item.open_brace + delta if item.open_brace >= 0 else item.open_brace
    new.repetition = None
    new.shifted = (source, total, _moved)
    return new


_OFFSETS = frozenset({"start", "end", "open_brace"})
_MOVERS: dict[type, Callable[[Any, int], Any]] = {}
_PLAIN = frozenset({str, int, float, bool, type(None)})


# Fields whose declared type holds no offsets (copied as they are), and names, copied
# in place (a third of a tree's nodes): the declared type is checked, the value's too.
_PLAIN_FIELDS = frozenset({"str", "int", "bool", "float", "int | float"})


def _mover(node: Any, delta: int) -> Any:
    """Make the copier of a node's class (a function of its fields, written out once:
    a copy of a tree after an edit is made of thousands of them), and copy `node`."""
    kind = type(node)
    lines = ["def move(node, delta):", "    new = make(kind)"]
    for f in dataclasses.fields(kind):
        name = f.name
        if name in _OFFSETS:
            lines.append(f"    at = node.{name}")
            lines.append(f"    new.{name} = at + delta if at >= 0 else at")
        elif f.type in _PLAIN_FIELDS:
            lines.append(f"    new.{name} = node.{name}")
        elif f.type == "Ident":
            lines.append(f"    value = node.{name}")
            lines.append("    if type(value) is ident:")
            lines.append(f"        copied = new.{name} = make(ident)")
            lines.append("        copied.text = value.text")
            lines.append("        at = value.start")
            lines.append("        copied.start = at + delta if at >= 0 else at")
            lines.append("        at = value.end")
            lines.append("        copied.end = at + delta if at >= 0 else at")
            lines.append(f"    else: new.{name} = child(value, delta)")
        else:
            lines.append(f"    value = node.{name}")
            lines.append("    held = type(value)")
            lines.append(f"    if held in plain: new.{name} = value")
            lines.append(
                f"    elif held is list: new.{name} = [p if type(p) in plain else movers.get(type(p), child)(p, delta) for p in value]"
            )
            lines.append(f"    else: new.{name} = movers.get(held, child)(value, delta)")
    lines.append("    return new")
    scope: dict[str, Any] = {
        "make": object.__new__,
        "kind": kind,
        "child": _moved_child,
        "plain": _PLAIN,
        "movers": _MOVERS,
        "ident": s.Ident,
    }
    exec("\n".join(lines), scope)
    _MOVERS[kind] = scope["move"]
    return scope["move"](node, delta)


def _moved_child(value: Any, delta: int) -> Any:
    kind = type(value)
    if kind is list:
        return [_moved_child(part, delta) for part in value]
    mover = _MOVERS.get(kind)
    if mover is not None:
        return mover(value, delta)
    if dataclasses.is_dataclass(value):
        return _mover(value, delta)
    return value  # a string, a number, None


def common_ends(old: str, new: str) -> tuple[int, int]:
    """The lengths of the longest common prefix and the longest common suffix that
    does not overlap it. Binary searches on slices (compared in C): fast on large texts."""
    shortest = min(len(old), len(new))
    low, high = 0, shortest
    while low < high:
        mid = (low + high + 1) // 2
        if old[:mid] == new[:mid]:
            low = mid
        else:
            high = mid - 1
    prefix = low
    low, high = 0, shortest - prefix
    while low < high:
        mid = (low + high + 1) // 2
        if old[len(old) - mid :] == new[len(new) - mid :]:
            low = mid
        else:
            high = mid - 1
    return prefix, low
