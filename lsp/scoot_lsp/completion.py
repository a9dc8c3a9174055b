"""Completion: keywords and kinds where a block may start, the keys of the enclosing kind,
enum-like values, reference targets after a dot, snippets for new blocks.

The text just before the cursor (the current buffer) says what is being typed; a
parse of the cursor's block in the current buffer says where the cursor is
(`model.current_place`), and the last semantic model says what exists.
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from scoot_lang import syntax as s
from scoot_lang.functions import FUNCTIONS
from scoot_lang.semantic import Symbol
from scoot_lang.values import PARAM_TYPES
from scoot_lsp import model, vocabulary
from scoot_lsp.documents import Snapshot
from scoot_model import names, reference, template
from scoot_model.objects import kinds

_NAME = names.NAME_PATTERN.strip("^$")
_DOTTED = re.compile(rf"((?:{_NAME}\s*\.\s*)+)([A-Za-z0-9_-]*)$")
_VALUE = re.compile(rf"({_NAME}|\"[^\"]*\")\s*=\s*(\"?)([A-Za-z0-9_-]*)$")
_LIST_ITEM = re.compile(r"[\[,]\s*(\"?)([A-Za-z0-9_-]*)$")
_HEAD = re.compile(r"^\s*([A-Za-z0-9_-]*)$")
_PARAM_TYPE = re.compile(rf"^\s*param\s+{_NAME}\s*:\s*([A-Za-z]*)$")

Items = list[lsp.CompletionItem]


def complete(snapshot: Snapshot, where: model.Place, line_prefix: str) -> lsp.CompletionList:
    """Completions at a cursor (`where`, in the current text): `line_prefix` is the
    current line's text before it."""
    items: Items
    if (match := _PARAM_TYPE.match(line_prefix)) is not None:
        items = [lsp.CompletionItem(label=t, kind=lsp.CompletionItemKind.TypeParameter) for t in PARAM_TYPES]
    elif (match := _DOTTED.search(line_prefix)) is not None and not _in_string_text(line_prefix):
        parts = [p.strip() for p in match.group(1).split(".") if p.strip()]
        items = _after_dot(snapshot, where, parts)
    elif (match := _VALUE.search(line_prefix)) is not None:
        items = _values(snapshot, where, match.group(1).strip('"'), quoted=bool(match.group(2)))
    elif where.attribute is not None and (match := _LIST_ITEM.search(line_prefix)) is not None:
        items = _values(snapshot, where, where.attribute.key.text, quoted=bool(match.group(1)))
    elif _HEAD.match(line_prefix) is not None:
        if where.attribute is not None and isinstance(where.attribute.value, s.MapExpr | s.ListExpr):
            items = []  # a new map key or list item: anything the user likes
        elif where.block is not None:
            items = _keys(where) + (_kinds() if where.object is None and isinstance(where.item, s.ComponentBlock) else [])
        elif where.item is None:
            items = _top_level()
        else:
            items = []
    else:
        items = []
    return lsp.CompletionList(is_incomplete=False, items=items)


def _in_string_text(prefix: str) -> bool:
    """Inside a string's plain text (an odd number of quotes, no open `${`)."""
    quotes = len(re.findall(r'(?<!\\)"', prefix))
    if quotes % 2 == 0:
        return False
    tail = prefix[prefix.rfind('"') + 1 :]
    index = tail.find("$")
    while index >= 0:  # read as the parser reads it: `$${` is text, `${x}` closed
        read = template.read_dollar(tail, index, sct=True)
        if read.kind == "unclosed":
            return False
        index = tail.find("$", read.end)
    return True


def _keys(where: model.Place) -> Items:
    owner = vocabulary.model_of(where.block)
    if owner is None:
        return []
    block = where.block
    present = {a.key.text for a in (block.attributes if block is not None else [])}
    what = where.object.kind.text if where.object else "application" if isinstance(block, s.ApplicationBlock) else "component"
    items = []
    for k in reference.keys(owner):
        if k.name in present:
            continue
        items.append(
            lsp.CompletionItem(
                label=k.name,
                kind=lsp.CompletionItemKind.Property,
                detail=k.type + (" (required)" if k.required else ""),
                documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=vocabulary.key_markdown(k, what)),
                insert_text=f"{k.name} = $0",
                insert_text_format=lsp.InsertTextFormat.Snippet,
                sort_text=("0" if k.required else "1") + k.name,
            )
        )
    return items


def _kind_snippet(kind_name: str) -> str:
    owner = kinds.get(kind_name)
    body = []
    number = 2
    for k in reference.keys(owner) if owner else []:
        if k.required:
            value = f'"${{{number}}}"' if k.type == "a string" else f"${{{number}}}"
            body.append(f"\t{k.name} = {value}")
            number += 1
    inner = "\n".join(body) if body else "\t$0"
    return f"{kind_name} ${{1:name}} {{\n{inner}\n}}"


