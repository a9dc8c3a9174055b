"""The syntax tree of `architecture.sct`: every node knows its source range.

Nodes hold character offsets (`start`, `end`) into their file; the file itself
is held once, by `File`. A node made by the decompiler has no source and
offsets of -1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any


@dataclass(slots=True)
class Ident:
    text: str
    start: int = -1
    end: int = -1

    @property
    def missing(self) -> bool:
        """True for a name the parser made up while recovering from an error."""
        return not self.text


# --- expressions -----------------------------------------------------------


@dataclass(slots=True)
class StringLit:
    """A string; `parts` alternate literal text and interpolated expressions."""

    raw: str
    parts: list[str | Expr]
    start: int = -1
    end: int = -1
    depth: int = 0  # how deep brackets and operators nest in it (`parser.MAX_NESTING`)

    @property
    def is_plain(self) -> bool:
        return all(isinstance(part, str) for part in self.parts)

    @property
    def text(self) -> str:
        """The literal value of a string with no interpolation."""
        return "".join(part for part in self.parts if isinstance(part, str))


@dataclass(slots=True)
class NumberLit:
    raw: str
    value: int | float
    start: int = -1
    end: int = -1


@dataclass(slots=True)
class BoolLit:
    value: bool
    start: int = -1
    end: int = -1


@dataclass(slots=True)
class NullLit:
    start: int = -1
    end: int = -1


@dataclass(slots=True)
class ListExpr:
    items: list[Expr]
    multiline: bool = False
    start: int = -1
    end: int = -1
    depth: int = 0


@dataclass(slots=True)
class MapEntry:
    key: Ident
    value: Expr
    quoted: bool = False
    start: int = -1
    end: int = -1


@dataclass(slots=True)
class MapExpr:
    entries: list[MapEntry]
    multiline: bool = False
    start: int = -1
    end: int = -1
    depth: int = 0


@dataclass(slots=True)
class Reference:
    """`a.b.c`: resolved by the checker to a let, a param, an object or an output."""

    parts: list[Ident]
    start: int = -1
    end: int = -1

    @property
    def dotted(self) -> str:
        return ".".join(part.text for part in self.parts)


@dataclass(slots=True)
class Call:
    name: Ident
    args: list[Expr]
    start: int = -1
    end: int = -1
    depth: int = 0


@dataclass(slots=True)
class Binary:
    """`left OP right`: `op` is the operator's text (`+`, `==`, `&&`...)."""

    op: str
    left: Expr
    right: Expr
    start: int = -1
    end: int = -1
    depth: int = 0


@dataclass(slots=True)
class Unary:
    """`-x` or `!x`."""

    op: str
    operand: Expr
    start: int = -1
    end: int = -1
    depth: int = 0


@dataclass(slots=True)
class Conditional:
    """`condition ? then : otherwise`."""

    condition: Expr
    then: Expr
    otherwise: Expr
    start: int = -1
    end: int = -1
    depth: int = 0


@dataclass(slots=True)
class Index:
    """`target[index]`: an item of a list, or a key of a map."""

    target: Expr
    index: Expr
    start: int = -1
    end: int = -1
    depth: int = 0


@dataclass(slots=True)
class GetAttr:
    """`target.name` after an index (`xs[0].name`); `a.b` alone is a `Reference`."""

    target: Expr
    name: Ident
    start: int = -1
    end: int = -1
    depth: int = 0


@dataclass(slots=True)
class Paren:
    """`(inner)`: kept, so that the formatter prints the parentheses the user wrote."""

    inner: Expr
    start: int = -1
    end: int = -1
    depth: int = 0


@dataclass(slots=True)
class ErrorExpr:
    """Stands where the parser expected a value and found none."""

    start: int = -1
    end: int = -1


Expr = (
    StringLit | NumberLit | BoolLit | NullLit | ListExpr | MapExpr | Reference | Call
    | Binary | Unary | Conditional | Index | GetAttr | Paren | ErrorExpr
)


@dataclass(slots=True)
class Repetition:
    """What follows a block's name: `for x in xs`, `for k, v in m`, `if c`, `for x in xs if c`.

    `variables` is empty for a bare `if`; `iterable` is None then.
    """

    variables: list[Ident]
    iterable: Expr | None
    condition: Expr | None
    start: int = -1
    end: int = -1


# --- declarations ----------------------------------------------------------


@dataclass(slots=True)
class Attribute:
    key: Ident
    value: Expr
    start: int = -1
    end: int = -1


