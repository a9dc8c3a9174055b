"""Definition, references, rename and symbols: answered from the semantic model."""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types as lsp

from scoot_lang import syntax as s
from scoot_lang.semantic import ReferenceUse, SemanticModel, Symbol
from scoot_lang.source import Span
from scoot_lsp import model
from scoot_lsp.documents import Snapshot, uri_of
from scoot_model import names


class RenameError(Exception):
    """A rename that cannot be done; the message says why."""


@dataclass(frozen=True)
class Hit:
    """What the name under the cursor stands for."""

    symbol: Symbol
    span: Span  # the name under the cursor
    output: str | None = None  # the cursor is on an output (`url` of `api.web.url`)
    reference: ReferenceUse | None = None


def part_meaning(ref: ReferenceUse, index: int) -> tuple[str | None, str | None]:
    """The symbol id (and output) a part of a resolved reference names, as the checker resolved it."""
    if ref.target is None or index >= len(ref.part_targets):
        return None, None
    symbol_id = ref.part_targets[index]
    if symbol_id is None and ref.output is not None and index == len(ref.parts) - 1:
        return ref.target, ref.output
    return symbol_id, None


def hit_at(snapshot: Snapshot, path: str, offset: int) -> Hit | None:
    semantic = snapshot.compilation.semantic
    for symbol in semantic.symbols.values():
        span = symbol.name_span
        if span.file == path and span.start <= offset <= span.end:
            return Hit(symbol, span)
    for ref in semantic.references:
        if ref.span.file != path or not ref.span.start <= offset <= ref.span.end:
            continue
        for index in range(len(ref.parts)):
            span = ref.part_span(index)
            if span.start <= offset <= span.end:
                symbol_id, output = part_meaning(ref, index)
                named = semantic.symbols.get(symbol_id) if symbol_id else None
                if named is not None:
                    return Hit(named, span, output, ref)
    return None


def location(snapshot: Snapshot, span: Span) -> lsp.Location:
    return lsp.Location(uri=uri_of(span.file), range=snapshot.index(span.file).range(span.start, span.end))


def definition(snapshot: Snapshot, path: str, offset: int) -> list[lsp.Location]:
    hit = hit_at(snapshot, path, offset)
    if hit is None:
        return []
    return [location(snapshot, hit.symbol.name_span)]


def uses(semantic: SemanticModel, symbol: Symbol, renaming: bool = False) -> list[Span]:
    """Every span of text that names `symbol` in a reference.

    `renaming`: not what a `moved` block's `to` moves to: that is history, which a
    rename continues with a `moved` block of its own (docs/language.md, "Renaming: moved").
    """
    spans: list[Span] = []
    for ref in semantic.references:
        if ref.target is None:
            continue
        for index in range(len(ref.parts)):
            if ref.parts[index] != symbol.name or (renaming and ref.address == "to" and index == len(ref.parts) - 1):
                continue
            symbol_id, output = part_meaning(ref, index)
            if symbol_id == symbol.id and output is None:
                spans.append(ref.part_span(index))
                break
    return spans


def references(snapshot: Snapshot, path: str, offset: int, include_declaration: bool) -> list[lsp.Location]:
    hit = hit_at(snapshot, path, offset)
    if hit is None:
        return []
    spans = uses(snapshot.compilation.semantic, hit.symbol)
    if include_declaration:
        spans.insert(0, hit.symbol.name_span)
    return [location(snapshot, span) for span in spans]


def prepare_rename(snapshot: Snapshot, path: str, offset: int) -> lsp.PrepareRenamePlaceholder:
    hit = hit_at(snapshot, path, offset)
    if hit is None or hit.output is not None:
        raise RenameError("this is not the name of a component, object, param or let")
    if hit.symbol.kind == "application":
        raise RenameError("the application's name names its repositories: change it by hand if you mean to")
    rng = snapshot.index(path).range(hit.span.start, hit.span.end)
    return lsp.PrepareRenamePlaceholder(range=rng, placeholder=hit.symbol.name)


def _new_id(symbol: Symbol, new_name: str) -> str:
    if symbol.kind == "object":
        return f"object:{symbol.component}.{new_name}"
    return f"{symbol.kind}:{new_name}"


