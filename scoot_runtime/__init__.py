"""Scoot's runtime: the architecture objects, their state, the plan, the reconciler and the drivers.

The objects live in `scoot_model.objects` and are importable from here too (`from
scoot_runtime import Architecture`); they load on first use, so that `scoot --help`
does not pay for pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scoot_model.objects import (
        Application,
        Architecture,
        Component,
        Compute,
        Connection,
        SctObject,
        Storage,
        kinds,
    )

__all__ = [
    "Application",
    "Architecture",
    "Component",
    "Compute",
    "Connection",
    "SctObject",
    "Storage",
    "kinds",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from scoot_model import objects

        return getattr(objects, name)
    raise AttributeError(f"module 'scoot_runtime' has no attribute {name!r}")
