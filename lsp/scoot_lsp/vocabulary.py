"""The models' reference (`scoot_model.reference`) as the editor shows it: which model a
block's keys belong to, and the markdown of a key, a kind and a built-in function for hover
and completion. What a key or kind says is read from the models, what a function says from
`scoot_lang.functions`; nothing is written twice.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

from scoot_lang import syntax as s
from scoot_lang.compiler import Compilation
from scoot_lang.functions import Function
from scoot_lang.modules import SOURCE_KEY
from scoot_lang.semantic import ModuleLink, SemanticModel, Symbol
from scoot_lang.source import Span
from scoot_lsp import model
from scoot_model import reference
from scoot_model.objects import Application, Component, Moved, kinds


def model_of(block: s.Block | None) -> type[BaseModel] | None:
    """The model that validates a block's attributes."""
    if isinstance(block, s.ApplicationBlock):
        return Application
    if isinstance(block, s.ComponentBlock):
        return Component
    if isinstance(block, s.ObjectBlock):
        return kinds.get(block.kind.text)
    if isinstance(block, s.MovedBlock):
        return Moved
    return None


def key_markdown(k: reference.Key, owner: str) -> str:
    lines = [f"**{k.name}** — {owner} key: {k.type}" + (" (required)" if k.required else "")]
    if k.description:
        lines += ["", k.description]
    if k.default not in (None, {}, []):
        lines += ["", f"Default: `{reference.show(k.default)}`"]
    if k.examples:
        lines += ["", "Values: " + ", ".join(f"`{e}`" for e in k.examples)]
    return "\n".join(lines)


def kind_markdown(name: str) -> str | None:
    model = kinds.get(name)
    if model is None:
        return None
    lines = [f"**{name}** — object kind", "", model.kind_description or (model.__doc__ or "").strip()]
    package = kinds.origin(name)
    if package:
        lines += ["", f"Added by the package `{package}`: a target's driver must serve it."]
    required = [k.name for k in reference.keys(model) if k.required]
    if required:
        lines += ["", "Required: " + ", ".join(f"`{k}`" for k in required)]
    if model.outputs:
        lines += ["", "Outputs:"] + [f"- `{n}` ({o.type}): {o.description}" for n, o in model.outputs.items()]
    return "\n".join(lines)


def function_markdown(function: Function) -> str:
    return f"**{function.signature}** — built-in function\n\n{function.doc}"


# --- modules and repetition: what the semantic model links to the modules' text -----


def text_of(compilation: Compilation, path: str) -> str:
    source = compilation.sources.get(path)
    return source.text if source is not None else ""


def declaration(compilation: Compilation, symbol: Symbol) -> s.ParamDecl | s.LetDecl | None:
    """The `param`, `let` or `output` that declares a symbol (in the unit or a module's file)."""
    file = model.tree(compilation, symbol.span.file)
    for item in file.items if file is not None else ():
        if isinstance(item, s.ParamDecl | s.LetDecl) and item.name.start == symbol.name_span.start:
            return item
    return None


def doc_comment(compilation: Compilation, path: str, start: int) -> str:
    """The comment lines just above a declaration (none if a blank line parts them)."""
    file = model.tree(compilation, path)
    text = text_of(compilation, path)
    lines: list[str] = []
    for comment in reversed(file.comments if file is not None else []):
        if comment.end > start:
            continue
        between = text[comment.end : start]
        if between.strip() or between.count("\n") > 1:
            break
        lines.insert(0, comment.text.lstrip("#/").strip())
        start = comment.start
    return "\n".join(lines)


def source_text(compilation: Compilation, path: str, node: s.Expr | None) -> str:
    """An expression as written."""
    return text_of(compilation, path)[node.start : node.end] if node is not None and node.start >= 0 else ""


def param_markdown(compilation: Compilation, symbol: Symbol, module: str | None) -> str:
    """A param: its type, default and doc comment; `module`: the source of the module it belongs to."""
    decl = declaration(compilation, symbol)
    where = f"param of the module `{module}`" if module else "param"
    head = f"**{symbol.name}** — {where}"
    lines = [head]
    if isinstance(decl, s.ParamDecl):
        lines[0] += f": {decl.type.text}"
        default = source_text(compilation, symbol.span.file, decl.default)
        lines[0] += f" = `{default}`" if default else " (required)"
    doc = doc_comment(compilation, symbol.span.file, symbol.span.start)
    return "\n".join([*lines, *(["", doc] if doc else [])])


