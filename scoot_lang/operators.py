"""What the operators compute, on values known when compiling (docs/language.md, "Expressions").

Each takes folded values (strings, numbers, booleans, null, lists, maps) and returns
the result, or raises `OperationError` with the code and message the evaluator
reports on the expression. Values known only at apply time never reach here: the
evaluator refuses them first (SCT803).
"""

from __future__ import annotations

import math
from typing import Any

from scoot_lang.values import Value, describe_value
from scoot_model.wording import closest, did_you_mean

# The largest whole number an operator may make: a few lets multiplying each other
# would otherwise build numbers of millions of digits.
MAX_INTEGER = 2**63 - 1


class OperationError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: int | float, op: str) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise OperationError("SCT010", f"`{op}` makes a number too large to write")
    if isinstance(value, int) and abs(value) > MAX_INTEGER:
        raise OperationError("SCT010", f"`{op}` makes a number larger than {MAX_INTEGER}")
    return value


def _wrong(op: str, left: Value, right: Value, wants: str) -> OperationError:
    message = f"`{op}` needs {wants}, not {describe_value(left)} and {describe_value(right)}"
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        message += '; join strings by interpolation: "${a}${b}"'
    return OperationError("SCT801", message)


def equal(left: Value, right: Value) -> bool:
    """`==`: the same value and of the same type (`1 == 1.0`, but `1 != "1"` and `1 != true`)."""
    if is_number(left) and is_number(right):
        return left == right
    if type(left) is not type(right):
        return False
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(equal(v, right[k]) for k, v in left.items())
    return left == right


def binary(op: str, left: Value, right: Value) -> Value:
    if op == "==":
        return equal(left, right)
    if op == "!=":
        return not equal(left, right)
    if op in ("&&", "||"):
        if not isinstance(left, bool) or not isinstance(right, bool):
            raise _wrong(op, left, right, "two booleans")
        return (left and right) if op == "&&" else (left or right)
    if op in ("<", "<=", ">", ">="):
        both_numbers = is_number(left) and is_number(right)
        if not both_numbers and not (isinstance(left, str) and isinstance(right, str)):
            raise _wrong(op, left, right, "two numbers or two strings")
        a: Any = left
        result: bool = {"<": a < right, "<=": a <= right, ">": a > right, ">=": a >= right}[op]
        return result
    if not is_number(left) or not is_number(right):
        raise _wrong(op, left, right, "two numbers")
    x: Any = left
    y: Any = right
    if op == "+":
        return _number(x + y, op)
    if op == "-":
        return _number(x - y, op)
    if op == "*":
        return _number(x * y, op)
    if y == 0:
        raise OperationError("SCT802", f"`{op}` by zero")
    if op == "/":
        # Whole numbers that divide exactly stay whole (`8080 / 2` is a port).
        if isinstance(x, int) and isinstance(y, int) and x % y == 0:
            return x // y
        return _number(x / y, op)
    return _number(x % y, op)  # `%`: the sign of the divisor, as Python's


def unary(op: str, operand: Value) -> Value:
    if op == "!":
        if not isinstance(operand, bool):
            raise OperationError("SCT801", f"`!` needs a boolean, not {describe_value(operand)}")
        return not operand
    if not is_number(operand):
        raise OperationError("SCT801", f"`-` needs a number, not {describe_value(operand)}")
    x: Any = operand
    return _number(-x, op)


def index(target: Value, key: Value) -> Value:
    """`target[key]`: a list's item (from 0) or a map's key."""
    if isinstance(target, list):
        if not isinstance(key, int) or isinstance(key, bool):
            raise OperationError(
                "SCT804", f"a list's index is a whole number, not {describe_value(key)}"
            )
        if not 0 <= key < len(target):
            raise OperationError(
                "SCT804", f"index {key} is out of range: the list has {len(target)} items"
            )
        return target[key]
    if isinstance(target, dict):
        if not isinstance(key, str):
            raise OperationError("SCT804", f"a map's key is a string, not {describe_value(key)}")
        if key not in target:
            raise OperationError(
                "SCT804", f"the map has no key `{key}`{did_you_mean(closest(key, list(target)))}"
            )
        return target[key]
    raise OperationError(
        "SCT804", f"only a list or a map can be indexed, not {describe_value(target)}"
    )


def truth(value: Value, what: str) -> bool:
    """A condition's value, which must be a boolean (no truthy strings or numbers)."""
    if not isinstance(value, bool):
        raise OperationError("SCT801", f"{what} must be a boolean, not {describe_value(value)}")
    return value
