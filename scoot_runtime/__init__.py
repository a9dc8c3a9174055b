"""Scoot's runtime: the architecture objects, and (later) state, plan and drivers."""

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
