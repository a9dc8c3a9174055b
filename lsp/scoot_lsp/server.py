"""The Scoot language server: pygls handlers over the compiler's results.

Compiling happens off the event loop (one worker thread), at once after a change
(no debounce by default: compiles of a unit are coalesced instead); a
compilation whose unit changed again meanwhile is kept as the latest model but
its diagnostics are not published.
Completion answers at once: where the cursor is comes from a parse of its
block in the current text (`model.current_place`), what exists from the last
model. Hover and the features that edit or navigate (definition, rename,
formatting...) wait for a model of the current text: the compile already
scheduled for it, not a second one. A handler that fails returns an LSP error; the server goes on.

Frames are read by `transport` (bounded, resynchronised after a bad one) and
checked by `protocol` (every request is answered), not by pygls' own loop; the
disk is read by `disk` (regular files only, bounded), never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from scoot_lang.compilation import SCT_SUFFIX
from scoot_lsp import (
    actions,
    completion,
    diagnostics,
    disk,
    hover,
    lens,
    model,
    navigation,
    tokens,
    transport,
)
from scoot_lsp.documents import Document, Documents, Snapshot, Unit, path_of, uri_of
from scoot_lsp.positions import UTF16
from scoot_lsp.protocol import ScootProtocol, strict_converter

__version__ = "0.1.0"
# Seconds after a change before compiling: none, since the compiles of a unit are
# coalesced (one at a time, then the newest text once): a burst of keystrokes costs at
# most one compile more than it needs, and one change is answered without waiting.
DEFAULT_DEBOUNCE = 0.0
SWITCH_INTERVAL = 0.001  # seconds (see `run`)
log = logging.getLogger("scoot_lsp")


class RequestFailed(JsonRpcException):
    CODE = -32803  # LSP RequestFailed
    MESSAGE = "request failed"


class ScootLanguageServer(LanguageServer):
    protocol: ScootProtocol

    def __init__(self) -> None:
        super().__init__(
            "scoot-lsp",
            __version__,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            protocol_cls=ScootProtocol,
            converter_factory=strict_converter,
        )
        self.scoot = Documents(params_for=lens.params_for)
        self.debounce = DEFAULT_DEBOUNCE
        self.lens_cache: dict[tuple[str, int], lens.Outcome] = {}

    # --- transports: pygls' start methods with our read loop ---------------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        self._stop_event = stop = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        source = transport.DescriptorSource((stdin or sys.stdin.buffer).fileno())
        try:
            asyncio.run(transport.serve(source, self.protocol, stop))
        except BrokenPipeError:
            log.error("the connection to the client is lost: stopping")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self._stop()

    def start_tcp(self, host: str, port: int) -> None:
        self._stop_event = stop = threading.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.protocol.set_writer(writer)
            await transport.serve(transport.StreamSource(reader), self.protocol, stop)
            self._stop()  # one client, as pygls: its end is the server's

        async def listen() -> None:
            self._server = listener = await asyncio.start_server(connection, host, port)
            log.info("listening on %s:%s", host, port)
            async with listener:
                await listener.serve_forever()

        with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            asyncio.run(listen())

    def _stop(self) -> None:
        self.shutdown()  # type: ignore[no-untyped-call]  # pygls leaves it unannotated

    # --- documents and units ---------------------------------------------------------

    async def document(self, uri: str) -> Document:
        """An open document, or a file read from disk for a request on an unopened one.

        Only a `file:` URI of an absolute path is read (any other URI the client has not
        opened names nothing on disk), through `disk` and in a thread.
        """
        document = self.scoot.document(uri)
        if document is not None:
            return document
        path = path_of(uri)
        if path == uri or not os.path.isabs(path):
            raise RequestFailed(f"{uri} is not open, and is not a file")
        text = self.scoot.buffer(path)
        if text is None:
            try:
                text = await asyncio.get_running_loop().run_in_executor(None, self.scoot.read, path)
            except disk.Unreadable as reason:
                log.warning("not read for %s: %s", uri, reason)
                raise RequestFailed(f"{uri} is neither open nor readable: {reason}") from None
        return Document(uri, path, text, None, self.scoot.encoding)

    def schedule(self, unit: Unit) -> None:
        unit.generation += 1
        unit.pending = asyncio.ensure_future(self._compile_later(unit, unit.generation))

    async def _compile_later(self, unit: Unit, generation: int) -> None:
        try:
            if self.debounce > 0:
                await asyncio.sleep(self.debounce)
            # One compile of a unit at a time: the changes made while it runs are
            # compiled next, once, by the newest of the tasks waiting here.
            async with unit.compiling:
                if unit.generation != generation:
                    return  # superseded before it started
                snapshot = await self.scoot.compile(unit)
            if unit.generation != generation:
                return  # superseded while compiling: keep the model, drop the diagnostics
            self.publish(unit, snapshot)
            self._refresh_lenses()
        except Exception:
            log.exception("compiling %s failed", unit.key)

    def publish(self, unit: Unit, snapshot: Snapshot) -> None:
        fallback = next((d.path for d in self.scoot.documents.values() if self.scoot.unit_of(d.uri) is unit), None)
        found = diagnostics.by_file(snapshot, fallback)
        # A module's file: the unit that uses it says what is wrong there, not its own folder's.
        used = {path for path in found if (_module_user(self, uri_of(path)) or unit) is not unit}
        for path in used:
            del found[path]
        for path in unit.published - set(found) - used:
            found[path] = []  # a file that left the unit
        for path, items in found.items():
            document = self.scoot.document(uri_of(path))
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(
                    uri=uri_of(path), diagnostics=items, version=document.version if document else None
                )
            )
        unit.published = {path for path, items in found.items() if items}

    def _refresh_lenses(self) -> None:
        capabilities = self.client_capabilities.workspace
        if capabilities and capabilities.code_lens and capabilities.code_lens.refresh_support:
            with contextlib.suppress(Exception):
                self.workspace_code_lens_refresh(None)

    async def fresh(self, uri: str) -> tuple[Snapshot, str, Document]:
        """A model of the document's current text (compiled now if the last one is stale)."""
        document = await self.document(uri)
        unit = self.scoot.unit_of(uri)
        if self.scoot.document(uri) is None and unit.latest is None:
            unit.generation += 1
        snapshot = await self.scoot.current(unit)
        return snapshot, document.path, document

    async def last_model(self, uri: str) -> tuple[Snapshot, str, Document, Unit]:
        """The last model of the document's unit, without waiting for a newer one."""
        document = await self.document(uri)
        unit = self.scoot.unit_of(uri)
        snapshot = unit.model
        if snapshot is None or document.path not in snapshot.texts:
            snapshot = (await self.fresh(uri))[0]
        return snapshot, document.path, document, unit


