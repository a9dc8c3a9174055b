"""What the compiler learned about the text, for the tools that point back at it.

The semantic model holds every declared symbol and every reference with its
target; the source map takes a path in the JSON form (`components.api.objects.web.port`)
to the span of text that produced it. The plan and the language server use
these instead of walking the syntax tree or parsing again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from scoot_lang.source import Span

SymbolKind = Literal["application", "component", "object", "param", "let"]
JsonPath = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Symbol:
    """A declaration. `id` is unique: `component:api`, `object:api.web`, `let:greeting`."""

    id: str
    kind: SymbolKind
    name: str
    span: Span
    name_span: Span
    component: str | None = None
    object_kind: str | None = None


@dataclass(frozen=True, slots=True)
class ReferenceUse:
    """A reference in the text and what it resolved to (`target` None when it did not)."""

    span: Span
    parts: tuple[str, ...]
    part_spans: tuple[Span, ...]
    target: str | None
    output: str | None = None


@dataclass
class SemanticModel:
    symbols: dict[str, Symbol] = field(default_factory=dict)
    references: list[ReferenceUse] = field(default_factory=list)

    def add(self, symbol: Symbol) -> None:
        self.symbols.setdefault(symbol.id, symbol)

    def references_to(self, symbol_id: str) -> list[ReferenceUse]:
        return [ref for ref in self.references if ref.target == symbol_id]

    def symbol_at(self, file: str, offset: int) -> Symbol | None:
        """The symbol declared or referenced at a position of a file."""
        for symbol in self.symbols.values():
            span = symbol.name_span
            if span.file == file and span.start <= offset <= span.end:
                return symbol
        for ref in self.references:
            if ref.target and ref.span.file == file and ref.span.start <= offset <= ref.span.end:
                return self.symbols.get(ref.target)
        return None


@dataclass
class SourceMap:
    """JSON path to the span that produced it: a block, an attribute, a map entry."""

    spans: dict[JsonPath, Span] = field(default_factory=dict)

    def add(self, path: JsonPath, span: Span) -> None:
        self.spans.setdefault(path, span)

    def find(self, path: JsonPath) -> Span | None:
        """The span of a path, or of its nearest ancestor that has one."""
        for end in range(len(path), 0, -1):
            span = self.spans.get(path[:end])
            if span is not None:
                return span
        return None
