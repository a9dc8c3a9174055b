"""Configuration values as `.sct` writes them (references bare, secrets by name only),
and how one key differs between the recorded configuration and the wanted one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scoot_model import template

MAX_VALUE = 60


def show_value(value: Any, limit: int = MAX_VALUE) -> str:
    """A configuration value as `.sct` would write it: references bare, secrets by name only."""
    text = _value(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_value(item)}" for key, item in value.items()) + " }" if value else "{}"
    return json.dumps(value)


def _string(text: str) -> str:
    try:
        parts = template.split(text)
    except ValueError:
        return json.dumps(text, ensure_ascii=False)
    if len(parts) == 1 and parts[0].interpolation:
        return _interpolation(parts[0].text)
    out: list[str] = []
    for part in parts:
        if part.interpolation:
            out.append("${" + _interpolation(part.text) + "}")
        else:
            out.append(json.dumps(part.text, ensure_ascii=False)[1:-1])
    return '"' + "".join(out) + '"'


def _interpolation(source: str) -> str:
    name = template.secret_name(source)
    return f'secret("{name}")' if name is not None else source.strip()


def holds_secret(value: Any) -> bool:
    return next(template.secrets_in(value), None) is not None


def short_revision(revision: str | None) -> str:
    """`sha256:0123abcd…` → `0123abcd0123`; a git commit → its first 12 characters."""
    if not revision:
        return "-"
    return revision.rpartition(":")[2][:12]


_MISSING: Any = object()


@dataclass(frozen=True)
class KeyChange:
    """One difference inside a key: `symbol` +, - or ~; `path` the key, then a map entry if one."""

    symbol: str
    path: tuple[str, ...]
    text: str


def key_changes(key: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[KeyChange]:
    """How one key differs between the recorded configuration and the wanted one, as written.

    A map (such as `env`) is compared entry by entry. A key written the same way both
    times changed through what it refers to (another object's output, or a secret).
    """
    before = old.get(key, _MISSING) if old is not None else _MISSING
    after = new.get(key, _MISSING) if new is not None else _MISSING
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for name in sorted(set(before) | set(after)):
            a, b = before.get(name, _MISSING), after.get(name, _MISSING)
            if a != b:
                changes.append(_arrow((key, name), a, b))
        if changes:
            return changes
    if before is not _MISSING and after is not _MISSING and before == after:
        # Written the same: what it resolves to changed. Name the entries that could have.
        if isinstance(after, dict):
            entries = [(name, value) for name, value in after.items() if _symbolic(value)]
            if entries:
                certain = len(entries) == 1
                return [
                    KeyChange("~", (key, name), f"{key}.{name} = {show_value(value)} ({_why(value, certain)})")
                    for name, value in entries
                ]
        return [KeyChange("~", (key,), f"{key} = {show_value(after)} ({_why(after)})")]
    return [_arrow((key,), before, after)]


def _symbolic(value: Any) -> bool:
    """Whether a value as written holds a reference or a secret (`${...}`)."""
    return next(template.interpolations(value), None) is not None


def _why(value: Any, certain: bool = True) -> str:
    shown = show_value(value)
    if shown.startswith('secret("') and shown.endswith('")'):
        what = "the secret's value"
    elif holds_secret(value):
        what = "the value of a secret or reference it holds"
    else:
        what = "the value it refers to"
    return f"{what} {'changed' if certain else 'may have changed'}"


def _arrow(path: tuple[str, ...], before: Any, after: Any) -> KeyChange:
    name = ".".join(path)
    if before is _MISSING and after is _MISSING:
        return KeyChange("~", path, f"{name} changed")
    if before is _MISSING:
        return KeyChange("+", path, f"{name} = {show_value(after)}")
    if after is _MISSING:
        return KeyChange("-", path, f"{name} = {show_value(before)}")
    return KeyChange("~", path, f"{name}: {show_value(before)} → {show_value(after)}")
