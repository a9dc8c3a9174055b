"""`scoot fmt`: print a syntax tree in the one canonical layout.

The printer works from the tree and the source text together: the tree says
what to print, the source says where the user put comments and blank lines,
and whether a block, list or map was written on one line. Nodes made without
source (offsets -1, from the decompiler) are laid out by width instead.

Comments are placed by offset. Every element that gets its own line (a
top-level item, a block member, an item or entry of a multi-line list or map)
takes the comments before it as own-line comments, the comments after it on
its line as trailing comments, and any comment inside it that no nested line
takes (`compute /* here */ web {`) as an own-line comment just before it. The
comments after the last element are printed before the closing bracket, or at
the end of the file. So every comment of the file is printed exactly once.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from scoot_lang import syntax as s
from scoot_lang.diagnostics import Diagnostic
from scoot_lang.parser import parse

INDENT = "  "
WIDTH = 80
# Items that may follow one another without a blank line between them.
_GROUPS: tuple[type | tuple[type, ...], ...] = ((s.ParamDecl, s.LetDecl), s.MovedBlock)
# The most attributes an object block from the decompiler may have and stay on one line.
ONE_LINE_ATTRIBUTES = 2


def format_text(text: str, path: str = "architecture.sct") -> tuple[str | None, list[Diagnostic]]:
    """Parse and print a file; None and the syntax errors if it has any (never print a broken file)."""
    file, diagnostics = parse(text, path)
    if diagnostics:
        return None, diagnostics
    return format_file(file, text), []


def format_file(file: s.File, text: str) -> str:
    """Print a parsed file (`text` is its source); a tree without source is printed with `text=""`."""
    return _Printer(text, file.comments).file(file.items)


def format_expr(expr: s.Expr) -> str:
    """An expression on one line, as it is printed inside a one-line list, map or block."""
    match expr:
        case s.StringLit(raw=raw) | s.NumberLit(raw=raw):
            return raw
        case s.BoolLit(value=value):
            return "true" if value else "false"
        case s.NullLit():
            return "null"
        case s.Reference():
            return expr.dotted
        case s.Call(name=name, args=args):
            return f"{name.text}({', '.join(format_expr(arg) for arg in args)})"
        case s.ListExpr(items=items):
            return f"[{', '.join(format_expr(item) for item in items)}]"
        case s.MapExpr(entries=[]):
            return "{}"
        case s.MapExpr(entries=entries):
            return (
                "{ "
                + ", ".join(f"{_key(entry)} = {format_expr(entry.value)}" for entry in entries)
                + " }"
            )
        case s.Binary(op=op, left=left, right=right):
            return f"{format_expr(left)} {op} {format_expr(right)}"
        case s.Unary(op=op, operand=operand):
            return f"{op}{format_expr(operand)}"
        case s.Conditional(condition=condition, then=then, otherwise=otherwise):
            return f"{format_expr(condition)} ? {format_expr(then)} : {format_expr(otherwise)}"
        case s.Index(target=target, index=index):
            return f"{format_expr(target)}[{format_expr(index)}]"
        case s.GetAttr(target=target, name=name):
            return f"{format_expr(target)}.{name.text}"
        case s.Paren(inner=inner):
            return f"({format_expr(inner)})"
    raise ValueError("cannot print a tree with syntax errors; parse the file without errors first")


def format_repetition(repetition: s.Repetition | None) -> str:
    """What follows a block's name: ` for x in xs if c`, ` if c`, or nothing."""
    if repetition is None:
        return ""
    text = ""
    if repetition.iterable is not None:
        names = ", ".join(v.text for v in repetition.variables)
        text = f" for {names} in {format_expr(repetition.iterable)}"
    if repetition.condition is not None:
        text += f" if {format_expr(repetition.condition)}"
    return text


