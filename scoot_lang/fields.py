"""The models' fields as the checker reads them: each key's JSON Schema, the schema of a
value inside one, and what it accepts (their words are `scoot_model.reference`'s)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from scoot_model import reference
from scoot_model.objects import OBJECT_REF_PATTERN, REF_PATTERN


def field_schema(model: type[BaseModel], key: str) -> dict[str, Any]:
    """The schema of one key of a model (empty: the model has no such key)."""
    prop: dict[str, Any] = reference.schema(model).get("properties", {}).get(key, {})
    return prop


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
