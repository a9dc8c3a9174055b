"""Open documents, compilation units, and the last compilation of each.

A document belongs to the unit of its folder: every `.sct` file there (the
compiler's `unit_files`), with open buffers taking the place of the files on
disk. A document that is not a file (`untitled:`) is a unit of its own.

Every change bumps its unit's generation. A compilation is made for one
generation; when it comes back and a newer change has arrived meanwhile, it is
kept as the latest model (it is still better than the one before) but its
diagnostics are not published: that work was superseded.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from scoot_app.modules import editor_modules
from scoot_lang.compiler import SCT_SUFFIX, SYNTAX_CODES, Compilation, Parsed, compile_sources
from scoot_lang.reuse import Checks
from scoot_lsp import disk
from scoot_lsp.positions import UTF16, LineIndex

log = logging.getLogger("scoot_lsp")

# Compiles between two thaws of what they left frozen (`_uncollected`).
THAW_EVERY = 64
_compiles = 0


@contextlib.contextmanager
def _uncollected() -> Iterator[None]:
    """Compile without the cycle collector, and freeze what exists after.

    A compile makes hundreds of thousands of objects that live until the next one
    (trees, records, spans) and no reference cycles. `compile_sources` turns the
    collector off while it runs, but the young generations then hold all those
    objects, and the first collections after it walk every one of them: at 10,000
    lines a third of a compile's time. Frozen (`gc.freeze`), they are never walked;
    they are still freed by reference counting when the next compile replaces them.
    What a freeze keeps is garbage with cycles (the event loop's, pygls'): every
    `THAW_EVERY` compiles it is thawed, for the next full collection to free.
    """
    global _compiles
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            _compiles += 1
            if _compiles % THAW_EVERY:
                gc.freeze()
            else:
                gc.unfreeze()
            gc.enable()


@dataclass
class Document:
    uri: str
    path: str  # the compiler's name for it: a filesystem path, or the URI itself
    text: str
    version: int | None = None
    encoding: str = UTF16
    _index: LineIndex | None = field(default=None, repr=False)

    @property
    def index(self) -> LineIndex:
        if self._index is None or self._index.text is not self.text:
            self._index = LineIndex(self.text, self.encoding)
        return self._index

    def apply(self, change: lsp.TextDocumentContentChangeEvent) -> None:
        if isinstance(change, lsp.TextDocumentContentChangePartial):
            index = self.index
            start = index.offset(change.range.start)
            end = max(index.offset(change.range.end), start)
            self.text = self.text[:start] + change.text + self.text[end:]
            self._index = index.edited(start, end, change.text, self.text)
        else:
            self.text = change.text


@dataclass
class Snapshot:
    """One compilation of a unit, with the texts it was made from."""

    generation: int
    compilation: Compilation
    texts: dict[str, str]
    encoding: str = UTF16
    _indexes: dict[str, LineIndex] = field(default_factory=dict, repr=False)

    def index(self, path: str) -> LineIndex:
        index = self._indexes.get(path)
        if index is None:
            text = self.texts.get(path)
            if text is None:  # a module's file: read by the compiler, not open here
                source = self.compilation.sources.get(path)
                text = source.text if source is not None else ""
            index = self._indexes[path] = LineIndex(text, self.encoding)
        return index

    def knows(self, path: str) -> bool:
        """Whether a diagnostic's file has a text here: the unit's, or a module's it uses."""
        return path in self.texts or path in self.compilation.sources

    @property
    def syntax_ok(self) -> bool:
        return not any(d.code in SYNTAX_CODES for d in self.compilation.diagnostics)


@dataclass
class Unit:
    key: str  # the folder, or the URI of a document that is not a file
    folder: Path | None
    generation: int = 0
    latest: Snapshot | None = None
    good: Snapshot | None = None  # the last one without syntax errors
    published: set[str] = field(default_factory=set)  # paths that were sent diagnostics
    pending: asyncio.Task[Any] | None = None
    compiling: asyncio.Lock = field(default_factory=asyncio.Lock)
    parsed: Parsed = field(default_factory=dict)  # each file's last parse (compile thread only)
    checks: Checks = field(default_factory=Checks)  # each component's last check (likewise)

    def keep(self, snapshot: Snapshot) -> None:
        if self.latest is None or snapshot.generation >= self.latest.generation:
            self.latest = snapshot
        if snapshot.syntax_ok and (self.good is None or snapshot.generation >= self.good.generation):
            self.good = snapshot

    @property
    def model(self) -> Snapshot | None:
        """The model for answers: the latest, or the last good one if the latest cannot parse."""
        if self.latest is not None and self.latest.syntax_ok:
            return self.latest
        return self.good or self.latest


def path_of(uri: str) -> str:
    """The compiler's name for a document: its filesystem path, or the URI."""
    if uri.startswith("file:"):
        path = to_fs_path(uri)
        if path:
            return os.path.normpath(path)
    return uri


def uri_of(path: str) -> str:
    if "://" in path or path.startswith("untitled:"):
        return path
    return from_fs_path(path) or path


