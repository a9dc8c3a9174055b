"""The Scoot language: `architecture.sct` text to runtime objects and back.

    from scoot_lang import compile_path
    result = compile_path("examples/shop")
    if result.ok:
        print(result.architecture.to_json())

The compiler (with the parser and Lark) is imported on first use of these names, not
with the package: a command that reads a compilation kept from before imports only
`scoot_lang.compilation`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scoot_lang.compiler import Compilation, compile_path, compile_source, compile_sources

__all__ = ["Compilation", "compile_path", "compile_source", "compile_sources"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("scoot_lang.compiler"), name)
    raise AttributeError(f"module 'scoot_lang' has no attribute {name!r}")
