"""Git sources of modules (`git::URL//FOLDER?ref=REVISION`), fetched through the repository
drivers into `.scoots/repos/`, as components' sources are. The compiler takes this
loader (scoot_lang reads no repository itself).

A whole commit id says by itself what every clone compiles. A tag or a branch is
resolved once, the first time it is compiled, and the commit it named is recorded in
scoot.lock (`modules`, by `URL?ref=REF`): every later compile, on every clone, takes
that commit, until `scoot modules update` resolves it again (docs/language.md, "Modules").
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:

    from scoot_app.application import Failed, Loaded
    from scoot_lang.modules import ModuleLoader, ModuleTexts
    from scoot_runtime.workspace import Target, Workspace


@dataclass(frozen=True)
class ModulePinChange:
    """What `scoot modules update` did to one pinned source: `before` None when new."""

    source: str
    before: str | None
    after: str


@dataclass
class GitModules:
    """The loader of git module sources for an application's target (a `ModuleLoader`).

    `update`: resolve every tag and branch again, whatever scoot.lock records."""

    workspace: Workspace
    target: Target
    update: bool = False
    recorded: dict[str, str] | None = None  # scoot.lock's pins, read on first need
    resolved: dict[str, str] = field(default_factory=dict)  # resolved by this compile
    used: set[str] = field(default_factory=set)  # the pinned sources this compile used

    def __call__(self, source: str, user: str) -> ModuleTexts:
        from scoot_lang.compiler import module_folder
        from scoot_lang.modules import ModuleSourceError, git_source
        from scoot_runtime.errors import ScootError
        from scoot_runtime.repositories.base import COMMIT
        from scoot_runtime.sources import fetch_architecture
        from scoot_runtime.state import pin_modules

        found = git_source(source)
        pinned = f"{found.url}?ref={found.ref}"
        try:
            commit = found.ref if COMMIT.fullmatch(found.ref) else self.pinned(pinned)
            fetched = fetch_architecture(
                self.workspace, self.target, f"{found.url}#{commit or found.ref}", said=f"module `{source}`"
            )
            if commit is None:  # first compiled (or updated): record what it named
                self.resolved[pinned] = fetched.revision
                pin_modules(self.workspace.root, {pinned: fetched.revision})
        except ScootError as error:
            raise ModuleSourceError("SCT701", str(error)) from None
        if not COMMIT.fullmatch(found.ref):
            self.used.add(pinned)
        folder = fetched.path / found.path if found.path else fetched.path
        checkout = Path(fetched.path)
        if not folder.resolve().is_relative_to(checkout.resolve()):
            raise ModuleSourceError(
                "SCT702", f"the folder of `{source}` leaves its repository; name a folder inside it"
            )
        key = f"{found.url}//{found.path}@{fetched.revision}"
        return module_folder(folder, key, f"{found.url}//{found.path}", source, str(checkout))

    def pinned(self, source: str) -> str | None:
        """The commit scoot.lock records for a tag or branch (None: resolve it)."""
        if source in self.resolved:
            return self.resolved[source]
        if self.update:
            return None
        if self.recorded is None:
            from scoot_runtime.state import STATE_FILE, read_state_file

            lock = read_state_file(self.workspace.root / STATE_FILE)
            self.recorded = {name: pin.commit for name, pin in lock.modules.items()}
        return self.recorded.get(source)


def git_modules(workspace: Workspace, target: Target) -> GitModules:
    """The loader of git module sources for an application's target."""
    return GitModules(workspace, target)


def update_modules(
    path: str | Path,
    target: str | None = None,
    params: Mapping[str, str] | None = None,
    from_repo: str | None = None,
    param_file: str | Path | None = None,
) -> tuple[Loaded | Failed, list[ModulePinChange]]:
    """`scoot modules update`: compile the application resolving every git module's tag
    or branch again, record the commits in scoot.lock (dropping the pins no source uses
    any more), and say which changed."""
    from scoot_app.application import load
    from scoot_runtime.state import STATE_FILE, pin_modules, read_state_file

    made: list[GitModules] = []
    before: dict[str, str] = {}

    def loader(workspace: Workspace, target: Target) -> GitModules:
        lock = read_state_file(workspace.root / STATE_FILE)
        before.update({name: pin.commit for name, pin in lock.modules.items()})
        made.append(GitModules(workspace, target, update=True))
        return made[-1]

    loaded = load(path, target, params, from_repo, param_file, modules=loader)
    if not made or loaded.compilation.architecture is None:
        return loaded, []  # a source could not be read: the pins resolved so far are kept
    used = made[-1]
    pin_modules(used.workspace.root, {}, keep=used.used)
    changes = [
        ModulePinChange(source, before.get(source), commit)
        for source, commit in sorted(used.resolved.items())
        if before.get(source) != commit
    ]
    return loaded, changes


