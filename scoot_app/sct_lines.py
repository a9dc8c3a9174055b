"""The `.sct` line behind an object or one of its keys, from the compiler's source map:
what the plan prints in its right-hand column and tools open in an editor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from scoot_runtime.plan import Change


@dataclass(frozen=True)
class Location:
    """A place in a source file, 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}


class _Span(Protocol):
    @property
    def file(self) -> str: ...
    @property
    def start(self) -> int: ...


class _SourceMap(Protocol):
    def find(self, path: tuple[str, ...]) -> Any: ...  # the path's span, or its nearest ancestor's

    def get(self, path: tuple[str, ...]) -> Any: ...  # the path's span only


class _Source(Protocol):
    def position(self, offset: int) -> Any: ...


class Locator:
    """The `.sct` line behind an object or one of its keys, from the compiler's source map."""

    def __init__(self, source_map: _SourceMap | None, sources: Mapping[str, _Source]) -> None:
        self.source_map = source_map
        self.sources = sources

    def _at(self, path: tuple[str, ...], exact: bool = False) -> Location | None:
        if self.source_map is None:
            return None
        span = self.source_map.get(path) if exact else self.source_map.find(path)
        if span is None or span.file not in self.sources:
            return None
        position = self.sources[span.file].position(span.start)
        return Location(span.file, position.line, position.column)

    def object(self, address: str) -> Location | None:
        component, _, name = address.partition(".")
        return self._at(("components", component, "objects", name))

    def key(self, address: str, key: str, *entry: str) -> Location | None:
        """The key's attribute (or its map entry), else the object's block.

        A new source revision, or a source that cannot be fetched, points at the
        component's `source` (or `repository`) attribute.
        """
        component, _, name = address.partition(".")
        if key in ("revision", "source"):
            return (
                self._at(("components", component, "source"), exact=True)
                or self._at(("components", component, "repository"), exact=True)
                or self.object(address)
            )
        if key == "injected":
            return self.object(address)
        return self._at(("components", component, "objects", name, key, *entry))

    def change(self, change: Change) -> Location | None:
        """Where a change comes from: its first changed key's line, else the object's block."""
        for key in (*change.replace, *change.keys):
            found = self.key(change.address, key)
            if found is not None and found != self.object(change.address):
                return found
        return self.object(change.address)
