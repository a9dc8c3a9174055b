"""What the commands print alike: diagnostics, counts, colour, and paths as typed."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from scoot_lang.diagnostics import Diagnostic


def show_diagnostics(
    diagnostics: list[Diagnostic], sources: dict[str, Any], output: str, to_stdout: bool = False
) -> None:
    """Print diagnostics on stderr (JSON on stdout where it is the command's whole output)."""
    from scoot_app.application import diagnostics_text
    from scoot_lang.diagnostics import locate

    if output == "json":
        report = {"diagnostics": [locate(d, sources).to_dict() for d in diagnostics]}
        click.echo(json.dumps(report, indent=2, ensure_ascii=False), err=not to_stdout)
        return
    click.echo(diagnostics_text(diagnostics, sources, sys.stderr.isatty()), err=True)


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`1 object`, `2 objects`; `plural` for a noun that does not just take an s."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def use_color() -> bool:
    return sys.stdout.isatty()