@dataclass(slots=True)
class ObjectBlock:
    kind: Ident
    name: Ident
    attributes: list[Attribute]
    start: int = -1
    end: int = -1
    open_brace: int = -1
    repetition: Repetition | None = None


@dataclass(slots=True)
class ModuleBlock(ObjectBlock):
    """`module web { source = "./modules/web", port = 8080 }`: a use of a module.

    Shaped as an object block whose kind is the keyword `module` (the tools that walk
    blocks read it as one); `source` and the params are its attributes."""


@dataclass(slots=True)
class ApplicationBlock:
    name: Ident
    attributes: list[Attribute]
    start: int = -1
    end: int = -1
    open_brace: int = -1


@dataclass(slots=True)
class ComponentBlock:
    name: Ident
    members: list[Attribute | ObjectBlock]  # a ModuleBlock is an ObjectBlock too
    start: int = -1
    end: int = -1
    open_brace: int = -1
    repetition: Repetition | None = None
    # A block moved by an edit (`parser.parse_edit`): the block whose members it has,
    # the distance to them, and the copier; its members are copied on first read.
    shifted: tuple[ComponentBlock, int, Callable[[Any, int], Any]] | None = field(
        default=None, compare=False, repr=False
    )

    if not TYPE_CHECKING:  # (a `__getattr__` would hide every misspelt attribute from mypy)

        def __getattr__(self, name: str) -> Any:
            if name != "members":
                raise AttributeError(name)
            shifted = self.shifted
            if shifted is None:  # copied meanwhile, by another thread
                return object.__getattribute__(self, name)
            source, delta, move = shifted
            self.members = [move(member, delta) for member in source.members]
            self.shifted = None
            return self.members

    @property
    def attributes(self) -> list[Attribute]:
        return [member for member in self.members if isinstance(member, Attribute)]

    @property
    def objects(self) -> list[ObjectBlock]:
        return [
            m for m in self.members if isinstance(m, ObjectBlock) and not isinstance(m, ModuleBlock)
        ]

    @property
    def modules(self) -> list[ModuleBlock]:
        return [member for member in self.members if isinstance(member, ModuleBlock)]


@dataclass(slots=True)
class ParamDecl:
    name: Ident
    type: Ident
    default: Expr | None
    start: int = -1
    end: int = -1


@dataclass(slots=True)
class LetDecl:
    name: Ident
    value: Expr
    start: int = -1
    end: int = -1


@dataclass(slots=True)
class OutputDecl(LetDecl):
    """`output url = server.url`: what a module gives the file that uses it (a let's shape)."""


@dataclass(slots=True)
class MovedBlock:
    """`moved { from = api.orders, to = api.store }`: the checker reads the addresses."""

    attributes: list[Attribute]
    start: int = -1
    end: int = -1
    open_brace: int = -1


# ObjectBlock (and ModuleBlock) and OutputDecl at the top level: a module's files.
Item = ApplicationBlock | ComponentBlock | ParamDecl | LetDecl | MovedBlock | ObjectBlock
Block = ApplicationBlock | ComponentBlock | ObjectBlock | MovedBlock


@dataclass(slots=True)
class Comment:
    text: str
    start: int
    end: int


@dataclass(slots=True)
class File:
    path: str
    items: list[Item]
    comments: list[Comment] = field(default_factory=list)
    # Read from the JSON form: references there are always fully qualified.
    from_json: bool = False


def unshifted(block: ComponentBlock) -> ComponentBlock:
    """The block whose members a moved block has (`ComponentBlock.shifted`), or itself:
    for what reads no offsets (names, kinds), without copying them."""
    shifted = block.shifted
    return block if shifted is None else shifted[0]


def walk(expr: Expr) -> Iterator[Expr]:
    """An expression and every expression inside it (interpolations included)."""
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ListExpr):
            stack.extend(node.items)
        elif isinstance(node, MapExpr):
            stack.extend(entry.value for entry in node.entries)
        elif isinstance(node, Call):
            stack.extend(node.args)
        elif isinstance(node, StringLit):
            stack.extend(part for part in node.parts if not isinstance(part, str))
        elif isinstance(node, Binary):
            stack.extend((node.right, node.left))
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Conditional):
            stack.extend((node.otherwise, node.then, node.condition))
        elif isinstance(node, Index):
            stack.extend((node.index, node.target))
        elif isinstance(node, GetAttr | Paren):
            stack.append(node.target if isinstance(node, GetAttr) else node.inner)
