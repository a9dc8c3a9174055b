"""The models' reference (`scoot_model.reference`) as the editor shows it: which model a
block's keys belong to, and the markdown of a key, a kind and a built-in function for hover
and completion. What a key or kind says is read from the models, what a function says from
`scoot_lang.functions`; nothing is written twice.
"""

from __future__ import annotations

from pydantic import BaseModel

from scoot_lang import syntax as s
from scoot_lang.functions import Function
from scoot_model import reference
from scoot_model.objects import Application, Component, Moved, kinds


def model_of(block: s.Block | None) -> type[BaseModel] | None:
    """The model that validates a block's attributes."""
    if isinstance(block, s.ApplicationBlock):
        return Application
    if isinstance(block, s.ComponentBlock):
        return Component
    if isinstance(block, s.ObjectBlock):
        return kinds.get(block.kind.text)
    if isinstance(block, s.MovedBlock):
        return Moved
    return None


def key_markdown(k: reference.Key, owner: str) -> str:
    lines = [f"**{k.name}** — {owner} key: {k.type}" + (" (required)" if k.required else "")]
    if k.description:
        lines += ["", k.description]
    if k.default not in (None, {}, []):
        lines += ["", f"Default: `{reference.show(k.default)}`"]
    if k.examples:
        lines += ["", "Values: " + ", ".join(f"`{e}`" for e in k.examples)]
    return "\n".join(lines)


def kind_markdown(name: str) -> str | None:
    model = kinds.get(name)
    if model is None:
        return None
    lines = [f"**{name}** — object kind", "", model.kind_description or (model.__doc__ or "").strip()]
    package = kinds.origin(name)
    if package:
        lines += ["", f"Added by the package `{package}`: a target's driver must serve it."]
    required = [k.name for k in reference.keys(model) if k.required]
    if required:
        lines += ["", "Required: " + ", ".join(f"`{k}`" for k in required)]
    if model.outputs:
        lines += ["", "Outputs:"] + [f"- `{n}` ({o.type}): {o.description}" for n, o in model.outputs.items()]
    return "\n".join(lines)


def function_markdown(function: Function) -> str:
    return f"**{function.signature}** — built-in function\n\n{function.doc}"
