"""Hover: a key's or kind's description and type, a built-in function's signature and doc,
what a reference points at, and for an object, what `scoot.lock` records of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from lsprotocol import types as lsp

from scoot_lang import syntax as s
from scoot_lang.functions import FUNCTIONS
from scoot_lang.modules import GIT_FORM, SOURCE_KEY
from scoot_lsp import model, vocabulary
from scoot_lsp.documents import Snapshot
from scoot_lsp.navigation import Hit, hit_at
from scoot_lsp.positions import LineIndex
from scoot_model import reference
from scoot_model.objects import kinds

# Given an address (`api.web`), what each target of scoot.lock records of it.
Recorded = Callable[[str], dict[str, dict[str, Any]]]


def hover(snapshot: Snapshot, path: str, offset: int, recorded: Recorded | None = None) -> lsp.Hover | None:
    file = model.tree(snapshot.compilation, path)
    index = snapshot.index(path)
    absent = _absent_at(snapshot, file, path, offset)
    if absent is not None:
        return _markdown(absent[0], index.range(absent[1].start, absent[1].end))
    repeated = _repetition_at(snapshot, file, path, offset)
    if repeated is not None:
        return _markdown(repeated[0], index.range(repeated[1].start, repeated[1].end))
    hit = hit_at(snapshot, path, offset)
    if hit is not None:
        return _markdown(_symbol_text(snapshot, hit, recorded), index.range(hit.span.start, hit.span.end))
    call = _call_at(file, offset)
    function = FUNCTIONS.get(call.name.text) if call is not None else None
    if call is not None and function is not None:
        return _markdown(vocabulary.function_markdown(function), index.range(call.name.start, call.name.end))
    where = model.place(file, offset)
    obj = where.object
    if isinstance(obj, s.ModuleBlock):  # `module` and `source`: what a use is, where its module is
        for ident in (obj.kind, *(a.key for a in obj.attributes if a.key.text == SOURCE_KEY)):
            if ident.start <= offset <= ident.end:
                return _markdown(MODULE_HELP if ident is obj.kind else SOURCE_HELP, index.range(ident.start, ident.end))
    if obj is not None and obj.kind.start <= offset <= obj.kind.end:
        kind_text = vocabulary.kind_markdown(obj.kind.text)
        if kind_text:
            return _markdown(kind_text, index.range(obj.kind.start, obj.kind.end))
    attr = where.attribute
    if attr is not None and attr.key.start <= offset <= attr.key.end:
        owner = vocabulary.model_of(where.block)
        k = reference.key(owner, attr.key.text) if owner else None
        if k is not None:
            what = where.object.kind.text if where.object else _BLOCK_WORD.get(type(where.block), "component")
            return _markdown(vocabulary.key_markdown(k, what), index.range(attr.key.start, attr.key.end))
    if isinstance(where.item, s.MovedBlock):
        return _moved(where.item, attr, offset, index, recorded)
    return None


_BLOCK_WORD: dict[type, str] = {s.ApplicationBlock: "application", s.MovedBlock: "moved"}


def _moved(block: s.MovedBlock, attr: s.Attribute | None, offset: int, index: LineIndex, recorded: Recorded | None) -> lsp.Hover | None:
    """On the keyword: what a move is; on an old address: whether `scoot.lock` still holds it."""
    if block.start <= offset <= block.start + len("moved"):
        return _markdown(MOVED_HELP, index.range(block.start, block.start + len("moved")))
    value = attr.value if attr is not None else None
    if attr is None or value is None or not value.start <= offset <= value.end or attr.key.text != "from":
        return None
    address = value.dotted if isinstance(value, s.Reference) else "this"
    lines = [f"**{address}** — the old address of a move: declared no more; what was applied there is kept under `to`"]
    if recorded is not None and isinstance(value, s.Reference) and len(value.parts) == 2:
        targets = sorted(recorded(address))
        if targets:
            lines += ["", "Recorded in `scoot.lock` (" + ", ".join(f"`{t}`" for t in targets) + "): the next apply moves it."]
        else:
            lines += ["", "Not recorded in `scoot.lock`: already moved, or never applied (the plan warns; the block may stay)."]
    return _markdown("\n".join(lines), index.range(value.start, value.end))


MODULE_HELP = (
    "**module** — a use of a module: the `.sct` files at `source`, with the params given here. Its objects "
    "join this component as `USE-OBJECT` (used at the top level, its components join the application as "
    "`USE-COMPONENT`); `USE.OUTPUT` reads its outputs."
)
SOURCE_HELP = (
    f"**{SOURCE_KEY}** — where the module is: `./FOLDER`, relative to this file, or `{GIT_FORM}` (required)"
)

MOVED_HELP = (
    "**moved** — a rename: what was applied as `from` is now `to`, the same thing, its identity and data "
    "kept (an object, `component.object`, or a whole component). The plan shows a move, not a delete and "
    "a create. An editor's rename of an applied object writes it."
)


def _absent_at(snapshot: Snapshot, file: s.File | None, path: str, offset: int) -> tuple[str, s.Ident] | None:
    """On the name of a block that no instance makes because what holds it was not made: a
    component whose `if` is false, or (in a module's file) every use of the module."""
    where = model.place(file, offset)
    block = where.object
    if block is None or not block.name.start <= offset <= block.name.end:
        return None
    compilation = snapshot.compilation
    component = where.item
    if isinstance(component, s.ComponentBlock) and vocabulary.is_false(compilation, path, component):
        return vocabulary.absent_markdown(compilation, path, component, block), block.name
    if path in snapshot.texts or hit_at(snapshot, path, offset) is not None:
        return None
    unmade = vocabulary.unmade_uses(compilation, path)
    if not unmade:
        return None
    head = f"**{block.name.text}** — {block.kind.text} of a module: no use makes it, so it does not exist."
    return "\n\n".join([head, *unmade]), block.name


def _repetition_at(snapshot: Snapshot, file: s.File | None, path: str, offset: int) -> tuple[str, s.Ident] | None:
    """On the name of a block with a `for` or `if`: what it makes; on a loop variable
    (declared, or used inside the block): what it goes over."""
    where = model.place(file, offset)
    around = [b for b in (where.object, where.item) if isinstance(b, s.ObjectBlock | s.ComponentBlock) and b.repetition]
    compilation = snapshot.compilation
    for block in around:
        assert block.repetition is not None
        if block.name.start <= offset <= block.name.end:
            return vocabulary.repetition_markdown(compilation, block, path), block.name
        for variable in block.repetition.variables:
            if variable.start <= offset <= variable.end:
                return vocabulary.loop_variable_markdown(compilation, block, variable.text, path), variable
    first = _reference_start_at(file, offset)
    for block in around:  # the innermost first: its variables hide its component's
        assert block.repetition is not None
        if first is not None and first.text in (v.text for v in block.repetition.variables):
            return vocabulary.loop_variable_markdown(compilation, block, first.text, path), first
    return None


def _reference_start_at(file: s.File | None, offset: int) -> s.Ident | None:
    """The first name of the reference at the offset, when the offset is on it."""
    for top in model.expressions(file) if file is not None else ():
        if top.start <= offset <= top.end:
            for expr in s.walk(top):
                if isinstance(expr, s.Reference) and expr.parts[0].start <= offset <= expr.parts[0].end:
                    return expr.parts[0]
    return None


def _call_at(file: s.File | None, offset: int) -> s.Call | None:
    """The call whose function name holds the offset."""
    for top in model.expressions(file) if file is not None else ():
        if top.start <= offset <= top.end:
            for expr in s.walk(top):
                if isinstance(expr, s.Call) and expr.name.start <= offset <= expr.name.end:
                    return expr
    return None


def _markdown(text: str, rng: lsp.Range) -> lsp.Hover:
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text), range=rng)


