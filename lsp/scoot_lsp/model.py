"""Questions about a compilation the features share: which tree, which block, which key.

Everything here reads the compiler's results (syntax trees with offsets, the
semantic model); only `current_place` parses: the one top-level item of the
current text that holds the cursor, so that completion sees what the user has
now while the semantic model of the last compile may lag behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from scoot_lang import syntax as s
from scoot_lang.compiler import Compilation
from scoot_lang.parser import common_ends, parse


def tree(compilation: Compilation, path: str) -> s.File | None:
    """The tree of a file of the unit, or of a module's file the unit uses."""
    for file in compilation.files:
        if file.path == path:
            return file
    return compilation.semantic.trees.get(path)


@dataclass
class Place:
    """Where an offset is in a file's tree, outermost first."""

    item: s.Item | None = None  # the top-level declaration
    object: s.ObjectBlock | None = None
    attribute: s.Attribute | None = None  # the attribute of a block the offset is in
    map_keys: tuple[str, ...] = ()  # inside the attribute's value: the map keys on the way

    @property
    def block(self) -> s.Block | None:
        """The innermost block whose braces hold the offset."""
        if self.object is not None:
            return self.object
        if isinstance(self.item, s.ApplicationBlock | s.ComponentBlock | s.MovedBlock):
            return self.item
        return None

    @property
    def component(self) -> str | None:
        return self.item.name.text if isinstance(self.item, s.ComponentBlock) else None


def _inside(node: s.Item | s.ObjectBlock | s.Attribute | s.MapEntry, offset: int) -> bool:
    return node.start <= offset <= node.end


def _in_body(block: s.Block, offset: int) -> bool:
    """Within the braces of a block (after `{`, before or at `}`)."""
    return block.open_brace >= 0 and block.open_brace < offset < block.end


def place(file: s.File | None, offset: int) -> Place:
    result = Place()
    if file is None:
        return result
    for item in file.items:
        if not _inside(item, offset):
            continue
        result.item = item
        if isinstance(item, s.ParamDecl | s.LetDecl):
            return result
        if isinstance(item, s.ObjectBlock):  # a module's file: its objects are at the top level
            result.object = item
        if not _in_body(item, offset):
            return result
        members: list[s.Attribute | s.ObjectBlock] = list(item.members) if isinstance(item, s.ComponentBlock) else list(item.attributes)
        for member in members:
            if isinstance(member, s.ObjectBlock) and _inside(member, offset):
                if not _in_body(member, offset):
                    result.object = member  # on its header
                    return result
                result.object = member
                for attr in member.attributes:
                    if _inside(attr, offset):
                        result.attribute = attr
                        result.map_keys = _map_keys(attr.value, offset)
                return result
            if isinstance(member, s.Attribute) and _inside(member, offset):
                result.attribute = member
                result.map_keys = _map_keys(member.value, offset)
        return result
    return result


def _map_keys(expr: s.Expr, offset: int) -> tuple[str, ...]:
    keys: list[str] = []
    while isinstance(expr, s.MapExpr):
        entry = next((e for e in expr.entries if e.start <= offset <= e.end), None)
        if entry is None:
            break
        keys.append(entry.key.text)
        expr = entry.value
    return tuple(keys)


def blocks(file: s.File) -> Iterator[s.Block]:
    for item in file.items:
        if isinstance(item, s.ApplicationBlock):
            yield item
        elif isinstance(item, s.ComponentBlock):
            yield item
            yield from item.objects
        elif isinstance(item, s.MovedBlock):
            yield item


def attributes(file: s.File) -> Iterator[s.Attribute]:
    for item in file.items:
        if isinstance(item, s.ApplicationBlock | s.MovedBlock):
            yield from item.attributes
        elif isinstance(item, s.ComponentBlock):
            for member in item.members:
                if isinstance(member, s.Attribute):
                    yield member
                else:
                    yield from member.attributes


def expressions(file: s.File) -> Iterator[s.Expr]:
    """The top-level value of every attribute, let and param default."""
    for item in file.items:
        if isinstance(item, s.LetDecl):
            yield item.value
        elif isinstance(item, s.ParamDecl) and item.default is not None:
            yield item.default
    for attr in attributes(file):
        yield attr.value
    for block in blocks(file):  # `for x in LIST if CONDITION` on a block
        if isinstance(block, s.ComponentBlock | s.ObjectBlock) and block.repetition is not None:
            yield from (e for e in (block.repetition.iterable, block.repetition.condition) if e is not None)


def current_place(file: s.File | None, old: str, new: str, offset: int) -> Place:
    """Where an offset of the current text `new` is, `file` being the tree of `old`.

    The top-level items of `old` that an edit did not touch keep their text in
    `new`; the cursor's item (or the stretch between untouched items that holds it)
    is parsed again, alone, so that the answer is the current text's. No tree (the
    file is not compiled yet): the whole text is parsed; the JSON form: no place.
    """
    if file is not None and (file.from_json or old is new or old == new):
        return place(file, offset) if not file.from_json else Place()
    start, end = 0, len(new)
    if file is not None:
        prefix, suffix = common_ends(old, new)
        delta = len(new) - len(old)
        for item in file.items:
            if item.end <= prefix:  # before the edit: the same offsets
                first, last = item.start, item.end
            elif item.start >= len(old) - suffix:  # after the edit: shifted
                first, last = item.start + delta, item.end + delta
            else:
                continue
            if first <= offset <= last:
                start, end = first, last
                break
            if last < offset:
                start = last
            else:
                end = first
                break
    return _parsed_place(new, start, end, offset)


def prepare() -> None:
    """Build the parser of this thread (the event loop's) now, not on the first completion."""
    parse("", "prepare")


def _parsed_place(text: str, start: int, end: int, offset: int) -> Place:
    fragment, _ = parse(text[start:end], "fragment")
    return place(fragment, offset - start)
