"""The compiler's front door: a file, a folder or text in, a `Compilation` out.

One way through: read → parse (`.sct`) or read (JSON) → check. Everything a
later tool needs comes back together, so that nothing parses twice.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scoot_lang import syntax as s
from scoot_lang.checker import check
from scoot_lang.diagnostics import Diagnostic, Located, Severity, diagnostic, locate, sort_key
from scoot_lang.json_reader import read_json
from scoot_lang.parser import parse
from scoot_lang.semantic import SemanticModel, SourceMap
from scoot_lang.source import SourceFile, Span
from scoot_model.objects import Architecture

SCT_SUFFIX = ".sct"
JSON_NAME = "architecture.json"


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
        files = sorted(p for p in path.iterdir() if p.suffix == SCT_SUFFIX and p.is_file())
        if not files and (path / JSON_NAME).is_file():
            files = [path / JSON_NAME]
        return files
    return [path]


def compile_sources(texts: Mapping[str, str], params: Mapping[str, str] | None = None) -> Compilation:
    """Compile a unit given as `{path: text}`; a path ending in `.json` is the JSON form."""
    # Compiling allocates many small objects and makes no reference cycles: the
    # cycle collector would only walk them again and again (a third of the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _compile(texts, params)
    finally:
        if collecting:
            gc.enable()


def _compile(texts: Mapping[str, str], params: Mapping[str, str] | None) -> Compilation:
    sources = {path: SourceFile(path, text) for path, text in texts.items()}
    files: list[s.File] = []
    diagnostics: list[Diagnostic] = []
    unreadable = False
    for path, text in texts.items():
        tree: s.File | None
        if path.endswith(".json"):
            tree, errors = read_json(text, path)
        else:
            tree, errors = parse(text, path)
        diagnostics.extend(errors)
        if tree is None:
            unreadable = True  # not JSON at all: checking nothing would only add noise
        else:
            files.append(tree)
    if len(texts) > 1 and any(path.endswith(".json") for path in texts):
        diagnostics.append(
            diagnostic("SCT006", "a JSON architecture is a whole unit: compile it alone, not with other files", None)
        )
    result = check([] if unreadable else files, dict(params or {}))
    if not unreadable:
        diagnostics.extend(result.diagnostics)
    diagnostics = _unique(diagnostics)
    has_errors = any(d.severity is Severity.ERROR for d in diagnostics)
    return Compilation(
        None if has_errors else result.architecture,
        sorted(diagnostics, key=sort_key),
        sources,
        files,
        result.semantic,
        result.source_map,
    )


def compile_source(
    text: str, path: str = "architecture.sct", params: Mapping[str, str] | None = None
) -> Compilation:
    """Compile one file's text."""
    return compile_sources({path: text}, params)


def compile_path(path: str | Path, params: Mapping[str, str] | None = None) -> Compilation:
    """Compile the unit at a path: an `.sct` file, a JSON file, or a folder."""
    root = Path(path)
    if not root.exists():
        return _failed("SCT006", f"`{root}` does not exist; give an .sct file, a JSON file or a folder")
    files = unit_files(root)
    if not files:
        return _failed(
            "SCT006",
            f"no .sct files in `{root}`; write an architecture.sct there (`scoot init`) or give its path",
        )
    texts: dict[str, str] = {}
    unreadable: list[Diagnostic] = []
    for file in files:
        try:
            texts[str(file)] = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            unreadable.append(diagnostic("SCT005", f"`{file}` is not UTF-8 text ({error.reason}); save it as UTF-8", Span(str(file), 0, 0)))
        except OSError as error:
            unreadable.append(diagnostic("SCT005", f"cannot read `{file}`: {error.strerror}", None))
    if unreadable:
        return Compilation(None, unreadable)
    return compile_sources(texts, params)


def _failed(code: str, message: str) -> Compilation:
    return Compilation(None, [diagnostic(code, message, None)])


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diagnostics))