def module_of(semantic: SemanticModel, symbol: Symbol) -> ModuleLink | None:
    """The first use of the module a param or output symbol belongs to."""
    if "@" not in symbol.id:
        return None
    suffix = symbol.id[symbol.id.index("@") :]
    return next((link for link in semantic.modules.values() if link.suffix == suffix), None)


def members(semantic: SemanticModel, link: ModuleLink, kind: str) -> list[Symbol]:
    """A module's params or outputs, in the order they are declared."""
    found = [sym for sym in semantic.symbols.values() if sym.kind == kind and sym.id.endswith(link.suffix)]
    return sorted(found, key=lambda sym: (sym.span.file, sym.span.start))


def module_markdown(compilation: Compilation, use: Symbol) -> str:
    semantic = compilation.semantic
    link = semantic.modules.get(use.id)
    where = f" in component `{use.component}`" if use.component else " at the top level"
    lines = [f"**{use.name}** — a use of a module{where}"]
    if link is None:
        return "\n".join([*lines, "", "Its source could not be read (see the diagnostics)."])
    lines += ["", f"Source: `{link.source}`"]
    params = members(semantic, link, "param")
    if params:
        lines += ["", "Params:"]
        for sym in params:
            decl = declaration(compilation, sym)
            kind = decl.type.text if isinstance(decl, s.ParamDecl) else "any"
            default = source_text(compilation, sym.span.file, decl.default) if isinstance(decl, s.ParamDecl) else ""
            lines.append(f"- `{sym.name}`: {kind}" + (f" = `{default}`" if default else " (required)"))
    outputs = members(semantic, link, "output")
    if outputs:
        lines += ["", "Outputs:"]
        for sym in outputs:
            decl = declaration(compilation, sym)
            value = source_text(compilation, sym.span.file, decl.value if isinstance(decl, s.LetDecl) else None)
            lines.append(f"- `{use.name}.{sym.name}` = `{value}`")
    if link.made:
        lines += ["", "Makes: " + ", ".join(f"`{made.split(':', 1)[1]}`" for made in link.made)]
    return "\n".join(lines)


def output_markdown(compilation: Compilation, symbol: Symbol, use: str | None) -> str:
    decl = declaration(compilation, symbol)
    value = source_text(compilation, symbol.span.file, decl.value if isinstance(decl, s.LetDecl) else None)
    link = module_of(compilation.semantic, symbol)
    owner = f" of the module `{link.source}`" if link else ""
    lines = [f"**{use + '.' if use else ''}{symbol.name}** — output{owner}", "", f"`{symbol.name} = {value}`"]
    lines += ["", f"Declared in `{Path(symbol.span.file).name}`"]
    doc = doc_comment(compilation, symbol.span.file, symbol.span.start)
    return "\n".join([*lines, *(["", doc] if doc else [])])


def instances(semantic: SemanticModel, symbol: Symbol) -> list[Symbol]:
    """The instances a block with a `for` makes (they share its name's span); the symbol alone otherwise."""
    return [
        sym for sym in semantic.symbols.values() if sym.name_span == symbol.name_span and sym.kind == symbol.kind
    ]


def repetition_markdown(compilation: Compilation, block: s.ComponentBlock | s.ObjectBlock, path: str) -> str:
    """What a `for` or `if` on a block makes."""
    repetition = block.repetition
    assert repetition is not None
    clause = text_of(compilation, path)[repetition.start : repetition.end]
    semantic = compilation.semantic
    made = [
        sym.name
        for sym in semantic.symbols.values()
        if sym.name_span.file == path and sym.name_span.start == block.name.start and sym.kind in ("object", "component")
    ]
    if repetition.iterable is not None:
        what = ", ".join(f"`{name}`" for name in made) or "none (its list is empty)"
        return f"**{block.name.text}** `{clause}`\n\nMakes {what}: one for each element, named after it."
    holds = "it holds: the block exists" if made else "it does not hold: the block does not exist"
    lines = [f"**{block.name.text}** `{clause}`", "", f"Exists only when its condition holds; now {holds}."]
    why = condition_text(compilation, path, block)
    if why:
        lines += ["", why]
    return "\n".join(lines)


