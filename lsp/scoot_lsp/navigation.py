"""Definition, references, rename and symbols: answered from the semantic model."""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types as lsp

from scoot_lang import syntax as s
from scoot_lang.semantic import ReferenceUse, SemanticModel, Symbol
from scoot_lang.source import Span
from scoot_lsp import model, vocabulary
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
    """Where a name is declared; from a module's `source`, the module's files."""
    for link in snapshot.compilation.semantic.modules.values():
        span = link.source_span
        if span.file == path and span.start <= offset <= span.end:
            return [location(snapshot, Span(file, 0, 0)) for file in link.files]
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
            # Inside a module's file, `server` names what a use makes, `web-server`.
            if not symbol.name.endswith(ref.parts[index]) or (renaming and ref.address == "to" and index == len(ref.parts) - 1):
                continue
            symbol_id, output = part_meaning(ref, index)
            if symbol_id == symbol.id and output is None:
                spans.append(ref.part_span(index))
                break
    # A module used twice has its text checked twice: one reference, two records.
    return list(dict.fromkeys(spans))


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
        raise RenameError("this is not the name of a component, object, module, param, let or module output")
    if hit.symbol.kind == "application":
        raise RenameError("the application's name names its repositories: change it by hand if you mean to")
    rng = snapshot.index(path).range(hit.span.start, hit.span.end)
    return lsp.PrepareRenamePlaceholder(range=rng, placeholder=_text(snapshot, hit.span))


def _text(snapshot: Snapshot, span: Span) -> str:
    text = snapshot.texts.get(span.file)
    if text is None:
        source = snapshot.compilation.sources.get(span.file)
        text = source.text if source is not None else ""
    return text[span.start : span.end]


def _new_id(symbol: Symbol, new_name: str) -> str:
    if symbol.kind == "object":
        return f"object:{symbol.component}.{new_name}"
    if symbol.kind == "module":  # `module:api.web`: its scope's last name
        scope = symbol.id.removeprefix("module:")
        return f"module:{scope.rpartition('.')[0] + '.' if '.' in scope else ''}{new_name}"
    suffix = symbol.id[symbol.id.index("@") :] if "@" in symbol.id else ""  # a module's param or output
    return f"{symbol.kind}:{new_name}{suffix}"


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
    base = _text(snapshot, symbol.name_span)
    if base != symbol.name:  # an instance of a block with a `for`: its name is the block's and an element's
        return _rename_repeated(snapshot, hit.span, symbol, base, new_name, recorded)
    # In a component with a `for`, a block is declared once and made in each instance
    # (`api-eu.cache`, `api-us.cache`): each is renamed, and moved if recorded.
    each = [sym for sym in vocabulary.instances(semantic, symbol) if sym.name == symbol.name]
    if new_name != symbol.name and any(_new_id(sym, new_name) in semantic.symbols for sym in each):
        raise RenameError(f"there is already a {symbol.kind} named `{new_name}`")
    if symbol.kind in ("param", "let"):
        _check_value_name(semantic, symbol, new_name)
    # What a module's use makes is named after it (`web-server`): renamed with it.
    renamed = [(made, _made_name(made, symbol.name, new_name)) for sym in each for made in _made(semantic, sym)]
    taken = [new for _, new in renamed if new in semantic.symbols and new_name != symbol.name]
    if taken:
        raise RenameError(f"the module would make `{taken[0].split(':', 1)[1]}`, which already exists")
    edits: dict[str, list[lsp.TextEdit]] = {}
    spans = [symbol.name_span, *(span for sym in each for span in uses(semantic, sym, renaming=True))]
    for span in dict.fromkeys(spans):  # a reference inside the component is each instance's
        _edit(snapshot, edits, span, new_name)
    if new_name != symbol.name:
        moves = [(sym, sym.id, _new_id(sym, new_name)) for sym in each] + [
            (semantic.symbols[old], old, new) for old, new in renamed if old in semantic.symbols
        ]
        _add_moves(snapshot, edits, symbol.span.file, moves, recorded)
    return lsp.WorkspaceEdit(changes=edits)


