"""Code actions (quick fixes for diagnostics with an obvious fix) and formatting."""

from __future__ import annotations

from lsprotocol import types as lsp

from scoot_lang import syntax as s
from scoot_lang.diagnostics import Diagnostic
from scoot_lang.format import format_text
from scoot_lsp import model, vocabulary
from scoot_lsp.diagnostics import to_lsp
from scoot_lsp.documents import Snapshot, uri_of
from scoot_model import names, reference


def code_actions(snapshot: Snapshot, path: str, start: int, end: int) -> list[lsp.CodeAction]:
    """Fixes for the unit's diagnostics of this file that touch `[start, end]`."""
    actions: list[lsp.CodeAction] = []
    for diag in snapshot.compilation.diagnostics:
        span = diag.span
        if span is None or span.file != path or span.end < start or span.start > end:
            continue
        action = _fix(snapshot, path, diag)
        if action is not None:
            actions.append(action)
    return actions


def _edit(snapshot: Snapshot, path: str, start: int, end: int, text: str) -> lsp.WorkspaceEdit:
    rng = snapshot.index(path).range(start, end)
    return lsp.WorkspaceEdit(changes={uri_of(path): [lsp.TextEdit(range=rng, new_text=text)]})


def _action(title: str, diag: Diagnostic, snapshot: Snapshot, edit: lsp.WorkspaceEdit) -> lsp.CodeAction:
    return lsp.CodeAction(
        title=title,
        kind=lsp.CodeActionKind.QuickFix,
        diagnostics=[to_lsp(diag, snapshot)],
        edit=edit,
        is_preferred=True,
    )


def _fix(snapshot: Snapshot, path: str, diag: Diagnostic) -> lsp.CodeAction | None:
    assert diag.span is not None
    span = diag.span
    text = snapshot.texts.get(path, "")
    if diag.code == "SCT203" and diag.suggestion is not None:
        return _add_key(snapshot, path, diag, diag.suggestion)
    if diag.suggestion is not None:
        wrong = text[span.start : span.end]
        if names.is_name(wrong):
            edit = _edit(snapshot, path, span.start, span.end, diag.suggestion)
            return _action(f"Change `{wrong}` to `{diag.suggestion}`", diag, snapshot, edit)
    if diag.code == "SCT103":
        return _remove_duplicate(snapshot, path, diag)
    return None


def _header_starts(block: s.Block) -> tuple[int, ...]:
    """Where a diagnostic about a block's missing key may start: its keyword, or its name."""
    return (block.start,) if isinstance(block, s.MovedBlock) else (block.start, block.name.start)


def _placeholder(block: s.Block, key: str) -> str:
    if isinstance(block, s.MovedBlock):
        return "component.object"  # an address is written bare, never as a string
    owner = vocabulary.model_of(block)
    k = reference.key(owner, key) if owner else None
    kind = k.type if k else ""
    if kind.startswith("a list"):
        return "[]"
    if kind.startswith("a map"):
        return "{}"
    if kind.startswith("a reference to an object"):
        return "TODO"
    if kind.startswith("a string") or "string" in kind:
        return '""'
    if "number" in kind:
        return "0"
    return '""'


def _add_key(snapshot: Snapshot, path: str, diag: Diagnostic, key: str) -> lsp.CodeAction | None:
    assert diag.span is not None
    file = model.tree(snapshot.compilation, path)
    if file is None:
        return None
    block = next((b for b in model.blocks(file) if diag.span.start in _header_starts(b)), None)
    if block is None or block.open_brace < 0:
        return None
    text = snapshot.texts[path]
    line_start = text.rfind("\n", 0, block.start) + 1
    line = text[line_start : block.start]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    inner = indent + "  "
    at = block.open_brace + 1
    edit = _edit(snapshot, path, at, at, f"\n{inner}{key} = {_placeholder(block, key)}")
    return _action(f"Add `{key}`", diag, snapshot, edit)


def _remove_duplicate(snapshot: Snapshot, path: str, diag: Diagnostic) -> lsp.CodeAction | None:
    """Remove the second of two attributes or map entries with the same key."""
    assert diag.span is not None
    file = model.tree(snapshot.compilation, path)
    if file is None:
        return None
    target: s.Attribute | s.MapEntry | None = next(
        (a for a in model.attributes(file) if a.key.start == diag.span.start), None
    )
    if target is None:
        for expr in model.expressions(file):
            for node in s.walk(expr):
                if isinstance(node, s.MapExpr):
                    target = next((e for e in node.entries if e.key.start == diag.span.start), None) or target
    if target is None:
        return None
    text = snapshot.texts[path]
    start, end = target.start, target.end
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if not text[line_start:start].strip() and text[end:line_end].strip() in ("", ","):
        start, end = line_start, min(line_end + 1, len(text))  # the whole line
    elif text[end:line_end].lstrip().startswith(","):
        end = text.index(",", end) + 1
    return _action(f"Remove the duplicate `{target.key.text}`", diag, snapshot, _edit(snapshot, path, start, end, ""))


def format_document(text: str, path: str, index_range: lsp.Range) -> list[lsp.TextEdit] | None:
    """The `scoot fmt` formatter; None for a file with syntax errors (never print a broken file)."""
    formatted, _ = format_text(text, path)
    if formatted is None or formatted == text:
        return None if formatted is None else []
    return [lsp.TextEdit(range=index_range, new_text=formatted)]
