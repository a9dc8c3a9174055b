"""Scoot's runtime: the architecture objects, their state, the plan, the reconciler and the drivers."""

from scoot_runtime.objects import (
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
