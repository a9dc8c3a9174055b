"""Every `scoot` command line the docs show is one the CLI takes: its command and options
exist and its arguments parse. Lines with placeholders (`[PATH]`, `…`, `<NAME>`) are usage
summaries, not commands, and are left out."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from scoot_cli import cli

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# `scoot …` at the start of a line of a fenced block: after a prompt, a YAML `run:`,
# or environment assignments; up to a comment, `&&`, a pipe or a redirection. A line
# that does not name a command is a command only after a prompt.
COMMAND = re.compile(r"^\s*(?:\$ |- run: |run: )?(?:[A-Z_]+=\S+ )*(scoot [-a-z]+\b.*)$")
PLACEHOLDER = re.compile(r"\[|…|\.\.\.|^<")


def shown_commands() -> list[tuple[str, list[str]]]:
    found = []
    for doc in DOCS:
        fenced = False
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            match = COMMAND.match(line) if fenced else None
            if match is None:
                continue
            text = re.split(r"\s+#|\s+&&|\s+\||\s+>", match.group(1))[0]
            args = shlex.split(text)[1:]
            # Prose in a drawing ("scoot cloud and repository drivers") is no command.
            prompted = line.lstrip().startswith(("$ ", "run: ", "- run: "))
            if not prompted and args[0] not in cli.commands:
                continue
            if not any(PLACEHOLDER.search(arg) for arg in args):
                found.append((f"{doc.relative_to(ROOT)}:{number}", args))
    return found


COMMANDS = shown_commands()


def test_the_docs_show_commands() -> None:
    assert len(COMMANDS) > 40
    assert any(where.startswith("docs/team.md") for where, _ in COMMANDS)


@pytest.mark.parametrize(("where", "args"), COMMANDS, ids=[where for where, _ in COMMANDS])
def test_a_command_the_docs_show_parses(where: str, args: list[str]) -> None:
    context = cli.make_context("scoot", [], resilient_parsing=True)
    command: click.Command = cli
    while isinstance(command, click.Group) and args and args[0] in command.commands:
        command, args = command.commands[args[0]], args[1:]
    assert command is not cli, f"{where}: no such command: scoot {shlex.join(args)}"
    try:
        command.make_context(command.name, list(args), parent=context)
    except click.exceptions.Exit:
        pass  # --help, --version
    except click.UsageError as error:
        pytest.fail(f"{where}: scoot {command.name} {shlex.join(args)}: {error}")