def in_module(snapshot: Snapshot, path: str, offset: int, edit: lsp.WorkspaceEdit) -> tuple[str, int, str] | None:
    """For a rename of what a module's file declares (a param, an output, an object): that
    file, the offset of the declared name and its new text there (taken from `edit`), so
    that every other application using the module is renamed alike (`merged`)."""
    hit = hit_at(snapshot, path, offset)
    if hit is None or hit.symbol.name_span.file in snapshot.texts:
        return None
    span = hit.symbol.name_span
    declared = snapshot.index(span.file).range(span.start, span.end)
    for change in (edit.changes or {}).get(uri_of(span.file), []):
        if change.range == declared:
            return span.file, span.start, change.new_text
    return None


def merged(first: lsp.WorkspaceEdit, second: lsp.WorkspaceEdit) -> lsp.WorkspaceEdit:
    """Two applications' edits of one rename: the module's file edited once, each
    application's own files (and `moved` blocks) as each made them."""
    changes = {uri: list(edits) for uri, edits in (first.changes or {}).items()}
    for uri, edits in (second.changes or {}).items():
        known = changes.setdefault(uri, [])
        known += [e for e in edits if e not in known]
    return lsp.WorkspaceEdit(changes=changes)


def _edit(snapshot: Snapshot, edits: dict[str, list[lsp.TextEdit]], span: Span, new_text: str) -> None:
    edit = lsp.TextEdit(range=snapshot.index(span.file).range(span.start, span.end), new_text=new_text)
    edits.setdefault(uri_of(span.file), []).append(edit)


def _check_value_name(semantic: SemanticModel, symbol: Symbol, new_name: str) -> None:
    """A param or let is renamed to no name another param or let of its scope (the
    application's, or its module's) has; a module's param is never `source`."""
    suffix = symbol.id[symbol.id.index("@") :] if "@" in symbol.id else ""
    if suffix and new_name == "source":
        raise RenameError("`source` says where a module is: a module's param cannot be named so")
    for sym in semantic.symbols.values():
        same_scope = sym.id.endswith(suffix) and (suffix or "@" not in sym.id)
        if sym.kind in ("param", "let") and sym.name == new_name and same_scope and sym.id != symbol.id:
            raise RenameError(f"there is already a param or let named `{new_name}`")


def _made(semantic: SemanticModel, symbol: Symbol) -> tuple[str, ...]:
    link = semantic.modules.get(symbol.id) if symbol.kind == "module" else None
    return link.made if link is not None else ()


def _made_name(made: str, old: str, new: str) -> str:
    """`object:api.web-server` made by `web`, renamed to `site`: `object:api.site-server`."""
    kind, _, address = made.partition(":")
    component, dot, name = address.rpartition(".")
    return f"{kind}:{component}{dot}{new}{name.removeprefix(old)}"


def _rename_repeated(
    snapshot: Snapshot, at: Span, symbol: Symbol, base: str, new_name: str, recorded: frozenset[str]
) -> lsp.WorkspaceEdit:
    """Rename a block whose instances are named after it: one with a `for` (`cache` of
    `cache-eu`, `cache-us`), or one in a module's file (`server` of `web-server`,
    `admin-server`). Its header and the names of its instances in every reference are
    renamed; at a reference, the new name keeps what the reference adds to the block's
    (`NEW-eu`, `web-NEW`). What `scoot.lock` records moves, in the application's file."""
    semantic = snapshot.compilation.semantic
    prefix, suffix = _affixes(semantic, symbol, base)
    typed = _text(snapshot, at)
    lead = typed[: len(typed) - len(base) - len(suffix)]  # a reference outside the module: `web-`
    if at == symbol.name_span:
        new_base = new_name
    elif new_name.startswith(lead) and new_name.endswith(suffix) and len(new_name) > len(lead) + len(suffix):
        new_base = new_name[len(lead) : len(new_name) - len(suffix)]
    elif not prefix:
        raise RenameError(
            f"`{symbol.name}` is made by the `for` of `{base}`: rename it to `NAME{suffix}`, "
            f"or rename `{base}` at its header"
        )
    else:
        raise RenameError(
            f"`{typed}` is made by `{base}` of the module `{prefix[:-1]}` uses: rename it to "
            f"`{lead}NAME{suffix}`, or rename `{base}` in the module's file"
        )
    problem = names.name_problem(new_base)
    if problem is not None:
        raise RenameError(f"`{new_base}` is not a name here: {problem}")
    made = vocabulary.instances(semantic, symbol)
    moves = []
    for sym in made:
        first, last = _affixes(semantic, sym, base)
        moves.append((sym, sym.id, _new_id(sym, first + new_base + last)))
    taken = [new for _, _, new in moves if new in semantic.symbols and new_base != base]
    if taken:
        raise RenameError(f"the block would make `{taken[0].split(':', 1)[1]}`, which already exists")
    edits: dict[str, list[lsp.TextEdit]] = {}
    _edit(snapshot, edits, symbol.name_span, new_base)
    starts: dict[Span, None] = {}
    for sym in made:
        after = len(_affixes(semantic, sym, base)[1])
        for u in uses(semantic, sym, renaming=True):
            starts[Span(u.file, u.end - after - len(base), u.end - after)] = None
    for span in starts:  # a reference inside a component with a `for` (or a module) is each instance's
        _edit(snapshot, edits, span, new_base)
    if new_base != base:
        _add_moves(snapshot, edits, _application_file(snapshot, symbol), moves, recorded)
    return lsp.WorkspaceEdit(changes=edits)