def _kinds() -> Items:
    items = []
    for name in kinds.names():
        items.append(
            lsp.CompletionItem(
                label=name,
                kind=lsp.CompletionItemKind.Class,
                detail="object kind",
                documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=vocabulary.kind_markdown(name) or ""),
                insert_text=_kind_snippet(name),
                insert_text_format=lsp.InsertTextFormat.Snippet,
                sort_text="2" + name,
            )
        )
    return items


_TOP = {
    "application": 'application ${1:name} {\n\towner = "${2}"\n}',
    "component": "component ${1:name} {\n\t$0\n}",
    "param": "param ${1:name}: ${2|string,number,bool,list,map,any|} = ${3}",
    "let": "let ${1:name} = ${2}",
    "moved": "moved { from = ${1:component.object}, to = ${2:component.object} }",
}


def _top_level() -> Items:
    return [
        lsp.CompletionItem(
            label=keyword,
            kind=lsp.CompletionItemKind.Keyword,
            detail=f"{keyword} block" if keyword in ("application", "component", "moved") else f"{keyword} declaration",
            insert_text=snippet,
            insert_text_format=lsp.InsertTextFormat.Snippet,
        )
        for keyword, snippet in _TOP.items()
    ]


def _symbols(snapshot: Snapshot) -> list[Symbol]:
    return list(snapshot.compilation.semantic.symbols.values())


def _roots(snapshot: Snapshot, component: str | None) -> Items:
    """What a reference may start with here: the component's objects, components, lets, params."""
    items = []
    for sym in _symbols(snapshot):
        if sym.kind == "object" and sym.component == component:
            items.append(_item(sym.name, lsp.CompletionItemKind.Field, f"{sym.object_kind} object"))
        elif sym.kind == "component":
            items.append(_item(sym.name, lsp.CompletionItemKind.Module, "component"))
        elif sym.kind in ("let", "param"):
            items.append(_item(sym.name, lsp.CompletionItemKind.Variable, sym.kind))
    return items


def _item(label: str, kind: lsp.CompletionItemKind, detail: str, doc: str | None = None) -> lsp.CompletionItem:
    return lsp.CompletionItem(
        label=label,
        kind=kind,
        detail=detail,
        documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=doc) if doc else None,
    )


def _outputs(kind_name: str | None) -> Items:
    return [
        _item(name, lsp.CompletionItemKind.Property, f"{output.type} output", output.description)
        for name, output in reference.outputs(kind_name).items()
    ]


def _after_dot(snapshot: Snapshot, where: model.Place, parts: list[str]) -> Items:
    symbols = snapshot.compilation.semantic.symbols
    component = where.component
    first = parts[0]
    if len(parts) == 1:
        local = symbols.get(f"object:{component}.{first}") if component else None
        if local is not None:
            return _outputs(local.object_kind)
        if f"component:{first}" in symbols:
            return [
                _item(sym.name, lsp.CompletionItemKind.Field, f"{sym.object_kind} object")
                for sym in _symbols(snapshot)
                if sym.kind == "object" and sym.component == first
            ]
        return []
    if len(parts) == 2:
        target = symbols.get(f"object:{parts[0]}.{parts[1]}")
        if target is not None:
            return _outputs(target.object_kind)
    return []


def _addresses(snapshot: Snapshot, key_name: str) -> Items:
    """What a `moved` block's `to` may name: the declared objects and components, written bare.
    A `from` names something no longer declared: nothing to offer."""
    if key_name != "to":
        return []
    items = []
    for sym in _symbols(snapshot):
        if sym.kind == "object":
            items.append(_item(f"{sym.component}.{sym.name}", lsp.CompletionItemKind.Field, f"{sym.object_kind} object"))
        elif sym.kind == "component":
            items.append(_item(sym.name, lsp.CompletionItemKind.Module, "component"))
    return items


def _values(snapshot: Snapshot, where: model.Place, key_name: str, quoted: bool) -> Items:
    if isinstance(where.block, s.MovedBlock):
        return [] if quoted else _addresses(snapshot, key_name)
    items: Items = []
    owner = vocabulary.model_of(where.block)
    k = reference.key(owner, key_name) if owner is not None and not where.map_keys else None
    if k is not None:
        for example in k.examples:
            items.append(
                lsp.CompletionItem(
                    label=example,
                    kind=lsp.CompletionItemKind.EnumMember,
                    detail=f"{key_name} value",
                    insert_text=example if quoted else f'"{example}"',
                    sort_text="0" + example,
                )
            )
        if "true" in k.type:
            items += [lsp.CompletionItem(label=v, kind=lsp.CompletionItemKind.Keyword) for v in ("true", "false")]
    if quoted:
        return items
    items += _roots(snapshot, where.component)
    if where.item is not None and not isinstance(where.item, s.ParamDecl):
        items += [
            lsp.CompletionItem(
                label=function.name,
                kind=lsp.CompletionItemKind.Function,
                detail=function.signature,
                documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=vocabulary.function_markdown(function)),
                insert_text=function.snippet,
                insert_text_format=lsp.InsertTextFormat.Snippet,
            )
            for function in FUNCTIONS.values()
        ]
    return items