def string_raw(parts: Sequence[str | s.Expr]) -> str:
    """The source text of a one-line string holding literal text and `${...}` interpolations."""
    out = ['"']
    for index, part in enumerate(parts):
        if isinstance(part, str):
            out.append(_escape(part, before_interpolation=index + 1 < len(parts)))
        else:
            out.append("${" + format_expr(part) + "}")
    out.append('"')
    return "".join(out)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(text: str, before_interpolation: bool) -> str:
    out: list[str] = []
    for index, char in enumerate(text):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char < " " or "\x7f" <= char <= "\x9f":
            out.append(f"\\u{ord(char):04x}")
        elif char == "$" and text.startswith("{", index + 1):
            out.append("$$")  # `$${` is a literal `${`, whatever follows
        elif char == "$" and index + 1 == len(text) and before_interpolation:
            out.append("\\$")  # else `$` and the `${` after it would read as `$${`
        else:
            out.append(char)
    return "".join(out)


def _key(entry: s.MapEntry) -> str:
    return string_raw([entry.key.text]) if entry.quoted else entry.key.text


def _last_line_length(text: str) -> int:
    return len(text) - text.rfind("\n") - 1


class _Spanned(Protocol):
    start: int
    end: int


N = TypeVar("N", bound=_Spanned)
# An element printed on its own line: its key (aligned with its neighbours' keys) and its text.
Render = Callable[[N], tuple[str | None, str]]


@dataclass
class _Row:
    """One element of a sequence printed one per line, with the comments around it."""

    text: str | None  # None for the comments after the last element
    key: str | None = None  # printed `key = text`, the `=` aligned within a run of rows
    blank_before: bool = False
    before: list[str] = field(default_factory=list)  # own-line comments; "" is a blank line
    trailing: list[str] = field(default_factory=list)  # comments after it on its last line

    @property
    def alignable(self) -> bool:
        return self.key is not None and self.text is not None and "\n" not in self.text


