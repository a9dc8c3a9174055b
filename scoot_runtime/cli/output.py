"""What the commands print alike: diagnostics, counts, colour, and paths as typed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from scoot_lang.diagnostics import Diagnostic


def _show_diagnostics(
    diagnostics: list[Diagnostic], sources: dict[str, Any], output: str, to_stdout: bool = False
) -> None:
    """Print diagnostics on stderr (JSON on stdout where it is the command's whole output)."""
    from scoot_lang.diagnostics import locate, render

    located = [locate(d, sources) for d in diagnostics]
    if output == "json":
        report = {"diagnostics": [item.to_dict() for item in located]}
        click.echo(json.dumps(report, indent=2, ensure_ascii=False), err=not to_stdout)
        return
    color = sys.stderr.isatty()
    for item in located:
        click.echo(render(item, sources, color), err=True)
    errors = sum(1 for d in diagnostics if d.severity.value == "error")
    if errors:
        click.echo(f"{errors} error{'s' if errors != 1 else ''}", err=True)


def _count(number: int, noun: str, plural: str | None = None) -> str:
    """`1 object`, `2 objects`; `plural` for a noun that does not just take an s."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def _shown_path(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path)
    return str(relative) if str(relative) != "." else "."


def _color() -> bool:
    return sys.stdout.isatty()
