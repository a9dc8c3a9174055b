"""The compiled architecture, kept under `.scoots/cache/` between commands.

A command at 10,000 objects spent half a second compiling an architecture that had not
changed since the last one. What a compile reads is all in the key: the bytes of the
unit's files and their paths, the params' values and where each was given, and the
compiler itself (the size and time of each file of `scoot_lang`, `scoot_model` and the
grammar, so that an upgrade or an edit of the compiler is a new key; Python's and
pydantic's versions too). Only a compile
that said nothing is kept (no warning to show again) and only one that read nothing
else: a unit that uses a module or calls `file()` is compiled every time, since what
those read is not in the key; so is one with an object of a plugin's kind (the
plugin's package is not in the key either). The entry is the architecture's JSON form, read back
into the models (their validation included); one that cannot be read is a miss.
Where the source map is needed (a plan with changes names each change's line), the
unit is compiled then, once: its text is the one the key was made of.
"""

from __future__ import annotations

import hashlib
import platform
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scoot_lang.semantic import JsonPath, SourceMap

if TYPE_CHECKING:
    from scoot_lang.compilation import Compilation
    from scoot_lang.source import Span

CACHE_FOLDER = "cache"
PREFIX = "architecture-"
# A call of file() may be anywhere (a comment naming one only costs the cache).
_FILE_CALL = re.compile(r"\bfile\s*\(")
# Bumped when what an entry holds changes.
_FORMAT = b"scoot compile cache 1\n"


@dataclass(frozen=True)
class Unit:
    """The files of a unit as read for its key: path (as the compiler names it) to bytes."""

    files: dict[str, bytes]
    key: str


def _compiler_stamp() -> bytes:
    """What identifies the compiler: its files' names, sizes and modification times."""
    import pydantic

    import scoot_lang
    import scoot_model

    stamp = [_FORMAT, f"{platform.python_implementation()} {platform.python_version()}\0{pydantic.VERSION}\n".encode()]
    language = Path(scoot_lang.__file__).parent
    # The grammar is packaged in scoot_lang, or in the source tree's grammar/ (as
    # `scoot_lang.parser.grammar_path` finds it, which would import the parser).
    globs = [(language, "*.py"), (Path(scoot_model.__file__).parent, "*.py"), (language, "*.lark")]
    globs.append((language.parent / "grammar", "*.lark"))
    files = [p for folder, pattern in globs for p in sorted(folder.glob(pattern))]
    for file in files:
        info = file.stat()
        stamp.append(f"{file}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return b"".join(stamp)


def read_unit(shown: str, params: Mapping[str, str], origins: Mapping[str, str]) -> Unit | None:
    """The unit at `shown` (a path as `compile_path` is given it) read for its key, or
    None when it cannot be cached (unreadable, too large, a JSON form, a call of file():
    compiling it says what there is to say)."""
    from scoot_lang.compilation import MAX_SOURCE_BYTES, SCT_SUFFIX, unit_files
    from scoot_model.reading import UnreadableFile, read_regular_file

    digest = hashlib.sha256(_compiler_stamp())
    digest.update(repr((shown, sorted(params.items()), sorted(origins.items()))).encode())
    files: dict[str, bytes] = {}
    left = MAX_SOURCE_BYTES
    try:
        for file in unit_files(Path(shown)):
            if file.suffix != SCT_SUFFIX:
                return None
            data = read_regular_file(file, max(left, 0))
            left -= len(data)
            if _FILE_CALL.search(data.decode("utf-8", errors="replace")):
                return None
            files[str(file)] = data
            digest.update(f"\0{file}\0{len(data)}\0".encode())
            digest.update(data)
    except (OSError, UnreadableFile, ValueError):
        return None
    if not files:
        return None
    return Unit(files, digest.hexdigest())


def _entry(state_dir: Path, unit: Unit) -> Path:
    return state_dir / CACHE_FOLDER / f"{PREFIX}{unit.key}.json"


def cached(state_dir: Path, unit: Unit, recompile: Callable[[], Compilation]) -> Compilation | None:
    """The unit's compilation from the cache, or None. `recompile` makes the source map
    when it is asked for."""
    from pydantic import ValidationError

    from scoot_lang.compilation import Compilation
    from scoot_lang.source import SourceFile, decode_text
    from scoot_model.objects import Architecture

    try:
        data = _entry(state_dir, unit).read_bytes()
    except OSError:
        return None
    try:
        architecture = Architecture.model_validate_json(data)
        sources = {path: SourceFile(path, decode_text(text)) for path, text in unit.files.items()}
    except (ValidationError, ValueError):
        return None
    return Compilation(architecture, [], sources, source_map=_LaterSourceMap(recompile))


def store(state_dir: Path, unit: Unit, compilation: Compilation) -> None:
    """Keep a compilation that said nothing and read only the unit's files (best effort:
    a cache that cannot be written is no cache)."""
    import orjson

    from scoot_model.objects import kinds
    from scoot_runtime.files import make_workspace, write_atomic

    architecture = compilation.architecture
    if architecture is None or compilation.diagnostics or set(compilation.sources) != set(unit.files):
        return
    objects = (obj for component in architecture.components.values() for obj in component.objects.values())
    if any(kinds.origin(obj.kind) is not None for obj in objects):
        return  # a plugin's kind: its package (and its version) is not in the key
    text = orjson.dumps(architecture.to_dict()).decode()
    try:
        folder = make_workspace(state_dir) / CACHE_FOLDER
        folder.mkdir(exist_ok=True)
        entry = _entry(state_dir, unit)
        write_atomic(entry, text)
        for old in folder.glob(f"{PREFIX}*.json"):  # one unit, one entry: the latest
            if old != entry:
                old.unlink(missing_ok=True)
    except OSError:
        pass


class _LaterSourceMap(SourceMap):
    """The compiler's source map, made when first asked for: by compiling the unit."""

    def __init__(self, recompile: Callable[[], Compilation]) -> None:
        super().__init__()
        self._recompile: Callable[[], Compilation] | None = recompile

    def _made(self) -> None:
        if self._recompile is not None:
            made = self._recompile().source_map
            self._recompile = None
            self.spans, self.values = made.spans, made.values

    def get(self, path: JsonPath) -> Span | None:
        self._made()
        return super().get(path)

    def value_span(self, path: JsonPath) -> Span | None:
        self._made()
        return super().value_span(path)

    def find(self, path: JsonPath) -> Span | None:
        self._made()
        return super().find(path)
