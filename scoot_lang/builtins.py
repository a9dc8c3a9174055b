"""What the built-in functions of `scoot_lang.functions.FUNCTIONS` compute, on values
known when compiling. The evaluator checks the number and the types of the
arguments against the table first; `secret` and `file` are the evaluator's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from scoot_lang.operators import OperationError, equal, is_number
from scoot_lang.values import Value, describe_value, scalar_text

MAX_RANGE = 10_000


def _join(separator: str, items: list[Value]) -> str:
    texts = []
    for item in items:
        if not isinstance(item, str | int | float | bool):
            raise OperationError(
                "SCT402", f"`join` joins strings, numbers and booleans, not {describe_value(item)}"
            )
        texts.append(scalar_text(item))
    return separator.join(texts)


def _split(separator: str, text: str) -> list[Value]:
    if not separator:
        raise OperationError("SCT402", "`split` needs a separator of at least one character")
    return list(text.split(separator))


def _range(*bounds: Any) -> list[Value]:
    for bound in bounds:
        if not isinstance(bound, int) or isinstance(bound, bool):
            raise OperationError("SCT402", f"`range` counts in whole numbers, not {bound!r}")
    start, end = (0, bounds[0]) if len(bounds) == 1 else bounds
    if end - start > MAX_RANGE:
        raise OperationError(
            "SCT402", f"`range` makes at most {MAX_RANGE:,} numbers; {end - start:,} asked"
        )
    return list(range(start, end))


def _merge(*maps: dict[str, Value]) -> dict[str, Value]:
    merged: dict[str, Value] = {}
    for m in maps:
        merged.update(m)
    return merged


_SPEC = re.compile(r"%(.)|%$", re.S)


def _format(spec: str, *values: Value) -> str:
    pending = list(values)

    def fill(match: re.Match[str]) -> str:
        verb = match.group(1)
        if verb == "%":
            return "%"
        if verb not in ("s", "d"):
            raise OperationError(
                "SCT402", f"`format` knows `%s`, `%d` and `%%`, not `{match.group()}`"
            )
        if not pending:
            raise OperationError("SCT402", f"`format`'s spec has more `%{verb}` than values")
        value = pending.pop(0)
        if verb == "d" and not (isinstance(value, int) and not isinstance(value, bool)):
            raise OperationError(
                "SCT402", f"`%d` writes a whole number, not {describe_value(value)}"
            )
        if not isinstance(value, str | int | float | bool):
            raise OperationError(
                "SCT402",
                f"`%s` writes a string, a number or a boolean, not {describe_value(value)}",
            )
        return scalar_text(value)

    text = _SPEC.sub(fill, spec)
    if pending:
        raise OperationError(
            "SCT402", f"`format` was given {len(pending)} more values than its spec uses"
        )
    return text


def _length(value: Any) -> int:
    return len(value)


IMPLEMENTATIONS: dict[str, Callable[..., Value]] = {
    "join": _join,
    "split": _split,
    "lower": lambda text: text.lower(),
    "upper": lambda text: text.upper(),
    "length": _length,
    "range": _range,
    "merge": _merge,
    "keys": lambda m: sorted(m),
    "values": lambda m: [m[k] for k in sorted(m)],
    "contains": lambda items, value: any(equal(item, value) for item in items),
    "format": _format,
}


def type_ok(wanted: str, value: Value) -> bool:
    """Whether a value is of a parameter's type (`functions.PARAMETER_TYPES`, `a|b`)."""
    for kind in wanted.split("|"):
        if (
            kind == "any"
            or (kind == "string" and isinstance(value, str))
            or (kind == "number" and is_number(value))
            or (kind == "bool" and isinstance(value, bool))
            or (kind == "list" and isinstance(value, list))
            or (kind == "map" and isinstance(value, dict))
            or (kind == "scalar" and isinstance(value, str | int | float | bool))
        ):
            return True
    return False