def condition_text(compilation: Compilation, path: str, block: s.ComponentBlock | s.ObjectBlock) -> str:
    """How a block's bare `if` came out, and why (`` `env != "prod"` is false because `env =
    "prod"`. ``); "" when the checker kept nothing (a condition it could not know, or one
    inside a block that was never made)."""
    repetition = block.repetition
    condition = compilation.semantic.conditions.get(Span(path, block.name.start, block.name.end))
    if condition is None or repetition is None or repetition.condition is None:
        return ""
    written = source_text(compilation, path, repetition.condition)
    why = f"`{written}` is {'true' if condition.holds else 'false'}"
    if condition.reads:
        why += " because " + ", ".join(f"`{name} = {value}`" for name, value in condition.reads)
    return why + "."


def is_false(compilation: Compilation, path: str, block: s.ComponentBlock | s.ObjectBlock) -> bool:
    """Whether a block's bare `if` was found false (so nothing inside it exists)."""
    condition = compilation.semantic.conditions.get(Span(path, block.name.start, block.name.end))
    repetition = block.repetition
    return condition is not None and not condition.holds and repetition is not None and repetition.iterable is None


def absent_markdown(compilation: Compilation, path: str, component: s.ComponentBlock, block: s.ObjectBlock) -> str:
    """A block inside a component whose `if` is false: it does not exist, and why."""
    assert component.repetition is not None
    what = "use of a module" if isinstance(block, s.ModuleBlock) else f"{block.kind.text} object"
    clause = text_of(compilation, path)[component.repetition.start : component.repetition.end]
    return "\n".join(
        [
            f"**{component.name.text}.{block.name.text}** — {what} in component `{component.name.text}`: it does "
            "not exist, because its component's condition is false.",
            "",
            f"`{component.name.text} {clause}`: {condition_text(compilation, path, component)}",
        ]
    )


def unmade_uses(compilation: Compilation, module: str) -> list[str]:
    """For a module's file: each use of its module whose `if` is false (or which is inside a
    component whose `if` is false), and why: what the module's blocks are not made by."""
    folder = os.path.dirname(module)
    lines = []
    for file in (*compilation.files, *compilation.semantic.trees.values()):
        for outer, use in _module_uses(file):
            source = next((a.value for a in use.attributes if a.key.text == SOURCE_KEY), None)
            if not isinstance(source, s.StringLit) or not source.is_plain:
                continue
            if os.path.normpath(os.path.join(os.path.dirname(file.path), source.text)) not in (folder, module):
                continue
            false = [b for b in (outer, use) if b is not None and is_false(compilation, file.path, b)]
            if false:
                where = f"`{outer.name.text}.{use.name.text}`" if outer is not None else f"`{use.name.text}`"
                lines.append(f"Not made by the use {where}: {condition_text(compilation, file.path, false[0])}")
    return lines


def _module_uses(file: s.File) -> list[tuple[s.ComponentBlock | None, s.ModuleBlock]]:
    found: list[tuple[s.ComponentBlock | None, s.ModuleBlock]] = []
    for item in file.items:
        if isinstance(item, s.ModuleBlock):
            found.append((None, item))
        elif isinstance(item, s.ComponentBlock):
            found += [(item, member) for member in item.members if isinstance(member, s.ModuleBlock)]
    return found


def loop_variable_markdown(compilation: Compilation, block: s.ComponentBlock | s.ObjectBlock, name: str, path: str) -> str:
    repetition = block.repetition
    assert repetition is not None and repetition.iterable is not None
    iterable = source_text(compilation, path, repetition.iterable)
    position = [v.text for v in repetition.variables].index(name)
    role = "each element" if len(repetition.variables) == 1 else ("each key" if position == 0 else "each value")
    return f"**{name}** — loop variable of `{block.name.text}`: {role} of `{iterable}`"
