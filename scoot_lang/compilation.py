"""What a compile takes and gives, without the compiler: the files of a unit, the
`Compilation`, where a param's value was given unless said.

Apart from `scoot_lang.compiler` (which imports the parser, Lark and the checker) so
that a caller holding a compilation made earlier (`scoot_app`'s compile cache) need
not import them; `scoot_lang.compiler` gives the same names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scoot_lang.diagnostics import Diagnostic, Located, Severity, locate
from scoot_lang.semantic import SemanticModel, SourceMap
from scoot_lang.source import SourceFile
from scoot_model.reading import MIB

if TYPE_CHECKING:
    from scoot_lang import syntax as s
    from scoot_model.objects import Architecture

SCT_SUFFIX = ".sct"
JSON_NAME = "architecture.json"
# The most bytes of source a unit may hold, all its files together (docs/language.md,
# "Limits"): over twice the 5,000 components `bench/compile.py` compiles (1.7 MB), and a
# bound on what compiling costs. Compiling takes about 5 bytes of memory a byte of a
# string, but a few hundred a byte of text made only of names (`[a, a, a, ...]`: a
# reference a name, each with its node and its record for the editor tools).
MAX_SOURCE_BYTES = 4 * MIB


@dataclass
class Compilation:
    """Everything the compiler knows about one unit."""

    architecture: Architecture | None
    diagnostics: list[Diagnostic]
    sources: dict[str, SourceFile] = field(default_factory=dict)
    files: list[s.File] = field(default_factory=list)
    semantic: SemanticModel = field(default_factory=SemanticModel)
    source_map: SourceMap = field(default_factory=SourceMap)

    @property
    def ok(self) -> bool:
        return self.architecture is not None and not self.errors

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    def located(self) -> list[Located]:
        return [locate(d, self.sources) for d in self.diagnostics]


def unit_files(path: Path) -> list[Path]:
    """The files of the unit at `path`: a file, or a folder's `.sct` files (else its JSON)."""
    if path.is_dir():
        # Anything named `.sct` but a folder is part of the unit: a FIFO or a device so
        # named is reported by `read_source`, not silently left out.
        files = sorted(p for p in path.iterdir() if p.suffix == SCT_SUFFIX and not p.is_dir())
        json_file = path / JSON_NAME
        if not files and json_file.exists() and not json_file.is_dir():
            files = [json_file]
        return files
    return [path]

# Where a param's value was given, unless the caller says otherwise (scoot.toml, a file).
PARAM_OPTION = "--param"
