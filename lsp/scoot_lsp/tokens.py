"""Semantic tokens and folding ranges, from the syntax tree and the semantic model."""

from __future__ import annotations

from lsprotocol import types as lsp

from scoot_lang import syntax as s
from scoot_lang.semantic import ReferenceUse
from scoot_lsp import model
from scoot_lsp.documents import Snapshot
from scoot_lsp.navigation import part_meaning

TOKEN_TYPES = [
    "keyword", "type", "namespace", "variable", "property", "string", "number", "comment", "function", "enumMember"
]
TOKEN_MODIFIERS = ["declaration", "readonly", "defaultLibrary"]
LEGEND = lsp.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)
_TYPE = {name: index for index, name in enumerate(TOKEN_TYPES)}
DECLARATION, READONLY, LIBRARY = 1, 2, 4

Token = tuple[int, int, int, int]  # start, end, type, modifiers


def _ident(tokens: list[Token], ident: s.Ident, kind: str, modifiers: int = 0) -> None:
    if ident.start >= 0 and ident.end > ident.start:
        tokens.append((ident.start, ident.end, _TYPE[kind], modifiers))


_SYMBOL_TYPE = {"component": ("namespace", 0), "object": ("variable", 0), "let": ("variable", READONLY), "param": ("variable", READONLY)}


def _expr(tokens: list[Token], expr: s.Expr, refs: dict[int, ReferenceUse], snapshot: Snapshot) -> None:
    semantic = snapshot.compilation.semantic
    if isinstance(expr, s.StringLit):
        cursor = expr.start
        for part in expr.parts:
            if isinstance(part, str):
                continue
            if part.start > cursor:
                tokens.append((cursor, part.start, _TYPE["string"], 0))
            _expr(tokens, part, refs, snapshot)
            cursor = max(cursor, part.end)
        if expr.end > cursor:
            tokens.append((cursor, expr.end, _TYPE["string"], 0))
    elif isinstance(expr, s.NumberLit):
        tokens.append((expr.start, expr.end, _TYPE["number"], 0))
    elif isinstance(expr, s.BoolLit | s.NullLit):
        tokens.append((expr.start, expr.end, _TYPE["keyword"], 0))
    elif isinstance(expr, s.ListExpr):
        for item in expr.items:
            _expr(tokens, item, refs, snapshot)
    elif isinstance(expr, s.MapExpr):
        for entry in expr.entries:
            if not entry.quoted:
                _ident(tokens, entry.key, "property")
            _expr(tokens, entry.value, refs, snapshot)
    elif isinstance(expr, s.Call):
        _ident(tokens, expr.name, "function", LIBRARY)
        for arg in expr.args:
            _expr(tokens, arg, refs, snapshot)
    elif isinstance(expr, s.Binary):
        _expr(tokens, expr.left, refs, snapshot)
        _expr(tokens, expr.right, refs, snapshot)
    elif isinstance(expr, s.Conditional):
        for part in (expr.condition, expr.then, expr.otherwise):
            _expr(tokens, part, refs, snapshot)
    elif isinstance(expr, s.Index):
        _expr(tokens, expr.target, refs, snapshot)
        _expr(tokens, expr.index, refs, snapshot)
    elif isinstance(expr, s.GetAttr):
        _expr(tokens, expr.target, refs, snapshot)
        _ident(tokens, expr.name, "property")
    elif isinstance(expr, s.Unary | s.Paren):
        _expr(tokens, expr.operand if isinstance(expr, s.Unary) else expr.inner, refs, snapshot)
    elif isinstance(expr, s.Reference):
        ref = refs.get(expr.start)
        for index, name in enumerate(expr.parts):
            kind, modifiers = "variable", 0
            if ref is not None:
                symbol_id, output = part_meaning(ref, index)
                symbol = semantic.symbols.get(symbol_id) if symbol_id else None
                if output is not None or (symbol is None and index > 0):
                    kind = "property"
                elif symbol is not None:
                    kind, modifiers = _SYMBOL_TYPE.get(symbol.kind, ("variable", 0))
            _ident(tokens, name, kind, modifiers)


def _repetition(
    tokens: list[Token], repetition: s.Repetition | None, refs: dict[int, ReferenceUse], snapshot: Snapshot
) -> None:
    """`for x in xs if c`: its first keyword, its variables, its list and its condition."""
    if repetition is None:
        return
    keyword = "for" if repetition.iterable is not None else "if"
    tokens.append((repetition.start, repetition.start + len(keyword), _TYPE["keyword"], 0))
    for variable in repetition.variables:
        _ident(tokens, variable, "variable", DECLARATION | READONLY)
    for expr in (repetition.iterable, repetition.condition):
        if expr is not None:
            _expr(tokens, expr, refs, snapshot)


