"""What the compiler learned about the text, for the tools that point back at it.

The semantic model holds every declared symbol and every reference with its
target; the source map takes a path in the JSON form (`components.api.objects.web.port`)
to the span of text that produced it. The plan and the language server use
these instead of walking the syntax tree or parsing again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from scoot_lang import syntax as s
from scoot_lang.source import Span

SymbolKind = Literal["application", "component", "object", "param", "let", "module", "output"]
JsonPath = tuple[str, ...]


class Symbol(NamedTuple):
    """A declaration. `id` is unique: `component:api`, `object:api.web`, `let:greeting`."""

    id: str
    kind: SymbolKind
    name: str
    span: Span
    name_span: Span
    component: str | None = None
    object_kind: str | None = None


class ReferenceUse(NamedTuple):
    """A reference in the text and what it resolved to (`target` None when it did not)."""

    span: Span
    parts: tuple[str, ...]
    part_starts: tuple[int, ...]
    target: str | None
    output: str | None = None
    # Per part, the symbol it names (`component:api`, `object:api.web`), None for an
    # output or a map key: so a tool knows `api` in `api.web.url` is the component.
    part_targets: tuple[str | None, ...] = ()
    # "from" or "to" for an address of a `moved` block: a name, not a value. What a
    # `to` names is kept by a rename (the chain goes on from it, docs/language.md).
    # "argument" for a param given at a module's use (`port` of `module web { port = 80 }`).
    address: str | None = None

    def part_span(self, index: int) -> Span:
        """The span of one name of the reference (`orders` in `api.orders.path`)."""
        start = self.part_starts[index]
        return Span(self.span.file, start, start + len(self.parts[index]))


class ModuleLink(NamedTuple):
    """A use of a module (`use`: its symbol id) and the module it uses, as the editor needs them."""

    use: str
    source: str  # as written
    source_span: Span
    files: tuple[str, ...]  # the module's files
    suffix: str  # of its params' and outputs' symbol ids: `param:port@modules/web`
    made: tuple[str, ...]  # the symbols of the objects or components the use makes

    def member(self, kind: str, name: str) -> str:
        """The symbol id of one of its params or outputs."""
        return f"{kind}:{name}{self.suffix}"


class Condition(NamedTuple):
    """How the `if` of a block (without a `for`) came out: whether it holds, and the
    values of the names it reads (`("env", '"prod"')`, as written in `.sct`), so that
    a tool can say why a block does not exist."""

    holds: bool
    reads: tuple[tuple[str, str], ...]


@dataclass
class SemanticModel:
    symbols: dict[str, Symbol] = field(default_factory=dict)
    references: list[ReferenceUse] = field(default_factory=list)
    modules: dict[str, ModuleLink] = field(default_factory=dict)  # by the use's symbol id
    trees: dict[str, s.File] = field(default_factory=dict)  # the modules' files, by path
    # By the span of the block's name; a module's block used many times: its first use's.
    conditions: dict[Span, Condition] = field(default_factory=dict)

    if not TYPE_CHECKING:  # (a `__getattr__` would hide every misspelt attribute from mypy)

        def __getattr__(self, name: str) -> Any:
            return later(self, name)

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
                for index, target in enumerate(ref.part_targets):
                    span = ref.part_span(index)
                    if span.start <= offset <= span.end:
                        return self.symbols.get(target) if target else self.symbols.get(ref.target)
                return self.symbols.get(ref.target)
        return None


@dataclass
class SourceMap:
    """JSON path to the span that produced it: a block, an attribute, a map entry.

    Blocks and attributes are recorded as they are checked; the entries of a
    map or list value are found on demand by walking the attribute's value.
    """

    spans: dict[JsonPath, Span] = field(default_factory=dict)
    values: dict[JsonPath, tuple[str, s.Expr]] = field(default_factory=dict)

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            return later(self, name)

    def add(self, path: JsonPath, span: Span, value: s.Expr | None = None) -> None:
        if path not in self.spans:
            self.spans[path] = span
            if value is not None:
                self.values[path] = (span.file, value)

    def get(self, path: JsonPath) -> Span | None:
        """The span of exactly this path, if the text has one."""
        span = self.spans.get(path)
        if span is not None:
            return span
        for end in range(len(path) - 1, 0, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return _descend(found[0], found[1], path[end:])
        return None

    def value_span(self, path: JsonPath) -> Span | None:
        """The span of the value at a path (`8080` of `port = 8080`), if the text has one."""
        found = self.values.get(path)
        if found is not None:
            return Span(found[0], found[1].start, found[1].end)
        for end in range(len(path) - 1, 0, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return _descend(found[0], found[1], path[end:], value=True)
        return None

    def find(self, path: JsonPath) -> Span | None:
        """The span of a path, or of its nearest ancestor that has one."""
        for end in range(len(path), 0, -1):
            span = self.get(path[:end])
            if span is not None:
                return span
        return None


def later(model: Any, name: str) -> Any:
    """A field a compile left to be made when first read (`scoot_lang.shifts`)."""
    fields = model.__dict__
    left = fields.get("_later")
    if left is None or name not in left[1]:  # not left, or made meanwhile by another thread
        return object.__getattribute__(model, name)
    make, eager, shifts = left
    for key, value in make(eager, shifts).items():
        fields.setdefault(key, value)
    fields.pop("_later", None)
    return fields[name]


def _descend(file: str, expr: s.Expr, rest: JsonPath, value: bool = False) -> Span | None:
    """The span of the entry (or, with `value`, of the value) at `rest` inside an expression."""
    for key in rest:
        if isinstance(expr, s.MapExpr):
            entry = next((e for e in expr.entries if e.key.text == key), None)
            if entry is None:
                return None
            expr = entry.value
            node: s.MapEntry | s.Expr = expr if value else entry
        elif isinstance(expr, s.ListExpr) and key.isdigit() and int(key) < len(expr.items):
            node = expr = expr.items[int(key)]
        else:
            return None
    return Span(file, node.start, node.end) if rest else None
