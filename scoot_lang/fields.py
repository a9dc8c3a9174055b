"""The models' fields as the checker reads them: each key's JSON Schema, what it
accepts, and that in words for messages (`a whole number from 1 to 65535`)."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from scoot_model.objects import OBJECT_REF_PATTERN, REF_PATTERN


@cache
def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True)


def field_schema(model: type[BaseModel], key: str) -> dict[str, Any]:
    """The schema of one key of a model (empty: the model has no such key)."""
    prop: dict[str, Any] = model_schema(model).get("properties", {}).get(key, {})
    return prop


_PLURAL = {"a string": "strings", "a whole number": "whole numbers", "a number": "numbers", "`true` or `false`": "booleans"}


def describe_schema(schema: dict[str, Any]) -> str:
    """A short English description of what a JSON Schema accepts."""
    if "anyOf" in schema:
        options = list(dict.fromkeys(describe_schema(o) for o in schema["anyOf"] if o.get("type") != "null"))
        # A reference is a string, and a whole number a number: name only the wider.
        if "a string" in options and "a reference" in options:
            options.remove("a reference")
        if "a number" in options:
            options = [o for o in options if not o.startswith("a whole number")]
        options = [o.replace("`true` or `false`", "`true`/`false`") if len(options) > 1 else o for o in options]
        return ", ".join(options[:-1]) + " or " + options[-1] if len(options) > 1 else "".join(options)
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
        item = describe_schema(schema.get("items", {}))
        return f"a list of {_PLURAL.get(item, 'values')}"
    if kind == "object":
        item = describe_schema(schema.get("additionalProperties", {}) or {})
        return f"a map of {_PLURAL.get(item, item if ' or ' in item else 'values')}"
    return "a value"


def sub_schema(schema: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """The schema of a value inside a field: `keys` are map keys or list indices."""
    for key in keys:
        options = schema.get("anyOf", [schema])
        container = next((o for o in options if o.get("type") in ("object", "array")), None)
        if container is None:
            return {}
        if container["type"] == "array":
            schema = container.get("items", {})
        else:
            schema = container.get("properties", {}).get(key) or container.get("additionalProperties") or {}
    return schema


def own_pattern(schema: dict[str, Any]) -> bool:
    """Whether a field's strings must match a pattern of its own (not a reference's)."""
    options = schema.get("anyOf", [schema])
    return any(o.get("pattern") not in (None, REF_PATTERN, OBJECT_REF_PATTERN) for o in options)


def accepts_output(schema: dict[str, Any], output_type: str) -> bool:
    """Whether a field takes a reference to an output of this type (besides a bare reference)."""
    if "anyOf" in schema:
        return any(accepts_output(option, output_type) for option in schema["anyOf"])
    kind = schema.get("type")
    if output_type == "string":
        return kind == "string" and schema.get("pattern") not in (REF_PATTERN, OBJECT_REF_PATTERN)
    return kind in ("integer", "number") or "type" not in schema