def _affixes(semantic: SemanticModel, symbol: Symbol, base: str) -> tuple[str, str]:
    """What an instance's name adds to its block's: the prefix of the module's use that made
    it (`web-` of `web-server`, `""` for a block of the application) and the element of a
    `for` (`-eu` of `cache-eu`)."""
    prefixes = [
        link.use.removeprefix("module:").rpartition(".")[2] + "-" for link in semantic.modules.values() if symbol.id in link.made
    ]
    for prefix in [*sorted(prefixes, key=len, reverse=True), ""]:
        if symbol.name.startswith(prefix + base):
            return prefix, symbol.name[len(prefix) + len(base) :]
    raise RenameError(f"`{symbol.name}` is not named after `{base}`: rename it where it is declared")


def _application_file(snapshot: Snapshot, symbol: Symbol) -> str:
    """Where a rename's `moved` blocks go: the file declaring what is renamed, or for what a
    module makes (declared in the module's file), the file declaring the application."""
    if symbol.span.file in snapshot.texts:
        return symbol.span.file
    declared = [sym.span.file for sym in snapshot.compilation.semantic.symbols.values() if sym.kind == "application"]
    return next((file for file in declared if file in snapshot.texts), next(iter(snapshot.texts)))


def _add_moves(
    snapshot: Snapshot,
    edits: dict[str, list[lsp.TextEdit]],
    file: str,
    moves: list[tuple[Symbol, str, str]],
    recorded: frozenset[str],
) -> None:
    """The `moved` blocks a rename of applied objects or components needs (symbol, old id,
    new id each), at the end of the file declaring what is renamed (the application's
    file, for what a module makes: moves are the application's)."""
    semantic = snapshot.compilation.semantic
    blocks = []
    for symbol, old_id, new_id in moves:
        if symbol.kind not in ("object", "component"):
            continue
        old, new = old_id.split(":", 1)[1], new_id.split(":", 1)[1]
        held = old in recorded if symbol.kind == "object" else any(a.startswith(old + ".") for a in recorded)
        chained = any(ref.address == "to" and ref.target == old_id for ref in semantic.references)
        if held or chained:
            blocks.append(f"moved {{ from = {old}, to = {new} }}\n")
    if not blocks:
        return
    text = snapshot.texts[file]
    tree = model.tree(snapshot.compilation, file)
    after_move = tree is not None and bool(tree.items) and isinstance(tree.items[-1], s.MovedBlock)
    # As `scoot fmt` lays it out: set apart from a block, together with other moves.
    lead = ("" if text.endswith("\n") or not text else "\n") + ("" if after_move or not text else "\n")
    end = snapshot.index(file).range(len(text), len(text))
    edits.setdefault(uri_of(file), []).append(lsp.TextEdit(range=end, new_text=lead + "".join(blocks)))


# --- symbols -----------------------------------------------------------------------

_KINDS = {
    "application": lsp.SymbolKind.Module,
    "component": lsp.SymbolKind.Namespace,
    "object": lsp.SymbolKind.Object,
    "param": lsp.SymbolKind.Variable,
    "let": lsp.SymbolKind.Constant,
    "module": lsp.SymbolKind.Module,
    "output": lsp.SymbolKind.Property,
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
