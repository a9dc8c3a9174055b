"""The built-in functions: one table, read by the checker (what may be called, with how
many arguments of which types, and the example its messages give), by the language
server (completion's snippet, hover's signature and documentation), by
docs/language.md's table of functions (`scoot_lang.language_doc`), and checked against
the editor grammars and the VS Code snippets (`tests/editors/test_grammar_tables.py`).

What each function computes is `scoot_lang.builtins`; `secret` and `file` are the
evaluator's own (one is kept symbolic, the other reads a file).
"""

from __future__ import annotations

from dataclasses import dataclass

# The types a parameter may take: a param's types, and `scalar` (a string, a number or
# a boolean); `a|b` is either.
PARAMETER_TYPES = ("string", "number", "bool", "list", "map", "any", "scalar")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # one of PARAMETER_TYPES, or several joined by `|`


@dataclass(frozen=True)
class Function:
    """A built-in function: its parameters (the last may repeat), what it returns, its doc."""

    name: str
    parameters: tuple[Parameter, ...]
    returns: str
    doc: str
    example: str  # a call, for messages and the docs
    optional: int = 0  # how many of the last parameters may be left out
    variadic: bool = False  # the last parameter may be given any number of times (at least once)

    @property
    def signature(self) -> str:
        """The call as the docs write it: `join(separator: string, list: list) → string`."""
        params = []
        for index, p in enumerate(self.parameters):
            text = f"{p.name}: {p.type.replace('|', '/')}"
            if self.variadic and index == len(self.parameters) - 1:
                text += ", …"
            if index >= len(self.parameters) - self.optional:
                text = f"[{text}]"
            params.append(text)
        return f"{self.name}({', '.join(params)}) → {self.returns}"

    @property
    def snippet(self) -> str:
        """What completion inserts: the call with a placeholder for each required argument."""
        required = self.parameters[: len(self.parameters) - self.optional]
        args = ", ".join(
            f'"${{{i}:{p.name}}}"' if p.type == "string" else f"${{{i}:{p.name}}}"
            for i, p in enumerate(required, 1)
        )
        return f"{self.name}({args})"

    @property
    def arity(self) -> tuple[int, int | None]:
        """The fewest and the most arguments it takes (None: no most)."""
        most = None if self.variadic else len(self.parameters)
        return len(self.parameters) - self.optional, most


def _f(
    name: str,
    params: str,
    returns: str,
    example: str,
    doc: str,
    optional: int = 0,
    variadic: bool = False,
) -> Function:
    """A function from its parameters written `name: type, name: type`."""
    parameters = tuple(
        Parameter(*(part.strip() for part in p.split(":"))) for p in params.split(",")
    )
    return Function(name, parameters, returns, doc, example, optional, variadic)


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        _f(
            "secret",
            "name: string",
            "string",
            'secret("SHOP_TOKEN")',
            "The secret called `name`, read when Scoot plans and applies the architecture: from its "
            "environment, then from the secrets file. Its value is never written to a file, "
            "a log or a plan.",
        ),
        _f(
            "file",
            "path: string",
            "string",
            'file("config/app.txt")',
            "The text of a file, read when the architecture is compiled: a regular file of at "
            "most 1 MiB, its path relative to the folder of the calling `.sct` file and inside "
            "it. A change to the file is a change to apply.",
        ),
        _f(
            "join",
            "separator: string, list: list",
            "string",
            'join(",", ["a", "b"])',
            "The items of a list of strings, numbers or booleans, written one after another "
            "with the separator between them.",
        ),
        _f(
            "split",
            "separator: string, text: string",
            "list",
            'split(",", "a,b")',
            "The pieces of a string between occurrences of a (non-empty) separator.",
        ),
        _f("lower", "text: string", "string", 'lower("EU")', "The string in lower case."),
        _f("upper", "text: string", "string", 'upper("eu")', "The string in upper case."),
        _f(
            "length",
            "value: list|map|string",
            "number",
            'length(["a", "b"])',
            "How many items a list has, keys a map, or characters a string.",
        ),
        _f(
            "range",
            "start: number, end: number",
            "list",
            "range(1, 4)",
            "The whole numbers from `start` up to but not including `end`; with one argument, "
            "from 0 up to it. At most 10,000 numbers.",
            optional=1,
        ),
        _f(
            "merge",
            "map: map",
            "map",
            "merge({ a = 1 }, { b = 2 })",
            "One map holding the keys of every map given; a key in a later map wins.",
            variadic=True,
        ),
        _f("keys", "map: map", "list", "keys({ a = 1 })", "The keys of a map, sorted."),
        _f(
            "values",
            "map: map",
            "list",
            "values({ a = 1 })",
            "The values of a map, in the order of its sorted keys.",
        ),
        _f(
            "contains",
            "list: list, value: any",
            "bool",
            'contains(["eu", "us"], "eu")',
            "Whether the list holds the value (compared as `==` does).",
        ),
        _f(
            "format",
            "spec: string, value: scalar",
            "string",
            'format("%s-%d", "web", 1)',
            "The spec with each `%s` replaced by the next value written as interpolation "
            "writes it, each `%d` by the next value, a whole number, and `%%` by `%`.",
            variadic=True,
            optional=1,
        ),
    )
}
