"""What the checker's passes learn of a unit and find wrong in it, gathered in one place:
the semantic model, the source map, and the diagnostics (each reported once)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from scoot_lang import syntax as s
from scoot_lang.diagnostics import Diagnostic, diagnostic
from scoot_lang.semantic import JsonPath, ReferenceUse, SemanticModel, SourceMap, Symbol
from scoot_lang.shifts import Shift, defer, marks
from scoot_lang.source import Span

_new = tuple.__new__  # a named tuple made without its `__new__`'s Python call (a span a name bound)


def span(file: s.File, node: Any) -> Span:
    """Where a node of the syntax tree is (anything with `start` and `end`)."""
    return _new(Span, (file.path, node.start, node.end))


@dataclass
class Findings:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    semantic: SemanticModel = field(default_factory=SemanticModel)
    source_map: SourceMap = field(default_factory=SourceMap)
    # Inside a module instance: the uses that led here, innermost first, added to
    # each diagnostic as related locations (`in module `web`, used here`).
    context: tuple[tuple[Span, str], ...] = ()
    # What replayed components add, moved by an edit: made when first read (`shifts`).
    shifts: list[Shift] = field(default_factory=list)

    def inside(self, use: Span, label: str) -> Findings:
        """The findings of a module instance used at `use`: the same lists, and one more context."""
        return Findings(
            self.diagnostics, self.semantic, self.source_map, ((use, label), *self.context)
        )

    def error(
        self, code: str, message: str, file: s.File, node: Any, suggestion: str | None = None
    ) -> None:
        """Report `code` on a node of the syntax tree."""
        self.add(diagnostic(code, message, span(file, node), suggestion=suggestion))

    def again(
        self,
        code: str,
        message: str,
        file: s.File,
        node: Any,
        first: tuple[s.File, Any],
        label: str,
    ) -> None:
        """Report `code` on a second declaration of something, pointing at the first (`label`)."""
        self.add(diagnostic(code, message, span(file, node), ((span(*first), label),)))

    def shift(
        self,
        delta: int,
        symbols: Sequence[Symbol] = (),
        references: Sequence[ReferenceUse] = (),
        spans: Sequence[tuple[JsonPath, Span]] = (),
        values: Callable[[], Iterable[tuple[JsonPath, tuple[str, s.Expr]]]] | None = None,
    ) -> None:
        """Add what a replayed component found `delta` before where it is now, moved
        when the semantic model or the source map is first read (after `seal`)."""
        self.shifts.append(Shift(marks(self.semantic, self.source_map), symbols, references, spans, values, delta))

    def seal(self) -> None:
        """The compile is done: leave what `shift` added to be made when first read."""
        defer(self.semantic, self.source_map, self.shifts)

    def add(self, found: Diagnostic) -> None:
        if self.context:
            found = replace(found, related=(*found.related, *self.context))
        self.diagnostics.append(found)

    @property
    def has_errors(self) -> bool:
        return any(d.severity.value == "error" for d in self.diagnostics)
