"""Semantic tokens and folding ranges, from the syntax tree and the semantic model."""

from __future__ import annotations

import re
from typing import NamedTuple

from lsprotocol import types as lsp

from scoot_lang import syntax as s
from scoot_lang.semantic import ReferenceUse, SemanticModel
from scoot_lsp import model, vocabulary
from scoot_lsp.documents import Snapshot
from scoot_lsp.navigation import part_meaning

TOKEN_TYPES = [
    "keyword", "type", "namespace", "variable", "property", "string", "number", "comment", "function", "enumMember",
    "operator",
]
TOKEN_MODIFIERS = ["declaration", "readonly", "defaultLibrary"]
LEGEND = lsp.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)
_TYPE = {name: index for index, name in enumerate(TOKEN_TYPES)}
DECLARATION, READONLY, LIBRARY = 1, 2, 4

Token = tuple[int, int, int, int]  # start, end, type, modifiers


def _ident(tokens: list[Token], ident: s.Ident, kind: str, modifiers: int = 0) -> None:
    if ident.start >= 0 and ident.end > ident.start:
        tokens.append((ident.start, ident.end, _TYPE[kind], modifiers))


_SYMBOL_TYPE = {
    "component": ("namespace", 0),
    "object": ("variable", 0),
    "let": ("variable", READONLY),
    "param": ("variable", READONLY),
    "module": ("namespace", 0),
    "output": ("property", 0),
}


class _Source(NamedTuple):
    """What the tokens of one file are made from: the model, and the file's text and
    comments (an operator is found in the text between its operands: the tree keeps
    the operands' positions, not the operator's)."""

    semantic: SemanticModel
    text: str
    comments: list[s.Comment]


def _expr(tokens: list[Token], expr: s.Expr, refs: dict[int, ReferenceUse], ctx: _Source) -> None:
    semantic = ctx.semantic
    if isinstance(expr, s.StringLit):
        cursor = expr.start
        for part in expr.parts:
            if isinstance(part, str):
                continue
            if part.start > cursor:
                tokens.append((cursor, part.start, _TYPE["string"], 0))
            _expr(tokens, part, refs, ctx)
            cursor = max(cursor, part.end)
        if expr.end > cursor:
            tokens.append((cursor, expr.end, _TYPE["string"], 0))
    elif isinstance(expr, s.NumberLit):
        tokens.append((expr.start, expr.end, _TYPE["number"], 0))
    elif isinstance(expr, s.BoolLit | s.NullLit):
        tokens.append((expr.start, expr.end, _TYPE["keyword"], 0))
    elif isinstance(expr, s.ListExpr):
        for item in expr.items:
            _expr(tokens, item, refs, ctx)
    elif isinstance(expr, s.MapExpr):
        for entry in expr.entries:
            if not entry.quoted:
                _ident(tokens, entry.key, "property")
            _expr(tokens, entry.value, refs, ctx)
    elif isinstance(expr, s.Call):
        _ident(tokens, expr.name, "function", LIBRARY)
        for arg in expr.args:
            _expr(tokens, arg, refs, ctx)
    elif isinstance(expr, s.Binary):
        _expr(tokens, expr.left, refs, ctx)
        _operator(tokens, ctx, expr.left.end, expr.right.start, expr.op)
        _expr(tokens, expr.right, refs, ctx)
    elif isinstance(expr, s.Conditional):
        _operator(tokens, ctx, expr.condition.end, expr.then.start, "?")
        _operator(tokens, ctx, expr.then.end, expr.otherwise.start, ":")
        for part in (expr.condition, expr.then, expr.otherwise):
            _expr(tokens, part, refs, ctx)
    elif isinstance(expr, s.Index):
        _expr(tokens, expr.target, refs, ctx)
        _expr(tokens, expr.index, refs, ctx)
    elif isinstance(expr, s.GetAttr):
        _expr(tokens, expr.target, refs, ctx)
        _ident(tokens, expr.name, "property")
    elif isinstance(expr, s.Unary | s.Paren):
        if isinstance(expr, s.Unary) and expr.start >= 0:
            tokens.append((expr.start, expr.start + len(expr.op), _TYPE["operator"], 0))
        _expr(tokens, expr.operand if isinstance(expr, s.Unary) else expr.inner, refs, ctx)
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


def _operator(tokens: list[Token], ctx: _Source, after: int, before: int, op: str) -> None:
    """The operator `op` written between two operands (outside any comment there)."""
    text, comments = ctx.text, ctx.comments
    at = text.find(op, after, before) if 0 <= after <= before else -1
    while at >= 0 and any(c.start <= at < c.end for c in comments):
        at = text.find(op, at + 1, before)
    if at >= 0:
        tokens.append((at, at + len(op), _TYPE["operator"], 0))


