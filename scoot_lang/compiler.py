"""The compiler's front door: a file, a folder or text in, a `Compilation` out.

One way through: read → parse (`.sct`) or read (JSON) → check. Everything a
later tool needs comes back together, so that nothing parses twice.
"""

from __future__ import annotations

import errno
import gc
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from scoot_lang import syntax as s
from scoot_lang.checker import check
from scoot_lang.compilation import JSON_NAME as JSON_NAME  # given here too, as before
from scoot_lang.compilation import MAX_SOURCE_BYTES as MAX_SOURCE_BYTES
from scoot_lang.compilation import SCT_SUFFIX as SCT_SUFFIX
from scoot_lang.compilation import Compilation as Compilation
from scoot_lang.compilation import unit_files as unit_files
from scoot_lang.diagnostics import Diagnostic, Severity, diagnostic, sort_key
from scoot_lang.json_reader import read_json
from scoot_lang.modules import (
    GIT_FORM,
    GIT_PREFIX,
    LOCAL_FORM,
    ModuleLoader,
    ModuleSourceError,
    ModuleTexts,
    no_git,
)
from scoot_lang.parser import parse, parse_edit
from scoot_lang.reuse import Checks
from scoot_lang.source import SourceFile, Span, decode_text
from scoot_model.reading import MIB, UnreadableFile, read_regular_file

SYNTAX_CODES = frozenset({"SCT001", "SCT002"})
UNSURE_AFTER_SYNTAX_ERRORS = frozenset({"SCT301", "SCT901"})
# A file's last parse, by path: its text, its tree and its syntax errors.
Parsed = MutableMapping[str, tuple[str, s.File, list[Diagnostic]]]


def read_source(path: Path, limit: int = MAX_SOURCE_BYTES) -> tuple[str | None, Diagnostic | None]:
    """The text of one source file, or the SCT005 that says why there is none.

    Only a regular file of at most `limit` bytes, in UTF-8, is read: a FIFO, a
    device or a socket is refused without blocking, and a larger file is refused
    before it is read.
    """
    try:
        data = read_regular_file(path, limit)
    except UnreadableFile as error:
        reason = error.strerror or str(error)
        if error.errno == errno.EFBIG:
            reason += f"; the files of a unit hold at most {MAX_SOURCE_BYTES // MIB} MiB together"
        return None, diagnostic("SCT005", f"cannot read `{path}`: {reason}", Span(str(path), 0, 0))
    try:
        return decode_text(data), None
    except UnicodeDecodeError as error:
        return None, diagnostic(
            "SCT005", f"`{path}` is not UTF-8 text ({error.reason}); save it as UTF-8", Span(str(path), 0, 0)
        )


def folder_modules(root: Path, git: ModuleLoader = no_git, overlay: Mapping[str, str] | None = None) -> ModuleLoader:
    """A loader of modules from folders inside `root`, the application's folder (git
    sources go to `git`): a source is relative to the file that uses it, and may not
    leave `root` (or, in a module from git, its checkout), by `..` or by a link.
    `overlay`: texts by path that take the place of the files on disk (an editor's
    unsaved buffers, `module_folder`)."""
    bounds = [root.resolve()]  # the application's folder, then the git checkouts read

    def load(source: str, user: str) -> ModuleTexts:
        if source.startswith(GIT_PREFIX):
            texts = git(source, user)
            if texts.boundary:
                bounds.append(Path(texts.boundary).resolve())
            return texts
        if not source.startswith(("./", "../")):
            raise ModuleSourceError(
                "SCT701",
                f"`{source}` is not a module source: write a folder relative to this file, `{LOCAL_FORM}`, "
                f"or a git source, `{GIT_FORM}`",
            )
        folder = Path(user).parent / source
        shown = os.path.normpath(folder)
        try:
            resolved = folder.resolve()
            users = Path(user).resolve()
        except (OSError, ValueError) as error:  # a link loop, a name too long
            raise ModuleSourceError("SCT701", f"cannot read module `{source}`: {error}") from error
        inside = max((b for b in bounds if users.is_relative_to(b)), key=lambda b: len(b.parts), default=bounds[0])
        if not resolved.is_relative_to(inside):
            what = "the application's folder" if inside == bounds[0] else "its git repository"
            raise ModuleSourceError(
                "SCT702",
                f"module source `{source}` leads outside {what} (to `{shown}`); a module "
                f"stays inside it, or comes from git ({GIT_FORM})",
            )
        return module_folder(Path(shown), str(resolved), shown, source, overlay=overlay)

    return load


def module_folder(
    folder: Path, key: str, shown: str, source: str, boundary: str = "", overlay: Mapping[str, str] | None = None
) -> ModuleTexts:
    """The `.sct` files of a module's folder (or its one file), or why they cannot be read.

    `overlay`: texts by path read in place of the files' (an editor's open documents,
    saved or not); one of the folder that is not on disk yet is a file of it too."""
    overlay = overlay or {}
    if not folder.exists():
        raise ModuleSourceError("SCT701", f"module source `{source}` does not exist (no `{shown}`); check the path")
    files = [f for f in unit_files(folder) if f.suffix == SCT_SUFFIX]
    if folder.is_dir():
        on_disk = {str(f) for f in files}
        files += [Path(p) for p in overlay if Path(p).parent == folder and p.endswith(SCT_SUFFIX) and p not in on_disk]
        files.sort()
    if not files:
        raise ModuleSourceError("SCT701", f"module source `{source}` holds no .sct file (in `{shown}`)")
    texts: dict[str, str] = {}
    for file in files:
        if str(file) in overlay:
            texts[str(file)] = overlay[str(file)]
            continue
        text, problem = read_source(file)
        if problem is not None or text is None:
            raise ModuleSourceError("SCT701", problem.message if problem else f"cannot read `{file}`")
        texts[str(file)] = text
    return ModuleTexts(key, shown, texts, boundary)