server = ScootLanguageServer()


# --- lifecycle and synchronisation ------------------------------------------------------


@server.feature(lsp.INITIALIZED)
def initialized(ls: ScootLanguageServer, params: lsp.InitializedParams) -> None:
    encoding = ls.workspace.position_encoding
    ls.scoot.encoding = str(encoding.value if isinstance(encoding, lsp.PositionEncodingKind) else encoding or UTF16)
    model.prepare()


@server.feature(lsp.INITIALIZE)
def initialize(ls: ScootLanguageServer, params: lsp.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("debounce"), int | float):
        ls.debounce = float(options["debounce"])


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: ScootLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    ls.scoot.open(item.uri, item.text, item.version)
    ls.schedule(ls.scoot.unit_of(item.uri))
    _schedule_users(ls, item.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: ScootLanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.scoot.change(params.text_document.uri, list(params.content_changes), params.text_document.version)
    ls.schedule(ls.scoot.unit_of(params.text_document.uri))
    _schedule_users(ls, params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE, lsp.SaveOptions(include_text=False))
def did_save(ls: ScootLanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
    ls.lens_cache.clear()  # a save may follow an apply: scoot.lock may have changed
    ls.schedule(ls.scoot.unit_of(params.text_document.uri))


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: ScootLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
    ls.scoot.close(params.text_document.uri)
    ls.schedule(ls.scoot.unit_of(params.text_document.uri))
    _schedule_users(ls, params.text_document.uri)  # they read the file on disk again


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched(ls: ScootLanguageServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    ls.lens_cache.clear()
    folders = {str(Path(path_of(change.uri)).parent) for change in params.changes}
    users = {id(unit): unit for change in params.changes for unit in _module_users(ls, change.uri)}
    for unit in ls.scoot.all_units():
        if unit.key in folders or id(unit) in users:
            ls.schedule(unit)


def _schedule_users(ls: ScootLanguageServer, uri: str) -> None:
    """Compile again the units that use the document as a module's file: they read its
    open text (`Documents.open_texts`), and their diagnostics may change with it."""
    own = ls.scoot.unit_of(uri)
    for unit in _module_users(ls, uri):
        if unit is not own:
            ls.schedule(unit)


# --- diagnostics by pull ----------------------------------------------------------------


@server.feature(
    lsp.TEXT_DOCUMENT_DIAGNOSTIC,
    lsp.DiagnosticOptions(identifier="scoot", inter_file_dependencies=True, workspace_diagnostics=False),
)
async def pull_diagnostics(ls: ScootLanguageServer, params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
    user = _module_user(ls, params.text_document.uri)  # a module's file: its user's model
    if user is not None:
        snapshot, path = await ls.scoot.current(user), path_of(params.text_document.uri)
    else:
        snapshot, path, _ = await ls.fresh(params.text_document.uri)
    found = diagnostics.by_file(snapshot, path)
    related: dict[str, Any] = {
        uri_of(other): lsp.FullDocumentDiagnosticReport(items=items) for other, items in found.items() if other != path
    }
    return lsp.RelatedFullDocumentDiagnosticReport(items=found.get(path, []), related_documents=related or None)


# --- completion: the current text's place, the last model's names; hover: the current model


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", '"', " "]))
async def complete(ls: ScootLanguageServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    snapshot, path, document, _ = await ls.last_model(params.text_document.uri)
    index = document.index
    offset = index.offset(params.position)
    line_prefix = document.text[index.line_start(params.position.line) : offset]
    where = model.current_place(model.tree(snapshot.compilation, path), snapshot.texts.get(path, ""), document.text, offset)
    typed = completion.typed_source(where, line_prefix)
    if typed is not None and os.path.isabs(path):  # `source = "./...`: folders, read off the loop
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, completion.source_folders, Path(path).parent, typed)
    return completion.complete(snapshot, where, line_prefix)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: ScootLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
    snapshot, path, offset = await _at(ls, params.text_document.uri, params.position)
    folder = ls.scoot.unit_of(params.text_document.uri).folder
    recorded = (lambda address: lens.recorded(folder, address)) if folder is not None else None
    # In a thread: a hover on an object reads its state in `scoot.lock`.
    return await asyncio.get_running_loop().run_in_executor(None, hover.hover, snapshot, path, offset, recorded)


# --- navigation and edits: a model of the current text ---------------------------------


async def _at(ls: ScootLanguageServer, uri: str, position: lsp.Position) -> tuple[Snapshot, str, int]:
    user = _module_user(ls, uri)
    if user is not None:
        path = path_of(uri)
        snapshot = await ls.scoot.current(user)
    else:
        snapshot, path, _ = await ls.fresh(uri)
    return snapshot, path, snapshot.index(path).offset(position)


def _module_users(ls: ScootLanguageServer, uri: str) -> list[Unit]:
    """The units whose last model read the document as a module's file, or uses a module
    in its folder (a new file there joins the module)."""
    path = path_of(uri)
    folder = os.path.dirname(path)
    users = []
    for unit in ls.scoot.all_units():
        latest = unit.latest
        if latest is None or path in latest.texts or not path.endswith(SCT_SUFFIX):
            continue
        semantic = latest.compilation.semantic
        folders = {os.path.dirname(file) for link in semantic.modules.values() for file in link.files}
        if path in semantic.trees or folder in folders:
            users.append(unit)
    return users


def _module_user(ls: ScootLanguageServer, uri: str) -> Unit | None:
    """A unit that uses the document as a module's file: its model knows the module's uses
    (hover, definition and rename inside a module answer from it; lsp/README.md)."""
    return next(_module_readers(ls, path_of(uri)), None)


def _module_readers(ls: ScootLanguageServer, path: str) -> Iterator[Unit]:
    """Every unit whose last model read the file as a module's file."""
    for unit in ls.scoot.all_units():
        latest = unit.latest
        if latest is not None and path not in latest.texts and path in latest.compilation.semantic.trees:
            yield unit


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
async def definition(ls: ScootLanguageServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
    snapshot, path, offset = await _at(ls, params.text_document.uri, params.position)
    return navigation.definition(snapshot, path, offset)


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
async def references(ls: ScootLanguageServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    snapshot, path, offset = await _at(ls, params.text_document.uri, params.position)
    return navigation.references(snapshot, path, offset, params.context.include_declaration)


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
async def prepare_rename(ls: ScootLanguageServer, params: lsp.PrepareRenameParams) -> lsp.PrepareRenamePlaceholder | None:
    snapshot, path, offset = await _at(ls, params.text_document.uri, params.position)
    try:
        return navigation.prepare_rename(snapshot, path, offset)
    except navigation.RenameError as error:
        raise RequestFailed(str(error)) from None


@server.feature(lsp.TEXT_DOCUMENT_RENAME)
async def rename(ls: ScootLanguageServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit:
    snapshot, path, offset = await _at(ls, params.text_document.uri, params.position)
    unit = _module_user(ls, params.text_document.uri) or ls.scoot.unit_of(params.text_document.uri)
    try:
        edit = navigation.rename(snapshot, path, offset, params.new_name, await _recorded(unit))
    except navigation.RenameError as error:
        raise RequestFailed(str(error)) from None
    # Declared in a module's file: every other application the server knows that uses the
    # module is renamed alike, each with its own `scoot.lock` (lsp/README.md).
    declared = navigation.in_module(snapshot, path, offset, edit)
    if declared is None:
        return edit
    module, at, new_text = declared
    for other in list(_module_readers(ls, module)):
        if other is unit:
            continue
        try:
            more = navigation.rename(await ls.scoot.current(other), module, at, new_text, await _recorded(other))
        except navigation.RenameError as error:
            raise RequestFailed(f"in the application of {other.key}: {error}") from None
        edit = navigation.merged(edit, more)
    return edit


async def _recorded(unit: Unit) -> frozenset[str]:
    """The object addresses the unit's `scoot.lock` records, read in a thread."""
    if unit.folder is None:
        return frozenset()
    return await asyncio.get_running_loop().run_in_executor(None, lens.recorded_addresses, unit.folder)


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
async def document_symbols(ls: ScootLanguageServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    snapshot, path, _ = await ls.fresh(params.text_document.uri)
    return navigation.document_symbols(snapshot, path)


@server.feature(lsp.WORKSPACE_SYMBOL)
async def workspace_symbols(ls: ScootLanguageServer, params: lsp.WorkspaceSymbolParams) -> list[lsp.WorkspaceSymbol]:
    snapshots = [await ls.scoot.current(unit) for unit in ls.scoot.all_units()]
    return navigation.workspace_symbols(snapshots, params.query)


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
async def formatting(ls: ScootLanguageServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
    document = await ls.document(params.text_document.uri)
    index = document.index
    whole = index.range(0, len(document.text))
    return actions.format_document(document.text, document.path, whole)


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, tokens.LEGEND)
async def semantic_tokens(ls: ScootLanguageServer, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
    snapshot, path, _ = await ls.fresh(params.text_document.uri)
    return tokens.semantic_tokens(snapshot, path)


@server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
async def folding(ls: ScootLanguageServer, params: lsp.FoldingRangeParams) -> list[lsp.FoldingRange]:
    snapshot, path, _ = await ls.fresh(params.text_document.uri)
    return tokens.folding_ranges(snapshot, path)


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix])
)
async def code_action(ls: ScootLanguageServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    snapshot, path, _ = await ls.fresh(params.text_document.uri)
    index = snapshot.index(path)
    return actions.code_actions(snapshot, path, index.offset(params.range.start), index.offset(params.range.end))


@server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
async def code_lens(ls: ScootLanguageServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
    snapshot, path, _ = await ls.fresh(params.text_document.uri)
    unit = ls.scoot.unit_of(params.text_document.uri)
    if unit.folder is None:
        return []
    key = (unit.key, snapshot.generation)
    outcome = ls.lens_cache.get(key)
    if outcome is None:
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(None, lens.plan_outcome, snapshot.compilation, unit.folder)
        ls.lens_cache = {k: v for k, v in ls.lens_cache.items() if k[0] != unit.key}
        ls.lens_cache[key] = outcome
    return lens.lenses(snapshot, path, outcome)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="scoot lsp", description="The Scoot language server.")
    parser.add_argument("--tcp", action="store_true", help="Listen on TCP instead of stdio (for debugging).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2087)
    args = parser.parse_args(argv)
    run(tcp=args.tcp, host=args.host, port=args.port)


def run(tcp: bool = False, host: str = "127.0.0.1", port: int = 2087) -> None:
    logging.basicConfig(level=logging.WARNING)
    # The compile thread holds the GIL for up to this long before the event loop may
    # answer a request: 1 ms instead of Python's 5, so that a completion sent while a
    # compile runs is answered in a few milliseconds, not after several slices of 5.
    sys.setswitchinterval(SWITCH_INTERVAL)
    if tcp:
        server.start_tcp(host, port)
    else:
        server.start_io()