def git_modules_for(path: str | Path) -> ModuleLoader:
    """The loader of git module sources for `scoot compile` and `validate` PATH (a file or a
    folder): that of the application PATH is in (its default target), found as the other
    commands find it. Nothing is read before a git source is met."""
    from scoot_lang.modules import ModuleSourceError
    from scoot_runtime.workspace import SettingsError, find_root, load

    made: list[GitModules] = []

    def load_git(source: str, user: str) -> ModuleTexts:
        if not made:
            start = Path(path)
            folder = start if start.is_dir() else start.parent
            try:
                workspace = load(find_root(folder) or folder)
                made.append(GitModules(workspace, workspace.target(None)))
            except (SettingsError, OSError) as error:
                raise ModuleSourceError("SCT701", f"cannot fetch `{source}`: {error}") from None
        return made[0](source, user)

    return load_git


def editor_modules(texts: Mapping[str, str], open_texts: Mapping[str, str] | None = None) -> ModuleLoader:
    """The loader of a unit's modules for the language server: local folders, and git
    sources from the copies already fetched under `.scoots/repos/` (it never fetches: it
    answers as the user types), saying plainly when one is not fetched yet.

    `open_texts`: the editor's open documents by path; a module's file among them is
    read from there, so the application sees the module as the user has it, unsaved."""
    from scoot_lang.compiler import folder_modules

    folder = Path(next(iter(texts), "architecture.sct")).parent
    return folder_modules(folder, fetched_git_modules(folder), open_texts)


def fetched_git_modules(folder: Path) -> ModuleLoader:
    """Git module sources read from what `scoot compile`, `plan`… fetched for the application
    `folder` is in: the checkout of the commit the source names, or scoot.lock records."""
    from scoot_lang.compiler import module_folder
    from scoot_lang.modules import ModuleSourceError, git_source
    from scoot_runtime.repositories.base import COMMIT, REPOS
    from scoot_runtime.repositories.git import safe_name
    from scoot_runtime.state import STATE_FILE, StateError
    from scoot_runtime.workspace import WORKSPACE, find_root

    def load(source: str, user: str) -> ModuleTexts:
        found = git_source(source)
        try:
            root = find_root(folder) or folder
            commit = found.ref if COMMIT.fullmatch(found.ref) else _pins(root / STATE_FILE).get(
                f"{found.url}?ref={found.ref}"
            )
        except (OSError, StateError) as error:
            raise ModuleSourceError("SCT701", f"cannot read `{source}`: {error}") from None
        checkout = root / WORKSPACE / REPOS / safe_name(found.url) / (commit or "")
        if commit is None or not checkout.is_dir():
            named = f"`{found.ref}`" if commit is None else f"commit {commit[:12]}"
            raise ModuleSourceError(
                "SCT701",
                f"git module `{source}` is not fetched yet ({named}); `scoot compile` or `scoot plan` "
                "fetches it (the editor reads only what is fetched)",
            )
        where = checkout / found.path if found.path else checkout
        if not where.resolve().is_relative_to(checkout.resolve()):
            raise ModuleSourceError(
                "SCT702", f"the folder of `{source}` leaves its repository; name a folder inside it"
            )
        key = f"{found.url}//{found.path}@{commit}"
        return module_folder(where, key, f"{found.url}//{found.path}", source, str(checkout))

    return load


def _pins(lock: Path) -> dict[str, str]:
    """scoot.lock's module pins, read again only when the file changed (it may be large)."""
    try:
        stat = lock.stat()
    except FileNotFoundError:
        return {}
    return _read_pins(lock, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_pins(lock: Path, mtime_ns: int, size: int) -> dict[str, str]:
    from scoot_runtime.state import read_state_file

    return {name: pin.commit for name, pin in read_state_file(lock).modules.items()}
