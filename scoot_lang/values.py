"""The values the checker computes: folded constants, and what stays symbolic until
apply time (objects, their outputs, secrets, strings holding them).

A value is lowered into the JSON form with `lower`; `summarize` measures one
(how deep it nests, how large it is once written out, what it refers to) without
building it out, since values made from lets share their parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

from scoot_model import template

PARAM_TYPES = ("string", "number", "bool", "list", "map", "any")


class ObjectRef(NamedTuple):
    """A runtime reference: an object, or one of its outputs."""

    component: str
    object: str
    output: str | None = None

    def text(self) -> str:
        tail = f".{self.output}" if self.output else ""
        return f"${{{self.component}.{self.object}{tail}}}"


@dataclass(frozen=True, slots=True)
class ComponentRef:
    component: str


class Secret(NamedTuple):
    name: str

    def text(self) -> str:
        return f'${{secret("{self.name}")}}'


@dataclass(frozen=True, slots=True)
class Template:
    """A string holding runtime references or secrets among literal text."""

    parts: tuple[str | ObjectRef | Secret, ...]


class Invalid:
    """The value of an expression already reported as wrong: checks skip it."""


INVALID = Invalid()
Value: TypeAlias = (
    str | int | float | bool | list["Value"] | dict[str, "Value"]
    | ObjectRef | ComponentRef | Secret | Template | Invalid | None
)


def lower(value: Value) -> Any:
    """A checked value in the JSON form: references as `${...}`, literal text escaped."""
    # The usual types first, by identity (a check per value compiled).
    if type(value) is str:
        return template.escape(value) if "$" in value else value
    if type(value) is int or type(value) is bool or value is None:
        return value
    if type(value) is dict:
        return {k: lower(v) for k, v in value.items()}
    if type(value) is ObjectRef:
        return value.text()
    if isinstance(value, str):
        return template.escape(value)
    if isinstance(value, ObjectRef | Secret):
        return value.text()
    if isinstance(value, Template):
        parts = value.parts
        return "".join(
            template.escape(p, before_interpolation=i + 1 < len(parts)) if isinstance(p, str) else p.text()
            for i, p in enumerate(parts)
        )
    if isinstance(value, list):
        return [lower(v) for v in value]
    if isinstance(value, dict):
        return {k: lower(v) for k, v in value.items()}
    return value


def describe_value(value: Value) -> str:
    """What a value is, for a message: `a string`, `a map`, `an object`..."""
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str | Template):
        return "a string"
    if value is None:
        return "`null`"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, ObjectRef):
        return "an object" if value.output is None else "a reference"
    if isinstance(value, Secret):
        return "a secret"
    return "a component"


def scalar_text(value: str | int | float | bool) -> str:
    """A scalar as interpolation writes it into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def param_type_ok(kind: str, value: Value) -> bool:
    """Whether a value is of a param's declared type (one of `PARAM_TYPES`)."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "map":
        return isinstance(value, dict)
    return True


# --- measuring a value ----------------------------------------------------------------

REFERENCE_SIZE = 32  # about the length of a reference or a secret in the JSON form


class Summary(NamedTuple):
    """What the checks need to know of a value, found without walking it more than once."""

    depth: int  # how deep lists and maps nest (a scalar: 0)
    size: int  # about how many bytes it takes once lowered: its objects, and its JSON text
    refs: tuple[ObjectRef, ...]  # the objects and outputs it refers to, each once, in order
    secret: bool  # whether it holds a secret


# What a lowered value costs, in bytes, about (CPython's objects): a string's object
# around its text, a number, and a list or map around each of its items.
_OBJECT_SIZE, _LIST_SIZE, _LIST_ITEM_SIZE, _MAP_SIZE, _MAP_ITEM_SIZE = 50, 64, 8, 232, 100
_SCALAR_SIZE = 32  # a number, a boolean, null
STRING_SIZE = _OBJECT_SIZE  # a string's size is its length and this

# `summarize`'s memory of the lists and maps it has measured, by id (holding the value,
# so that the id stays its own).
Measured: TypeAlias = dict[int, tuple[Value, Summary]]


def _scalar_summary(item: Any) -> Summary:
    if isinstance(item, str):
        return Summary(0, len(item) + STRING_SIZE, (), False)
    if isinstance(item, Template):
        size = sum(len(p) if isinstance(p, str) else REFERENCE_SIZE for p in item.parts) + _OBJECT_SIZE
        refs = tuple(dict.fromkeys(p for p in item.parts if isinstance(p, ObjectRef)))
        return Summary(0, size, refs, any(isinstance(p, Secret) for p in item.parts))
    if isinstance(item, ObjectRef):
        return Summary(0, REFERENCE_SIZE + _OBJECT_SIZE, (item,), False)
    if isinstance(item, Secret | ComponentRef):
        return Summary(0, REFERENCE_SIZE + _OBJECT_SIZE, (), isinstance(item, Secret))
    return Summary(0, _SCALAR_SIZE, (), False)


def flat_size(value: Value) -> int | None:
    """`summarize`'s size of a value with no list or map below its top (most values: a
    port, a reference, a command, an env), found without a `Summary` or a memory; None
    for any other value."""
    children: Any
    if type(value) is dict:
        children = value.values()
        size = _MAP_SIZE + len(value) * _MAP_ITEM_SIZE + sum(map(len, value))
    elif type(value) is list:
        children = value
        size = _LIST_SIZE + len(value) * _LIST_ITEM_SIZE
    else:
        children, size = (value,), 0
    for c in children:
        kind = type(c)
        if kind is str:
            size += len(c) + STRING_SIZE
        elif kind is ObjectRef:
            size += REFERENCE_SIZE + _OBJECT_SIZE
        elif kind is int or kind is float or kind is bool or c is None:
            size += _SCALAR_SIZE
        elif kind is Template:
            size += sum(len(p) if type(p) is str else REFERENCE_SIZE for p in c.parts) + _OBJECT_SIZE
        else:
            return None
    return size


def summarize(value: Value, memory: Measured) -> Summary:
    """The `Summary` of a value, without recursion and without building the value out.

    A value made from lets shares theirs (`[a, a]` holds `a` twice, and `let b =
    [a, a, a]` then `let c = [b, b, b]` hold it nine times): each list or map is
    summed up once and remembered in `memory` for the next value that holds it. The
    size counts a shared part each time it appears, as lowering it (`lower`) and the
    JSON form would write it out.
    """
    if not isinstance(value, list | dict):
        return _scalar_summary(value)
    known = memory.get(id(value))
    if known is not None:
        return known[1]
    pending: list[tuple[Any, bool]] = [(value, False)]
    while pending:
        item, children_done = pending.pop()
        if id(item) in memory:
            continue
        children = list(item if isinstance(item, list) else item.values())
        containers = [c for c in children if isinstance(c, list | dict) and id(c) not in memory]
        if containers and not children_done:
            pending.append((item, True))
            pending.extend((c, False) for c in containers)
            continue
        # Plain strings and numbers (most of what a value holds) are summed up here, with
        # no `Summary` of their own: the same sizes `_scalar_summary` gives them.
        size = 0
        parts: list[Summary] = []
        for c in children:
            kind = type(c)
            if kind is str:
                size += len(c) + STRING_SIZE
            elif kind is int or kind is float or kind is bool or c is None:
                size += _SCALAR_SIZE
            else:
                part = memory[id(c)][1] if isinstance(c, list | dict) else _scalar_summary(c)
                size += part.size
                parts.append(part)
        if isinstance(item, dict):
            size += _MAP_SIZE + len(item) * _MAP_ITEM_SIZE + sum(len(key) for key in item)
        else:
            size += _LIST_SIZE + len(item) * _LIST_ITEM_SIZE
        memory[id(item)] = (
            item,
            Summary(
                1 + max((part.depth for part in parts), default=0),
                size,
                tuple(dict.fromkeys(r for part in parts for r in part.refs)),
                any(part.secret for part in parts),
            ),
        )
    return memory[id(value)][1]
