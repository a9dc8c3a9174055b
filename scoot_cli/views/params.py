"""The values a command used for the architecture's params, and where each was given.

All from scoot.toml: one compact line. A value from the command line (`--param`,
`--param-file`) gets a line of its own saying that it is not in scoot.toml, so
that a one-off value is not applied, or planned back, by surprise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import click

from scoot_runtime.workspace import SETTINGS_FILE, ParamValue

_PLAIN = re.compile(r"[A-Za-z0-9_.:/@+-]+")


def shown_value(value: str) -> str:
    """A value as text: as it is when plain, quoted (JSON) when it has spaces or quotes."""
    return value if _PLAIN.fullmatch(value) else json.dumps(value, ensure_ascii=False)


def one_off_note(given: ParamValue) -> str:
    """What a value from the command line is, in words."""
    return f"from {given.source}, not {SETTINGS_FILE}: a plain `scoot plan` will plan it back"


def params_lines(values: Mapping[str, ParamValue], color: bool) -> list[str]:
    """`Params: …` (nothing when no value is given)."""
    if not values:
        return []
    names = sorted(values)
    if all(values[name].from_settings for name in names):
        groups: dict[str, list[str]] = {}
        for name in names:
            groups.setdefault(values[name].source, []).append(f"{name} = {shown_value(values[name].value)}")
        return ["Params: " + "; ".join(f"{', '.join(items)} ({source})" for source, items in groups.items())]
    assignments = {name: f"{name} = {shown_value(values[name].value)}" for name in names}
    width = max(len(text) for text in assignments.values())
    lines = ["Params:"]
    for name in names:
        given = values[name]
        if given.from_settings:
            note = f"({given.source})"
        else:
            note = f"({one_off_note(given)})"
            note = click.style(note, fg="yellow", bold=True) if color else note
        lines.append(f"  {assignments[name]:<{width}}  {note}")
    return lines


def params_json(values: Mapping[str, ParamValue]) -> dict[str, Any]:
    """name → its value (as text, as the compiler takes it), its source, and whether
    scoot.toml holds it (`false`: a plain plan does not use it)."""
    return {
        name: {"value": given.value, "source": given.source, "in_settings": given.from_settings}
        for name, given in sorted(values.items())
    }
