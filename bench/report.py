"""What the benchmarks share: their figures as a plain-text table."""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columns aligned: the first to the left, the figures to the right."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*header), "  ".join("-" * w for w in widths)]
    out.extend(fmt.format(*r) for r in rows)
    return "\n".join(out)