class _Printer:
    def __init__(self, text: str, comments: list[s.Comment]) -> None:
        self.text = text
        self.comments = sorted(comments, key=lambda c: c.start)
        self.starts = [c.start for c in self.comments]  # to find comments by offset (bisect)
        self.printed = [False] * len(self.comments)

    # the file and its items --------------------------------------------------

    def file(self, items: list[s.Item]) -> str:
        rows = self._rows(items, lambda item: (None, self._item(item)), 0, len(self.text))
        for index in range(1, len(items)):
            # Consecutive `param`s and `let`s may stay together, and consecutive `moved`
            # blocks; everything else is set apart.
            pair = items[index - 1 : index + 1]
            if not any(all(isinstance(item, group) for item in pair) for group in _GROUPS):
                rows[index].blank_before = True
        lines = _layout(rows, "")
        return "\n".join(lines) + "\n" if lines else ""

    def _item(self, item: s.Item) -> str:
        match item:
            case s.ApplicationBlock(name=name, attributes=attributes):
                return self._block(f"application {name.text}", item, attributes, "", one_line=True)
            case s.ComponentBlock(name=name, members=members):
                head = f"component {name.text}{format_repetition(item.repetition)}"
                return self._block(head, item, members, "", one_line=False)
            case s.ParamDecl(name=name, type=type_, default=default):
                head = f"param {name.text}: {type_.text}"
                return head if default is None else self._after(head + " = ", default)
            case s.OutputDecl(name=name, value=value):  # before LetDecl: an output has a let's shape
                return self._after(f"output {name.text} = ", value)
            case s.LetDecl(name=name, value=value):
                return self._after(f"let {name.text} = ", value)
            case s.ObjectBlock(kind=kind, name=name, attributes=attributes):  # a module's, or a use
                return self._block(f"{kind.text} {name.text}", item, attributes, "", one_line=True)
            case s.MovedBlock(attributes=attributes):
                return self._block("moved", item, attributes, "", one_line=True)
        raise AssertionError(item)

    def _after(self, head: str, value: s.Expr) -> str:
        return head + self._expr(value, "", len(head))

    # blocks ------------------------------------------------------------------

    def _block(
        self,
        head: str,
        block: s.Block,
        members: Sequence[s.Attribute | s.ObjectBlock],
        indent: str,
        one_line: bool,
    ) -> str:
        if one_line:
            attributes = [member for member in members if isinstance(member, s.Attribute)]
            body = ", ".join(f"{a.key.text} = {format_expr(a.value)}" for a in attributes)
            line = f"{head} {{ {body} }}" if body else f"{head} {{}}"
            if self._stays_on_one_line(block, line, indent, len(attributes)):
                return line
        inner = indent + INDENT

        def render(member: s.Attribute | s.ObjectBlock) -> tuple[str | None, str]:
            if isinstance(member, s.Attribute):
                return self._keyed(member.key.text, member.value, inner)
            head = f"{member.kind.text} {member.name.text}{format_repetition(member.repetition)}"
            return None, self._block(head, member, member.attributes, inner, one_line=True)

        lines = self._lines(
            head + " {", members, render, block.open_brace + 1, block.end - 1, inner
        )
        for index in range(1, len(members)):
            if any(isinstance(member, s.ObjectBlock) for member in members[index - 1 : index + 1]):
                lines.rows[index].blank_before = True
        return lines.text("}", indent)

    def _stays_on_one_line(self, block: s.Block, line: str, indent: str, attributes: int) -> bool:
        if block.start >= 0:  # as the user wrote it: on one line, and no comment to place inside
            body = (block.open_brace, block.end)
            return "\n" not in self.text[slice(*body)] and not self._has_comment(*body)
        return (
            attributes <= ONE_LINE_ATTRIBUTES
            and len(indent) + len(line) <= WIDTH
            and "\n" not in line
        )

    def _keyed(self, key: str, value: s.Expr, indent: str) -> tuple[str, str]:
        return key, self._expr(value, indent, len(indent) + len(key) + len(" = "))

    # expressions -------------------------------------------------------------

    def _expr(self, expr: s.Expr, indent: str, column: int) -> str:
        """An expression starting at `column` of a line indented by `indent`."""
        if isinstance(expr, s.ListExpr) and self._breaks(expr, expr.items, column):
            inner = indent + INDENT
            lines = self._lines(
                "[",
                expr.items,
                lambda item: (None, self._expr(item, inner, len(inner)) + ","),
                expr.start + 1,
                expr.end - 1,
                inner,
            )
            return lines.text("]", indent)
        if isinstance(expr, s.MapExpr) and self._breaks(expr, expr.entries, column):
            inner = indent + INDENT
            lines = self._lines(
                "{",
                expr.entries,
                lambda entry: self._keyed(_key(entry), entry.value, inner),
                expr.start + 1,
                expr.end - 1,
                inner,
            )
            return lines.text("}", indent)
        if isinstance(expr, s.Call):  # its arguments may be multi-line lists or maps
            column += len(expr.name.text) + len("(")
            args: list[str] = []
            for arg in expr.args:
                text = self._expr(arg, indent, column)
                args.append(text)
                end = _last_line_length(text) if "\n" in text else column + len(text)
                column = end + len(", ")
            return f"{expr.name.text}({', '.join(args)})"
        return format_expr(expr)

    def _breaks(
        self, expr: s.ListExpr | s.MapExpr, elements: Sequence[object], column: int
    ) -> bool:
        """Whether a list or map is printed one element per line."""
        if expr.start >= 0:  # as the user wrote it; a comment inside needs lines to stay in place
            return self._has_comment(expr.start, expr.end) or (expr.multiline and bool(elements))
        flat = format_expr(expr)
        return column + len(flat) > WIDTH or "\n" in flat

    # sequences of lines ------------------------------------------------------

    def _lines(
        self,
        opener: str,
        elements: Sequence[N],
        render: Render[N],
        opened: int,
        close: int,
        indent: str,
    ) -> _Lines:
        """The rows of a bracketed sequence, after the opening line and its trailing comments."""
        first = elements[0].start if elements else close
        trailing, opened = self._trailing(opened, first)
        rows = self._rows(elements, render, opened, close)
        return _Lines(" ".join([opener, *trailing]), rows, indent)

    def _rows(self, elements: Sequence[N], render: Render[N], prev: int, close: int) -> list[_Row]:
        """One row per element, and a last one for the comments before `close` if there are any."""
        rows: list[_Row] = []
        for index, element in enumerate(elements):
            row = _Row(None)
            prev = self._leading(row, prev, element.start)
            row.key, row.text = render(element)
            # What is inside the element and no nested line took goes just before it.
            row.before += [_comment_text(c) for c in self._take(element.start, element.end)]
            following = elements[index + 1].start if index + 1 < len(elements) else close
            row.trailing, prev = self._trailing(element.end, following)
            rows.append(row)
        closing = _Row(None)
        self._leading(closing, prev, close)
        if closing.before and closing.before[-1] == "":
            closing.before.pop()  # no blank line before a closing bracket or the end of the file
        if closing.before:
            rows.append(closing)
        return rows

    def _leading(self, row: _Row, prev: int, start: int) -> int:
        """Put the comments between `prev` and `start` before the row, keeping blank lines."""
        for comment in self._take(prev, start):
            self._gap(row, prev, comment.start)
            row.before.append(_comment_text(comment))
            prev = comment.end
        self._gap(row, prev, start)
        return prev

    def _gap(self, row: _Row, end: int, start: int) -> None:
        blank = self.text.count("\n", end, start) >= 2
        if not row.before:
            row.blank_before = blank
        elif blank:
            row.before.append("")

    def _trailing(self, end: int, limit: int) -> tuple[list[str], int]:
        """The comments after `end` on the same line (and before `limit`), and where they end."""
        taken: list[str] = []
        for index in range(bisect_left(self.starts, end), len(self.comments)):
            comment = self.comments[index]
            if comment.start >= limit or self.text.find("\n", end, comment.start) >= 0:
                break
            taken.append(_comment_text(comment))
            self.printed[index] = True
            end = comment.end
        return taken, end

    def _take(self, start: int, end: int) -> list[s.Comment]:
        """The comments starting in `[start, end)` not printed yet, now printed."""
        found = self._between(start, end)
        taken = [self.comments[index] for index in found if not self.printed[index]]
        for index in found:
            self.printed[index] = True
        return taken

    def _has_comment(self, start: int, end: int) -> bool:
        return not all(self.printed[index] for index in self._between(start, end))

    def _between(self, start: int, end: int) -> range:
        return range(bisect_left(self.starts, start), bisect_left(self.starts, end))