def compile_sources(
    texts: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    *,
    origins: Mapping[str, str] | None = None,
    parsed: Parsed | None = None,
    modules: ModuleLoader | None = None,
    checks: Checks | None = None,
) -> Compilation:
    """Compile a unit given as `{path: text}`; a path ending in `.json` is the JSON form.

    `origins` says where each of `params` was given, for the messages about it
    (`scoot.toml [params]`); `--param` when it does not say. `modules` reads the
    modules it uses: by default, from folders inside the folder of its first file.
    `parsed`, kept by a caller that compiles the same unit again and again (the
    language server), holds each `.sct` file's last parse: a file whose text did not
    change is not parsed again (the checker never changes a tree), and a file that did
    is parsed again only between the top-level items the change did not touch
    (`parser.parse_edit`); `checks`, kept likewise, holds each component's last check,
    replayed when neither its tree nor what it reads changed (`scoot_lang.reuse`)."""
    if modules is None:
        first = next(iter(texts), "architecture.sct")
        modules = folder_modules(Path(first).parent)
    # Compiling allocates many small objects and makes no reference cycles: the
    # cycle collector would only walk them again and again (a third of the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _compile(texts, params, origins, modules, parsed, checks)
    finally:
        if collecting:
            gc.enable()


def _compile(
    texts: Mapping[str, str],
    params: Mapping[str, str] | None,
    origins: Mapping[str, str] | None,
    modules: ModuleLoader,
    parsed: Parsed | None = None,
    checks: Checks | None = None,
) -> Compilation:
    sources = {path: SourceFile(path, text) for path, text in texts.items()}
    files: list[s.File] = []
    diagnostics: list[Diagnostic] = []
    unreadable = False
    for path, text in texts.items():
        tree: s.File | None
        if path.endswith(".json"):
            tree, errors = read_json(text, path)
        else:
            known = parsed.get(path) if parsed is not None else None
            if known is not None and known[0] == text:
                tree, errors = known[1], known[2]
            else:
                if known is not None and not known[2]:
                    tree, errors = parse_edit(known[0], known[1], text)
                else:
                    tree, errors = parse(text, path)
                if parsed is not None:  # the next edit is parsed against this text, not an older one
                    parsed[path] = (text, tree, errors)
        diagnostics.extend(errors)
        if tree is None:
            unreadable = True  # not JSON at all: checking nothing would only add noise
        else:
            files.append(tree)
    if len(texts) > 1 and any(path.endswith(".json") for path in texts):
        diagnostics.append(
            diagnostic("SCT006", "a JSON architecture is a whole unit: compile it alone, not with other files", None)
        )
    if checks is not None:
        erring = {d.span.file for d in diagnostics if d.span is not None}
        checks.texts = {path: text for path, text in texts.items() if path not in erring and not path.endswith(".json")}
    result = check([] if unreadable else files, dict(params or {}), origins, modules, checks)
    if not unreadable:
        # Recovery may have skipped a declaration or a use: with syntax errors, "not
        # defined" and "never used" would be guesses (docs/diagnostics.md, SCT001).
        # A module's files too: a skipped `param` there makes its uses "not defined".
        syntax = any(d.code in SYNTAX_CODES for d in (*diagnostics, *result.diagnostics))
        guesses = UNSURE_AFTER_SYNTAX_ERRORS if syntax else ()
        diagnostics.extend(d for d in result.diagnostics if d.code not in guesses)
    for path, text in result.module_texts.items():
        sources.setdefault(path, SourceFile(path, text))
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


def compile_path(
    path: str | Path,
    params: Mapping[str, str] | None = None,
    *,
    origins: Mapping[str, str] | None = None,
    git: ModuleLoader = no_git,
) -> Compilation:
    """Compile the unit at a path: an `.sct` file, a JSON file, or a folder (`origins`:
    as `compile_sources`; `git`: reads git module sources)."""
    root = Path(path)
    try:
        if not root.exists():
            return _failed("SCT006", f"`{root}` does not exist; give an .sct file, a JSON file or a folder")
        files = unit_files(root)
    except (OSError, ValueError) as error:  # a name too long, a NUL, a folder we may not list
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return _failed("SCT006", f"cannot use `{root}`: {reason}; give an .sct file, a JSON file or a folder")
    if not files:
        return _failed(
            "SCT006",
            f"no .sct files in `{root}`; write an architecture.sct there (`scoot init`) or give its path",
        )
    texts: dict[str, str] = {}
    unreadable: list[Diagnostic] = []
    left = MAX_SOURCE_BYTES  # for all the files together
    for file in files:
        text, problem = read_source(file, max(left, 0))
        if problem is not None:
            unreadable.append(problem)
        elif text is not None:
            texts[str(file)] = text
            left -= len(text.encode("utf-8"))
    if unreadable:
        return Compilation(None, unreadable)
    folder = root if root.is_dir() else root.parent
    return compile_sources(texts, params, origins=origins, modules=folder_modules(folder, git))


def _failed(code: str, message: str) -> Compilation:
    return Compilation(None, [diagnostic(code, message, None)])


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diagnostics))
