"""What a compile replays from the last one, moved by an edit before it: made when
first read.

A line added above 10,000 lines moves hundreds of components whose checks and
bindings are replayed (`reuse`): their symbols, references, source-map spans and
values would be copied, a few objects each, on every keystroke, while what the
language server publishes first (the diagnostics) needs none of them. So each
replayed component leaves a `Shift` (what it adds, where it goes among what the
compile adds, and the distance), and its `SemanticModel` and `SourceMap` fields are
made, in the order a compile from scratch adds them, when first read (`defer`):
the semantic model when a symbol or reference is asked for, the source map when a
position is (its values are nodes of the moved block: reading them copies its members).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from scoot_lang import syntax as s
from scoot_lang.diagnostics import Diagnostic
from scoot_lang.semantic import JsonPath, ReferenceUse, SemanticModel, SourceMap, Symbol
from scoot_lang.source import Span

_make = tuple.__new__  # `Span`, `Symbol` and `ReferenceUse` are named tuples: made directly, at half the cost


class Shift(NamedTuple):
    """What one replayed component adds, `delta` further on than where it was found."""

    at: tuple[int, int, int, int]  # how many symbols, references, spans and values were added before
    symbols: Sequence[Symbol]
    references: Sequence[ReferenceUse]
    spans: Sequence[tuple[JsonPath, Span]]
    # The source map's values: nodes of the moved block, found when first read.
    values: Callable[[], Iterable[tuple[JsonPath, tuple[str, s.Expr]]]] | None
    delta: int


def moved_span(at: Span, delta: int) -> Span:
    return _make(Span, (at[0], at[1] + delta, at[2] + delta))


def moved_diagnostic(found: Diagnostic, delta: int) -> Diagnostic:
    return replace(
        found,
        span=moved_span(found.span, delta) if found.span is not None else None,
        related=tuple((moved_span(r, delta), label) for r, label in found.related),
    )


def marks(semantic: SemanticModel, source_map: SourceMap) -> tuple[int, int, int, int]:
    """Where a shift goes among what a compile adds (`Shift.at`)."""
    return len(semantic.symbols), len(semantic.references), len(source_map.spans), len(source_map.values)


def defer(semantic: SemanticModel, source_map: SourceMap, shifts: list[Shift]) -> None:
    """Leave the fields the shifts add to to be made when first read (`semantic.later`)."""
    if not shifts:
        return
    fields = semantic.__dict__
    eager = {"symbols": fields.pop("symbols"), "references": fields.pop("references")}
    fields["_later"] = (_semantic, eager, shifts)
    fields = source_map.__dict__
    eager = {"spans": fields.pop("spans"), "values": fields.pop("values")}
    fields["_later"] = (_source_map, eager, shifts)


def _semantic(eager: dict[str, Any], shifts: list[Shift]) -> dict[str, Any]:
    symbols: dict[str, Symbol] = {}
    references: list[ReferenceUse] = []
    added_symbols, added_references = list(eager["symbols"].items()), eager["references"]
    symbols_before = references_before = 0
    for shift in shifts:
        for key, symbol in added_symbols[symbols_before : shift.at[0]]:
            symbols.setdefault(key, symbol)
        references.extend(added_references[references_before : shift.at[1]])
        symbols_before, references_before = shift.at[0], shift.at[1]
        delta = shift.delta
        for x in shift.symbols:
            symbols.setdefault(x[0], _make(Symbol, (x[0], x[1], x[2], moved_span(x[3], delta), moved_span(x[4], delta), *x[5:])))
        references.extend(
            _make(ReferenceUse, (moved_span(ref[0], delta), ref[1], tuple([at + delta for at in ref[2]]), *ref[3:]))
            for ref in shift.references
        )
    for key, symbol in added_symbols[symbols_before:]:
        symbols.setdefault(key, symbol)
    references.extend(added_references[references_before:])
    return {"symbols": symbols, "references": references}


def _source_map(eager: dict[str, Any], shifts: list[Shift]) -> dict[str, Any]:
    spans: dict[JsonPath, Span] = {}
    values: dict[JsonPath, tuple[str, s.Expr]] = {}
    added_spans, added_values = list(eager["spans"].items()), list(eager["values"].items())
    spans_before = values_before = 0
    for shift in shifts:
        for path, at in added_spans[spans_before : shift.at[2]]:
            spans.setdefault(path, at)
        for path, value in added_values[values_before : shift.at[3]]:
            values.setdefault(path, value)
        spans_before, values_before = shift.at[2], shift.at[3]
        delta = shift.delta
        added = set()
        for path, at in shift.spans:
            moved = moved_span(at, delta)
            if spans.setdefault(path, moved) is moved:
                added.add(path)
        if shift.values is not None:
            for path, value in shift.values():
                if path in added:
                    values[path] = value
    for path, at in added_spans[spans_before:]:
        spans.setdefault(path, at)
    for path, value in added_values[values_before:]:
        values.setdefault(path, value)
    return {"spans": spans, "values": values}
