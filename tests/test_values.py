"""`flat_size`, the budget's shortcut for a value one level deep, measures what `summarize` does."""

from __future__ import annotations

import pytest

from scoot_lang.values import ComponentRef, ObjectRef, Secret, Template, Value, flat_size, summarize

FLAT: list[Value] = [
    "text",
    3,
    2.5,
    False,
    None,
    ObjectRef("a", "b"),
    Template(("a", ObjectRef("a", "b", "url"))),
    [],
    {},
    ["python", "-m", "svc", "--port", "8080"],
    [1, 2.5, True, None, "x"],
    {"DATABASE": ObjectRef("svc", "db", "path"), "GREETING": Template(("hello from ", ObjectRef("a", "b", "url"))), "N": 3},
    {"LONG_KEY_" * 20: "é" * 100},
    [Template(("a", Secret("token"), "b"))],
]


@pytest.mark.parametrize("value", FLAT)
def test_flat_size_is_summarize_size(value: Value) -> None:
    assert flat_size(value) == summarize(value, {}).size


@pytest.mark.parametrize(
    "value", [[["nested"]], {"a": {"b": 1}}, [Secret("s")], [ComponentRef("c")], Secret("s"), ComponentRef("c")]
)
def test_flat_size_leaves_the_rest_to_summarize(value: Value) -> None:
    assert flat_size(value) is None
