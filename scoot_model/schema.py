"""The JSON Schema of the JSON form, generated from the runtime objects."""

from __future__ import annotations

from typing import Any

from scoot_model.objects import SCHEMA_URI, Architecture, kinds


def architecture_schema() -> dict[str, Any]:
    """The schema `scoot schema` prints: each object is one of the registered kinds."""
    schema = Architecture.model_json_schema(by_alias=True)
    definitions: dict[str, Any] = schema.setdefault("$defs", {})
    definitions.pop("SctObject", None)
    options: list[dict[str, Any]] = []
    mapping: dict[str, str] = {}
    for kind in kinds:
        kind_schema = kind.model_json_schema(by_alias=True)
        definitions.update(kind_schema.pop("$defs", {}))
        kind_schema["required"] = sorted({"kind", *kind_schema.get("required", [])})
        definitions[kind.__name__] = kind_schema
        reference = f"#/$defs/{kind.__name__}"
        options.append({"$ref": reference})
        mapping[kind.kind_name] = reference
    _names_as_keys(definitions["Component"]["properties"]["objects"])["additionalProperties"] = {
        "oneOf": options,
        "discriminator": {"propertyName": "kind", "mapping": mapping},
    }
    _names_as_keys(schema["properties"]["components"])
    schema["required"] = sorted({"version", *schema.get("required", [])})
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_URI, **schema}


def _names_as_keys(map_schema: dict[str, Any]) -> dict[str, Any]:
    """A map keyed by names: every key must be a name, every value fits the one schema.

    Pydantic writes `patternProperties`, which lets keys that are not names through.
    """
    ((pattern, value),) = map_schema.pop("patternProperties").items()
    map_schema["propertyNames"] = {"pattern": pattern}
    map_schema["additionalProperties"] = value
    return map_schema
