"""The built-in functions: one table, read by the checker (what may be called, and the
example its messages give), by the language server (completion's snippet and
documentation) and checked against the editor grammars (`tests/editors/test_grammar_tables.py`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Function:
    """A function of one string argument."""

    name: str
    argument: str  # what the argument is, as a snippet's placeholder
    example: str  # an argument, for messages
    doc: str

    @property
    def snippet(self) -> str:
        return f'{self.name}("${{1:{self.argument}}}")'


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function(
            "secret",
            "NAME",
            "SHOP_TOKEN",
            "The secret NAME, read at apply time from the environment or the secrets file; "
            "its value is never written to a file, a log or a plan.",
        ),
        Function(
            "file",
            "path",
            "config/app.txt",
            "The text of a file in the architecture's folder (a regular file of at most 1 MiB), "
            "read at compile time: a change to the file is a change to apply.",
        ),
    )
}