@dataclass
class _Lines:
    """A bracketed sequence: the opening line, the rows, and (given later) the closer."""

    opener: str
    rows: list[_Row]
    indent: str

    def text(self, closer: str, outer: str) -> str:
        return "\n".join([self.opener, *_layout(self.rows, self.indent), outer + closer])


def _layout(rows: list[_Row], indent: str) -> list[str]:
    widths = _key_widths(rows)
    lines: list[str] = []
    for row, width in zip(rows, widths, strict=True):
        if row.blank_before and lines:
            lines.append("")
        lines += [indent + comment if comment else "" for comment in row.before]
        if row.text is None:
            continue
        key = "" if row.key is None else row.key.ljust(width) + " = "
        lines.append(" ".join([indent + key + row.text, *row.trailing]))
    return lines


def _key_widths(rows: list[_Row]) -> list[int]:
    """The width of each row's key: the widest key of its run of aligned rows.

    A run is broken by a blank line, an own-line comment, or a row that is not
    a one-line `key = value` (an object block, a multi-line value).
    """
    widths = [len(row.key or "") for row in rows]
    runs: list[list[int]] = []
    for index, row in enumerate(rows):
        if not row.alignable:
            continue
        if runs and runs[-1][-1] == index - 1 and not row.blank_before and not row.before:
            runs[-1].append(index)
        else:
            runs.append([index])
    for run in runs:
        width = max(widths[index] for index in run)
        for index in run:
            widths[index] = width
    return widths


def _comment_text(comment: s.Comment) -> str:
    return "\n".join(line.rstrip() for line in comment.text.split("\n"))
