"""What the runtime's pydantic models say about keys and kinds: the one source of docs.

Hover text and completion items are read from the models' fields (description,
type, default, examples); nothing is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from scoot_lang import syntax as s
from scoot_lang.fields import describe_schema
from scoot_model.objects import Application, Component, Output, SctObject, kinds


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # in words: "a whole number from 1 to 65535"
    description: str
    required: bool
    default: Any = None
    examples: tuple[str, ...] = ()


@cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True)


# Keys a block's header already says: not configuration the user writes.
_HIDDEN: dict[type[BaseModel], frozenset[str]] = {Application: frozenset({"name"}), Component: frozenset({"objects"})}


def keys(model: type[BaseModel]) -> list[Key]:
    schema = _json_schema(model)
    required = set(schema.get("required", []))
    hidden = _HIDDEN.get(model, frozenset()) | {"kind"}
    result = []
    for name, prop in schema.get("properties", {}).items():
        if name in hidden:
            continue
        result.append(
            Key(
                name,
                describe_schema(prop),
                prop.get("description", ""),
                name in required,
                prop.get("default"),
                tuple(str(e) for e in prop.get("examples", ())),
            )
        )
    return result


def key(model: type[BaseModel], name: str) -> Key | None:
    return next((k for k in keys(model) if k.name == name), None)


def kind(name: str) -> type[SctObject] | None:
    return kinds.get(name)


def kind_names() -> list[str]:
    return kinds.names()


def model_of(block: s.Block | None) -> type[BaseModel] | None:
    """The model that validates a block's attributes."""
    if isinstance(block, s.ApplicationBlock):
        return Application
    if isinstance(block, s.ComponentBlock):
        return Component
    if isinstance(block, s.ObjectBlock):
        return kinds.get(block.kind.text)
    return None


def outputs(kind_name: str | None) -> dict[str, Output]:
    model = kinds.get(kind_name) if kind_name else None
    return dict(model.outputs) if model else {}


def key_markdown(k: Key, owner: str) -> str:
    lines = [f"**{k.name}** — {owner} key: {k.type}" + (" (required)" if k.required else "")]
    if k.description:
        lines += ["", k.description]
    if k.default not in (None, {}, []):
        lines += ["", f"Default: `{_show(k.default)}`"]
    if k.examples:
        lines += ["", "Values: " + ", ".join(f"`{e}`" for e in k.examples)]
    return "\n".join(lines)


def kind_markdown(name: str) -> str | None:
    model = kinds.get(name)
    if model is None:
        return None
    lines = [f"**{name}** — object kind", "", model.kind_description or (model.__doc__ or "").strip()]
    required = [k.name for k in keys(model) if k.required]
    if required:
        lines += ["", "Required: " + ", ".join(f"`{k}`" for k in required)]
    if model.outputs:
        lines += ["", "Outputs:"] + [f"- `{n}` ({o.type}): {o.description}" for n, o in model.outputs.items()]
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
