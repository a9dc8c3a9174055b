"""Diagnostics, and the one table of their codes.

A code is stable once published: tools and users match on it. `docs/diagnostics.md`
lists every code of `CODES` (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from scoot_lang.source import Position, SourceFile, Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    title: str
    severity: Severity = Severity.ERROR


def _table(*codes: Code) -> dict[str, Code]:
    return {code.code: code for code in codes}


CODES = _table(
    # reading and syntax
    Code("SCT001", "syntax error"),
    Code("SCT002", "unterminated string or comment, or a character that starts nothing"),
    Code("SCT003", "invalid escape sequence in a string"),
    Code("SCT004", "invalid interpolation in a string"),
    Code("SCT005", "the file cannot be read"),
    Code("SCT006", "no architecture found at the path"),
    Code("SCT007", "invalid JSON"),
    Code("SCT008", "unsupported JSON format version"),
    Code("SCT009", "nested deeper than the language allows"),
    Code("SCT010", "a value larger than the language allows"),
    # the application and names
    Code("SCT101", "no application block"),
    Code("SCT102", "more than one application block"),
    Code("SCT103", "duplicate name"),
    Code("SCT104", "a name that cannot be a repository or file name"),
    Code("SCT105", "names that differ only in case"),
    # kinds and configuration
    Code("SCT201", "unknown object kind"),
    Code("SCT202", "unknown configuration key"),
    Code("SCT203", "missing required configuration key"),
    Code("SCT204", "a value of the wrong type"),
    # references
    Code("SCT301", "reference to something that does not exist"),
    Code("SCT302", "ambiguous reference"),
    Code("SCT303", "reference to an output the kind does not have"),
    Code("SCT304", "reference cycle"),
    Code("SCT305", "a component or object where a value is needed"),
    Code("SCT306", "a runtime reference where a compile-time value is needed"),
    # functions
    Code("SCT401", "unknown function"),
    Code("SCT402", "wrong arguments to a function"),
    Code("SCT403", "file() cannot read the file"),
    Code("SCT404", "a secret in a command line"),
    # params
    Code("SCT501", "unknown parameter type"),
    Code("SCT502", "a parameter value of the wrong type"),
    Code("SCT503", "a parameter with no value"),
    Code("SCT504", "a value given for a parameter that is not declared"),
    # moved blocks
    Code("SCT601", "a `moved` address that is not one"),
    Code("SCT602", "a move between an object and a component, or to itself"),
    Code("SCT603", "moved to something not declared"),
    Code("SCT604", "moved from something still declared"),
    Code("SCT605", "an address moved twice"),
    Code("SCT606", "moves that go round in a circle"),
    # modules
    Code("SCT701", "a module source that cannot be read"),
    Code("SCT702", "a module source outside the application's folder"),
    Code("SCT703", "a module that uses itself"),
    Code("SCT704", "a value given for a param the module does not declare"),
    Code("SCT705", "a module param with no value"),
    Code("SCT706", "a block where it cannot be: in a module, or meant for one"),
    # expressions, repetition and conditions
    Code("SCT801", "an operator applied to values of the wrong type"),
    Code("SCT802", "division by zero"),
    Code("SCT803", "an operator or function applied to a value known only at apply time"),
    Code("SCT804", "an index out of range, a missing key, or indexing what is not a list or map"),
    Code("SCT811", "a `for` over something not a list or map, or loop variables that do not fit it"),
    Code("SCT812", "a `for` or `if` whose value is known only at apply time"),
    Code("SCT813", "an element of a `for` that does not make an instance name"),
    Code("SCT814", "two elements of a `for` that make the same instance name"),
    # hints
    Code("SCT901", "unused let or param", Severity.WARNING),
)


# The most characters of a source line `render` shows: a longer line is shown around the caret.
SHOWN_LINE = 200


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None
    severity: Severity = Severity.ERROR
    related: tuple[tuple[Span, str], ...] = field(default=())
    # What the message proposes, for tools that fix it: the name to put in place of
    # the span ("did you mean"), or for SCT203 the key to add.
    suggestion: str | None = None

    @property
    def title(self) -> str:
        return CODES[self.code].title


def diagnostic(
    code: str,
    message: str,
    span: Span | None,
    related: tuple[tuple[Span, str], ...] = (),
    suggestion: str | None = None,
) -> Diagnostic:
    return Diagnostic(code, message, span, CODES[code].severity, related, suggestion)


@dataclass(frozen=True, slots=True)
class Located:
    """A diagnostic with its file positions resolved, ready to show."""

    diagnostic: Diagnostic
    start: Position | None
    end: Position | None

    def to_dict(self) -> dict[str, Any]:
        d = self.diagnostic
        data: dict[str, Any] = {
            "code": d.code,
            "severity": d.severity.value,
            "message": d.message,
            "file": d.span.file if d.span else None,
        }
        if d.suggestion is not None:
            data["suggestion"] = d.suggestion
        if self.start and self.end:
            data["range"] = {
                "start": {"line": self.start.line, "column": self.start.column},
                "end": {"line": self.end.line, "column": self.end.column},
            }
        return data


def locate(diag: Diagnostic, sources: dict[str, SourceFile]) -> Located:
    source = sources.get(diag.span.file) if diag.span else None
    if diag.span is None or source is None:
        return Located(diag, None, None)
    return Located(diag, source.position(diag.span.start), source.position(diag.span.end))


def sort_key(diag: Diagnostic) -> tuple[str, int, int, str]:
    if diag.span is None:
        return ("", -1, -1, diag.code)
    return (diag.span.file, diag.span.start, diag.span.end, diag.code)


def render(located: Located, sources: dict[str, SourceFile], color: bool = False) -> str:
    """`file:line:col: error SCT123: message`, then the source line with a caret under the span."""
    d = located.diagnostic

    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    severity = paint(d.severity.value, "1;31" if d.severity is Severity.ERROR else "1;33")
    where = d.span.file if d.span else "scoot"
    if located.start is not None:
        where += f":{located.start.line}:{located.start.column}"
    lines = [f"{paint(where, '1')}: {severity} {d.code}: {d.message}"]
    source = sources.get(d.span.file) if d.span else None
    if source is not None and located.start is not None and located.end is not None:
        start, end = located.start, located.end
        text = source.line_text(start.line)
        last = end.column if end.line == start.line else len(text) + 1
        column = start.column
        if len(text) > SHOWN_LINE:
            # A window of a long line around the caret: a line of megabytes is not
            # printed whole under each of its diagnostics.
            first = max(0, min(column - 1 - SHOWN_LINE // 3, len(text) - SHOWN_LINE))
            shown = text[first : first + SHOWN_LINE]
            text = ("…" if first else "") + shown + ("…" if first + SHOWN_LINE < len(text) else "")
            column = column - first + (1 if first else 0)
            last = min(last - first + (1 if first else 0), len(text) + 1)
        width = max(1, last - column)
        gutter = f"{start.line:>5} | "
        lines.append(gutter + text.expandtabs(1))
        lines.append(" " * (len(gutter) - 2) + "| " + " " * (column - 1) + paint("^" * width, "1;32"))
    for span, note in d.related:
        related_source = sources.get(span.file)
        if related_source is not None:
            pos = related_source.position(span.start)
            lines.append(f"  note: {note} at {span.file}:{pos.line}:{pos.column}")
    return "\n".join(lines)