class Documents:
    """The documents the client has open and the units they belong to."""

    def __init__(self, params_for: Callable[[Path], dict[str, str]] | None = None) -> None:
        self.documents: dict[str, Document] = {}  # by URI
        self.units: dict[str, Unit] = {}
        self.encoding = UTF16
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoot-compile")
        self._params_for = params_for or (lambda folder: {})
        self._disk: dict[str, disk.FileText] = {}
        self._left_out: dict[str, str] = {}

    # documents ------------------------------------------------------------------

    def open(self, uri: str, text: str, version: int | None) -> Document:
        document = Document(uri, path_of(uri), text, version, self.encoding)
        self.documents[uri] = document
        return document

    def change(self, uri: str, changes: list[lsp.TextDocumentContentChangeEvent], version: int | None) -> Document:
        document = self.documents.get(uri)
        if document is None:
            document = self.open(uri, "", version)
        for change in changes:
            document.apply(change)
        document.version = version
        return document

    def close(self, uri: str) -> Document | None:
        return self.documents.pop(uri, None)

    def document(self, uri: str) -> Document | None:
        return self.documents.get(uri)

    def buffer(self, path: str) -> str | None:
        """The text of the open document of a path (whatever its URI's spelling)."""
        for document in self.documents.values():
            if document.path == path:
                return document.text
        return None

    def open_texts(self) -> dict[str, str]:
        """Every open document's text by path (read on the loop, which changes them): the
        modules a unit uses are read from here before the disk."""
        return {document.path: document.text for document in self.documents.values()}

    def read(self, path: str) -> str:
        """A file's text on disk (see `disk`: regular files only, bounded); `Unreadable` says why not.

        It touches the disk: off the event loop. The cache is shared with the compile
        thread; a race between two readers of one file only reads it twice.
        """
        try:
            now = os.stat(path)
        except OSError as error:
            raise disk.Unreadable(f"{path}: {error.strerror or error}") from None
        cached = self._disk.get(path)
        if cached and stat.S_ISREG(now.st_mode) and (cached.mtime_ns, cached.size) == (now.st_mtime_ns, now.st_size):
            return cached.text
        self._disk[path] = found = disk.read_text(path)
        return found.text

    # units ----------------------------------------------------------------------

    def unit_of(self, uri: str) -> Unit:
        path = path_of(uri)
        if path == uri:  # not a file
            key, folder = uri, None
        else:
            folder = Path(path).parent
            key = str(folder)
        unit = self.units.get(key)
        if unit is None:
            unit = self.units[key] = Unit(key, folder)
        return unit

    def all_units(self) -> Iterator[Unit]:
        return iter(list(self.units.values()))

    def texts(self, unit: Unit) -> dict[str, str]:
        """The unit's files by path: open buffers over the `.sct` files on disk."""
        return self._with_disk(unit.folder, self._buffers(unit))

    def _buffers(self, unit: Unit) -> dict[str, str]:
        """The open documents of a unit (read on the loop, which changes them)."""
        if unit.folder is None:
            document = self.documents.get(unit.key)
            return {unit.key: document.text} if document else {}
        return {
            document.path: document.text
            for document in self.documents.values()
            if document.path.endswith(SCT_SUFFIX) and Path(document.path).parent == unit.folder
        }

    def _with_disk(self, folder: Path | None, buffers: dict[str, str]) -> dict[str, str]:
        """The `.sct` files of a folder, the open buffers in place of theirs (any thread)."""
        if folder is None:
            return buffers
        texts: dict[str, str] = {}
        with contextlib.suppress(OSError):
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                path = os.path.normpath(entry.path)
                if not entry.name.endswith(SCT_SUFFIX) or path in buffers or not entry.is_file():
                    continue
                try:
                    texts[path] = self.read(path)
                except disk.Unreadable as reason:
                    self._refused(path, str(reason))
        texts.update(buffers)
        return dict(sorted(texts.items()))

    def _refused(self, path: str, reason: str) -> None:
        """Log a file left out of its unit, once per reason (the unit is compiled on every change)."""
        if self._left_out.get(path) != reason:
            self._left_out[path] = reason
            log.warning("left out of its unit: %s", reason)

    def params(self, unit: Unit) -> dict[str, str]:
        if unit.folder is None:
            return {}
        try:
            return self._params_for(unit.folder)
        except Exception:
            return {}

    # compiling ------------------------------------------------------------------

    def compile_now(self, unit: Unit) -> Snapshot:
        """Compile the unit's current texts on this thread (tests, benchmarks)."""
        generation = unit.generation
        texts = self.texts(unit)
        with _uncollected():
            compilation = compile_sources(
                texts, self.params(unit), parsed=unit.parsed, checks=unit.checks, modules=editor_modules(texts, self.open_texts())
            )
        snapshot = Snapshot(generation, compilation, texts, self.encoding)
        unit.keep(snapshot)
        return snapshot

    async def compile(self, unit: Unit) -> Snapshot:
        """Compile the unit's current texts off the event loop, and keep the result.

        The files on disk and `scoot.toml`'s params are read on the compile thread too:
        a slow disk (or a file that is not what it seems) never stops the loop.
        """
        generation = unit.generation
        buffers, open_texts = self._buffers(unit), self.open_texts()
        loop = asyncio.get_running_loop()
        texts, compilation = await loop.run_in_executor(self.executor, self._compile, unit, buffers, open_texts)
        snapshot = Snapshot(generation, compilation, texts, self.encoding)
        unit.keep(snapshot)
        return snapshot

    def _compile(self, unit: Unit, buffers: dict[str, str], open_texts: dict[str, str]) -> tuple[dict[str, str], Compilation]:
        texts = self._with_disk(unit.folder, buffers)
        for gone in unit.parsed.keys() - texts.keys():
            del unit.parsed[gone]
        with _uncollected():
            return texts, compile_sources(
                texts, self.params(unit), parsed=unit.parsed, checks=unit.checks, modules=editor_modules(texts, open_texts)
            )

    async def current(self, unit: Unit) -> Snapshot:
        """A compilation of the unit as it is now: the latest, or the one scheduled for
        this generation (waited for: compiling again would queue behind it and take
        twice as long), or one compiled now."""
        while True:
            latest = unit.latest
            if latest is not None and latest.generation == unit.generation:
                return latest
            pending = unit.pending
            if pending is None or pending.done():
                return await self.compile(unit)
            await asyncio.shield(pending)
