"""How messages name things: the closest of a set of names, and lists of names.

Every message that suggests a name (`did you mean ...?`) or lists the choices uses
these, so that the compiler's and the runtime's messages read alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate `name` was most likely meant to be, if one is close enough."""
    matches = get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(match: str | None) -> str:
    """` (did you mean `x`?)`, or nothing without a match."""
    return f" (did you mean `{match}`?)" if match else ""


def join_names(names: Iterable[str]) -> str:
    """Names in backticks, as a sentence lists them: `a`, `b` and `c` (or `none`)."""
    shown = [f"`{n}`" for n in names]
    if len(shown) <= 1:
        return "".join(shown) or "none"
    return ", ".join(shown[:-1]) + " and " + shown[-1]
