"""The packages' bytecode, written as an installed scoot has it.

pip compiles a package's modules at install, and Python writes the bytecode at a first
import; with PYTHONDONTWRITEBYTECODE set (as in some sandboxes and CI images) and none
written, every command of a benchmark would compile its modules from source again
(0.1-0.2 s), which no user's command does.
"""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGES = ("scoot_model", "scoot_lang", "scoot_runtime", "scoot_app", "scoot_cli")


def cache_bytecode(root: Path) -> None:
    """Compile the packages under `root` into their `__pycache__`."""
    for package in PACKAGES:
        compileall.compile_dir(root / package, quiet=1)