def _raw(snapshot: Snapshot, path: str) -> list[Token]:
    file = model.tree(snapshot.compilation, path)
    if file is None:
        return []
    refs = {ref.span.start: ref for ref in snapshot.compilation.semantic.references if ref.span.file == path}
    tokens: list[Token] = [(c.start, c.end, _TYPE["comment"], 0) for c in file.comments]
    for item in file.items:
        if isinstance(item, s.ApplicationBlock | s.ComponentBlock):
            keyword = "application" if isinstance(item, s.ApplicationBlock) else "component"
            tokens.append((item.start, item.start + len(keyword), _TYPE["keyword"], 0))
            _ident(tokens, item.name, "namespace", DECLARATION)
            if isinstance(item, s.ComponentBlock):
                _repetition(tokens, item.repetition, refs, snapshot)
            for member in item.members if isinstance(item, s.ComponentBlock) else item.attributes:
                if isinstance(member, s.ObjectBlock):
                    _ident(tokens, member.kind, "type")
                    _ident(tokens, member.name, "variable", DECLARATION)
                    _repetition(tokens, member.repetition, refs, snapshot)
                    for attr in member.attributes:
                        _ident(tokens, attr.key, "property")
                        _expr(tokens, attr.value, refs, snapshot)
                else:
                    _ident(tokens, member.key, "property")
                    _expr(tokens, member.value, refs, snapshot)
        elif isinstance(item, s.ParamDecl):
            tokens.append((item.start, item.start + len("param"), _TYPE["keyword"], 0))
            _ident(tokens, item.name, "variable", DECLARATION | READONLY)
            _ident(tokens, item.type, "type", LIBRARY)
            if item.default is not None:
                _expr(tokens, item.default, refs, snapshot)
        elif isinstance(item, s.MovedBlock):
            # Its addresses: a `to` as what it names, a `from` (named by nothing) as a name.
            tokens.append((item.start, item.start + len("moved"), _TYPE["keyword"], 0))
            for attr in item.attributes:
                _ident(tokens, attr.key, "property")
                _expr(tokens, attr.value, refs, snapshot)
        elif isinstance(item, s.LetDecl):
            tokens.append((item.start, item.start + len("let"), _TYPE["keyword"], 0))
            _ident(tokens, item.name, "variable", DECLARATION | READONLY)
            _expr(tokens, item.value, refs, snapshot)
    return tokens


def semantic_tokens(snapshot: Snapshot, path: str) -> lsp.SemanticTokens:
    index = snapshot.index(path)
    data: list[int] = []
    previous_line = previous_char = 0
    last_end = -1
    for start, end, kind, modifiers in sorted(_raw(snapshot, path)):
        start = max(start, last_end)  # never overlap
        if end <= start:
            continue
        last_end = end
        # One token per line: a multi-line string or comment is split.
        line = index.line_of(start)
        while start < end:
            line_end = min(end, index.line_end(line))
            if line_end > start:
                position = index.position(start)
                length = index.position(line_end).character - position.character
                delta_line = position.line - previous_line
                delta_char = position.character - (previous_char if delta_line == 0 else 0)
                data += [delta_line, delta_char, length, kind, modifiers]
                previous_line, previous_char = position.line, position.character
            line += 1
            if line >= index.line_count:
                break
            start = max(index.line_start(line), line_end)
    return lsp.SemanticTokens(data=data)


def folding_ranges(snapshot: Snapshot, path: str) -> list[lsp.FoldingRange]:
    file = model.tree(snapshot.compilation, path)
    if file is None:
        return []
    index = snapshot.index(path)
    spans: list[tuple[int, int, lsp.FoldingRangeKind | None]] = []
    for block in model.blocks(file):
        spans.append((block.start, block.end, lsp.FoldingRangeKind.Region))
    for expr in model.expressions(file):
        for node in s.walk(expr):
            if isinstance(node, s.MapExpr | s.ListExpr) or (isinstance(node, s.StringLit) and node.raw.startswith('"""')):
                spans.append((node.start, node.end, None))
    for comment in file.comments:
        spans.append((comment.start, comment.end, lsp.FoldingRangeKind.Comment))
    result = []
    seen: set[int] = set()
    for start, end, kind in sorted(spans):
        first, last = index.line_of(start), index.line_of(max(end - 1, start))
        if last > first and first not in seen:
            seen.add(first)
            result.append(lsp.FoldingRange(start_line=first, end_line=last, kind=kind))
    return result