def _symbol_text(snapshot: Snapshot, hit: Hit, recorded: Recorded | None) -> str:
    sym = hit.symbol
    compilation = snapshot.compilation
    if sym.kind == "module":
        return vocabulary.module_markdown(compilation, sym)
    if sym.kind == "param":
        link = vocabulary.module_of(compilation.semantic, sym)
        return vocabulary.param_markdown(compilation, sym, link.source if link else None)
    if sym.kind == "output":
        use = hit.reference.parts[hit.reference.part_targets.index(sym.id) - 1] if hit.reference else None
        return vocabulary.output_markdown(compilation, sym, use)
    if hit.output is not None:
        output = reference.outputs(sym.object_kind).get(hit.output)
        head = f"**{sym.component}.{sym.name}.{hit.output}** — output of {sym.object_kind} `{sym.component}.{sym.name}`"
        lines = [head]
        if output is not None:
            lines += ["", f"{output.type}: {output.description}", "", "Known at apply time."]
        return "\n".join(lines)
    if sym.kind == "object":
        lines = [f"**{sym.component}.{sym.name}** — {sym.object_kind} object in component `{sym.component}`"]
        kind_text = kinds.get(sym.object_kind or "")
        if kind_text is not None:
            lines += ["", kind_text.kind_description]
            if kind_text.outputs:
                lines += ["", "Outputs: " + ", ".join(f"`{n}`" for n in kind_text.outputs)]
        if sym.name_span.file not in snapshot.texts:  # a module's: the uses that do not make it
            lines += [line for unmade in vocabulary.unmade_uses(compilation, sym.name_span.file) for line in ("", unmade)]
        if recorded is not None:
            lines += _recorded_text(recorded(f"{sym.component}.{sym.name}"))
        return "\n".join(lines)
    if sym.kind == "component":
        return f"**{sym.name}** — component"
    if sym.kind == "application":
        return f"**{sym.name}** — the application"
    return f"**{sym.name}** — {sym.kind}"


def _recorded_text(states: dict[str, dict[str, Any]]) -> list[str]:
    if not states:
        return ["", "Not recorded in `scoot.lock`: `scoot apply` would create it."]
    lines: list[str] = []
    for target, state in sorted(states.items()):
        lines += ["", f"**Recorded in `scoot.lock`** (target `{target}`)"]
        for label, key in (("identity", "identity"), ("outputs", "outputs"), ("last applied", "config")):
            value = state.get(key)
            if value:
                lines += [f"- {label}: `{json.dumps(value, sort_keys=True, ensure_ascii=False)}`"]
        if state.get("revision"):
            lines += [f"- source revision: `{state['revision']}`"]
    return lines