def rename(
    snapshot: Snapshot, path: str, offset: int, new_name: str, recorded: frozenset[str] = frozenset()
) -> lsp.WorkspaceEdit:
    """Rename a symbol and every reference to it; for an object or component that `scoot.lock`
    records (`recorded`: its object addresses, for any target), or that a `moved` block
    already moves to, also append `moved { from = OLD, to = NEW }`."""
    prepare_rename(snapshot, path, offset)
    hit = hit_at(snapshot, path, offset)
    assert hit is not None
    symbol = hit.symbol
    problem = names.name_problem(new_name)
    if problem is not None:
        raise RenameError(f"`{new_name}` is not a name here: {problem}")
    semantic = snapshot.compilation.semantic
    if new_name != symbol.name and _new_id(symbol, new_name) in semantic.symbols:
        raise RenameError(f"there is already a {symbol.kind} named `{new_name}`")
    if symbol.kind in ("param", "let") and any(
        sym.kind in ("param", "let") and sym.name == new_name for sym in semantic.symbols.values()
    ):
        raise RenameError(f"there is already a param or let named `{new_name}`")
    edits: dict[str, list[lsp.TextEdit]] = {}
    for span in [symbol.name_span, *uses(semantic, symbol, renaming=True)]:
        edit = lsp.TextEdit(range=snapshot.index(span.file).range(span.start, span.end), new_text=new_name)
        edits.setdefault(uri_of(span.file), []).append(edit)
    moved = _moved_block(snapshot, symbol, new_name, recorded)
    if moved is not None and new_name != symbol.name:
        edits.setdefault(uri_of(symbol.span.file), []).append(moved)
    return lsp.WorkspaceEdit(changes=edits)


def _moved_block(snapshot: Snapshot, symbol: Symbol, new_name: str, recorded: frozenset[str]) -> lsp.TextEdit | None:
    """The `moved` block a rename of an applied object or component needs, at the end of its file."""
    if symbol.kind == "object":
        old, new = f"{symbol.component}.{symbol.name}", f"{symbol.component}.{new_name}"
        held = old in recorded
    elif symbol.kind == "component":
        old, new = symbol.name, new_name
        held = any(address.startswith(old + ".") for address in recorded)
    else:
        return None
    semantic = snapshot.compilation.semantic
    chained = any(ref.address == "to" and ref.target == symbol.id for ref in semantic.references)
    if not (held or chained):
        return None
    file = symbol.span.file
    text = snapshot.texts[file]
    tree = model.tree(snapshot.compilation, file)
    after_move = tree is not None and bool(tree.items) and isinstance(tree.items[-1], s.MovedBlock)
    # As `scoot fmt` lays it out: set apart from a block, together with other moves.
    lead = ("" if text.endswith("\n") or not text else "\n") + ("" if after_move or not text else "\n")
    end = snapshot.index(file).range(len(text), len(text))
    return lsp.TextEdit(range=end, new_text=f"{lead}moved {{ from = {old}, to = {new} }}\n")


# --- symbols -----------------------------------------------------------------------

_KINDS = {
    "application": lsp.SymbolKind.Module,
    "component": lsp.SymbolKind.Namespace,
    "object": lsp.SymbolKind.Object,
    "param": lsp.SymbolKind.Variable,
    "let": lsp.SymbolKind.Constant,
}


def document_symbols(snapshot: Snapshot, path: str) -> list[lsp.DocumentSymbol]:
    """The outline: the application, params, lets, and components with their objects."""
    index = snapshot.index(path)
    top: list[lsp.DocumentSymbol] = []
    by_component: dict[str, lsp.DocumentSymbol] = {}
    symbols = [sym for sym in snapshot.compilation.semantic.symbols.values() if sym.span.file == path]
    for sym in sorted(symbols, key=lambda sym: sym.span.start):
        node = lsp.DocumentSymbol(
            name=sym.name,
            detail=sym.object_kind or sym.kind,
            kind=_KINDS[sym.kind],
            range=index.range(sym.span.start, max(sym.span.end, sym.name_span.end)),
            selection_range=index.range(sym.name_span.start, sym.name_span.end),
            children=[] if sym.kind == "component" else None,
        )
        if sym.kind == "component":
            by_component[sym.name] = node
            top.append(node)
        elif sym.kind == "object" and sym.component in by_component:
            children = by_component[sym.component].children
            assert isinstance(children, list)
            children.append(node)
        else:
            top.append(node)
    return top


def workspace_symbols(snapshots: list[Snapshot], query: str) -> list[lsp.WorkspaceSymbol]:
    wanted = query.lower()
    result: list[lsp.WorkspaceSymbol] = []
    for snapshot in snapshots:
        for sym in snapshot.compilation.semantic.symbols.values():
            qualified = f"{sym.component}.{sym.name}" if sym.component else sym.name
            if wanted and not _fuzzy(wanted, qualified.lower()):
                continue
            result.append(
                lsp.WorkspaceSymbol(
                    name=qualified,
                    kind=_KINDS[sym.kind],
                    location=location(snapshot, sym.name_span),
                    container_name=sym.component or None,
                )
            )
    return result


def _fuzzy(query: str, name: str) -> bool:
    """The query's characters appear in the name in order."""
    position = 0
    for ch in query:
        position = name.find(ch, position) + 1
        if position == 0:
            return False
    return True
