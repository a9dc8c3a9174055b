"""The built-in functions: one table, read by the checker (what may be called, and the
example its messages give), by the language server (completion's snippet, hover's
signature and documentation), by docs/language.md's table of functions
(`scoot_lang.language_doc`), and checked against the editor grammars
(`tests/editors/test_grammar_tables.py`)."""

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
    def signature(self) -> str:
        """The call as the docs write it: `secret("NAME")`."""
        return f'{self.name}("{self.argument}")'

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
            "The secret NAME, read when Scoot plans and applies the architecture: from its "
            "environment, then from the secrets file. Its value is never written to a file, "
            "a log or a plan.",
        ),
        Function(
            "file",
            "PATH",
            "config/app.txt",
            "The text of a file, read when the architecture is compiled: a regular file of at "
            "most 1 MiB, its path relative to the folder of the calling `.sct` file and inside "
            "it. A change to the file is a change to apply.",
        ),
    )
}
