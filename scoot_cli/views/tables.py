"""Plain-text tables, coloured on a terminal."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], color: bool, marked: int, colour: Callable[[str], str]
) -> str:
    """A plain-text table: columns as wide as their widest cell (but the last, which may be
    long), the header bold and column `marked` in the colour `colour` gives each cell."""
    lines = []
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for number, row in enumerate([header, *rows]):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)] + [row[-1]]
        if color and number == 0:
            cells = [click.style(cell, bold=True) for cell in cells]
        elif color:
            cells[marked] = click.style(cells[marked], fg=colour(row[marked]))
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
