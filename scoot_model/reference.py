"""The models' reference, in words: each key of a block (its type, default and description)
and each output of a kind, read from the pydantic models and nothing else.

One home for what the models say to people: the compiler's messages (`describe_schema`),
the language server's hover and completion, and the key and output tables of
docs/language.md (`scoot_lang.language_doc`) all read it, so a description is written
once, on the model's field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from scoot_model.objects import (
    OBJECT_REF_PATTERN,
    REF_PATTERN,
    Application,
    Component,
    Output,
    kinds,
)


@cache
def schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema, by alias (`from`, not `from_`)."""
    return model.model_json_schema(by_alias=True)


# --- types in words ------------------------------------------------------------

_PLURAL = {
    "a string": "strings",
    "a whole number": "whole numbers",
    "a number": "numbers",
    "`true` or `false`": "booleans",
    "`true`/`false`": "booleans",
    "a reference": "references",
}


def describe_schema(schema: dict[str, Any]) -> str:
    """A short English description of what a JSON Schema accepts."""
    if "anyOf" in schema:
        options = _options(schema)
        options = [o.replace("`true` or `false`", "`true`/`false`") if len(options) > 1 else o for o in options]
        return _join(options)
    kind = schema.get("type")
    pattern = schema.get("pattern")
    if kind == "string":
        if pattern == OBJECT_REF_PATTERN:
            return "a reference to an object (such as `web` or `api.web`)"
        if pattern == REF_PATTERN:
            return "a reference"
        return "a string"
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        return f"a whole number from {low} to {high}" if low is not None and high is not None else "a whole number"
    if kind == "number":
        return "a number"
    if kind == "boolean":
        return "`true` or `false`"
    if kind == "array":
        return f"a list of {_plural(schema.get('items', {}))}"
    if kind == "object":
        return f"a map of {_plural(schema.get('additionalProperties', {}) or {})}"
    return "a value"


def _options(schema: dict[str, Any]) -> list[str]:
    """The options of an `anyOf`, in words, the narrower left out when a wider is there."""
    options = list(dict.fromkeys(describe_schema(o) for o in schema["anyOf"] if o.get("type") != "null"))
    # A reference is a string, and a whole number a number: name only the wider.
    if "a string" in options and "a reference" in options:
        options.remove("a reference")
    if "a number" in options:
        options = [o for o in options if not o.startswith("a whole number")]
    return options


def _plural(schema: dict[str, Any]) -> str:
    """What a list or map of values of `schema` holds: `strings`, `strings or numbers`."""
    options = _options(schema) if "anyOf" in schema else [describe_schema(schema)]
    plurals = [_PLURAL.get(o) for o in options]
    return _join([p for p in plurals if p is not None]) if all(plurals) else "values"


def _join(options: list[str]) -> str:
    return ", ".join(options[:-1]) + " or " + options[-1] if len(options) > 1 else "".join(options)


# --- keys and outputs ----------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A key of a block, as its model says it."""

    name: str
    type: str  # in words: "a whole number from 1 to 65535"
    description: str
    required: bool
    default: Any = None  # None: no default (or a default of null)
    examples: tuple[str, ...] = ()


# Keys a block's header already says, or its body holds as blocks: not configuration the
# user writes as `key = value`.
_HIDDEN: dict[type[BaseModel], frozenset[str]] = {Application: frozenset({"name"}), Component: frozenset({"objects"})}


@cache
def keys(model: type[BaseModel]) -> tuple[Key, ...]:
    """The keys a block of `model` takes, in the model's order."""
    found = schema(model)
    required = set(found.get("required", []))
    hidden = _HIDDEN.get(model, frozenset()) | {"kind"}
    defaults = {field.alias or name: field.get_default(call_default_factory=True) for name, field in model.model_fields.items()}
    return tuple(
        Key(
            name,
            describe_schema(prop),
            prop.get("description", ""),
            name in required,
            None if name in required else defaults.get(name),
            tuple(str(e) for e in prop.get("examples", ())),
        )
        for name, prop in found.get("properties", {}).items()
        if name not in hidden
    )


def key(model: type[BaseModel], name: str) -> Key | None:
    return next((k for k in keys(model) if k.name == name), None)


def outputs(kind_name: str | None) -> dict[str, Output]:
    """The outputs of a kind (none for a kind no model describes)."""
    model = kinds.get(kind_name) if kind_name else None
    return dict(model.outputs) if model else {}


def show(value: Any) -> str:
    """A value as `.sct` writes it: `true`, `"text"`, `1`, `{}`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict) and not value:
        return "{}"
    return str(value)