def _repetition(
    tokens: list[Token], repetition: s.Repetition | None, refs: dict[int, ReferenceUse], ctx: _Source
) -> None:
    """`for x in xs if c`: its keywords, its variables, its list and its condition."""
    if repetition is None:
        return
    keyword = "for" if repetition.iterable is not None else "if"
    tokens.append((repetition.start, repetition.start + len(keyword), _TYPE["keyword"], 0))
    for variable in repetition.variables:
        _ident(tokens, variable, "variable", DECLARATION | READONLY)
    if repetition.iterable is not None and repetition.variables:
        _keyword_between(tokens, ctx, repetition.variables[-1].end, repetition.iterable.start, "in")
        if repetition.condition is not None:
            _keyword_between(tokens, ctx, repetition.iterable.end, repetition.condition.start, "if")
    for expr in (repetition.iterable, repetition.condition):
        if expr is not None:
            _expr(tokens, expr, refs, ctx)


def _keyword_between(tokens: list[Token], ctx: _Source, after: int, before: int, word: str) -> None:
    text = ctx.text
    found = re.search(rf"\b{word}\b", text[after:before]) if 0 <= after <= before else None
    if found is not None:
        tokens.append((after + found.start(), after + found.end(), _TYPE["keyword"], 0))


def _block(tokens: list[Token], block: s.ObjectBlock, refs: dict[int, ReferenceUse], ctx: _Source) -> None:
    """An object, or a module's use (`module` its keyword, its params properties)."""
    if isinstance(block, s.ModuleBlock):
        tokens.append((block.kind.start, block.kind.end, _TYPE["keyword"], 0))
        _ident(tokens, block.name, "namespace", DECLARATION)
    else:
        _ident(tokens, block.kind, "type")
        _ident(tokens, block.name, "variable", DECLARATION)
    _repetition(tokens, block.repetition, refs, ctx)
    for attr in block.attributes:
        _ident(tokens, attr.key, "property")
        _expr(tokens, attr.value, refs, ctx)


def _raw(snapshot: Snapshot, path: str) -> list[Token]:
    file = model.tree(snapshot.compilation, path)
    if file is None:
        return []
    compilation = snapshot.compilation
    ctx = _Source(compilation.semantic, vocabulary.text_of(compilation, path), file.comments)
    refs = {ref.span.start: ref for ref in snapshot.compilation.semantic.references if ref.span.file == path}
    tokens: list[Token] = [(c.start, c.end, _TYPE["comment"], 0) for c in file.comments]
    for item in file.items:
        if isinstance(item, s.ApplicationBlock | s.ComponentBlock):
            keyword = "application" if isinstance(item, s.ApplicationBlock) else "component"
            tokens.append((item.start, item.start + len(keyword), _TYPE["keyword"], 0))
            _ident(tokens, item.name, "namespace", DECLARATION)
            if isinstance(item, s.ComponentBlock):
                _repetition(tokens, item.repetition, refs, ctx)
            for member in item.members if isinstance(item, s.ComponentBlock) else item.attributes:
                if isinstance(member, s.ObjectBlock):
                    _block(tokens, member, refs, ctx)
                else:
                    _ident(tokens, member.key, "property")
                    _expr(tokens, member.value, refs, ctx)
        elif isinstance(item, s.ParamDecl):
            tokens.append((item.start, item.start + len("param"), _TYPE["keyword"], 0))
            _ident(tokens, item.name, "variable", DECLARATION | READONLY)
            _ident(tokens, item.type, "type", LIBRARY)
            if item.default is not None:
                _expr(tokens, item.default, refs, ctx)
        elif isinstance(item, s.MovedBlock):
            # Its addresses: a `to` as what it names, a `from` (named by nothing) as a name.
            tokens.append((item.start, item.start + len("moved"), _TYPE["keyword"], 0))
            for attr in item.attributes:
                _ident(tokens, attr.key, "property")
                _expr(tokens, attr.value, refs, ctx)
        elif isinstance(item, s.ObjectBlock):  # a module's file: its objects, its uses of modules
            _block(tokens, item, refs, ctx)
        elif isinstance(item, s.LetDecl):
            keyword = "output" if isinstance(item, s.OutputDecl) else "let"
            tokens.append((item.start, item.start + len(keyword), _TYPE["keyword"], 0))
            _ident(tokens, item.name, "variable", DECLARATION | READONLY)
            _expr(tokens, item.value, refs, ctx)
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
