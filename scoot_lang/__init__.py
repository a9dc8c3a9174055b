"""The Scoot language: `architecture.sct` text to runtime objects and back.

    from scoot_lang import compile_path
    result = compile_path("examples/shop")
    if result.ok:
        print(result.architecture.to_json())
"""

from scoot_lang.compiler import Compilation, compile_path, compile_source, compile_sources

__all__ = ["Compilation", "compile_path", "compile_source", "compile_sources"]
