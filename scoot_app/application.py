"""Load an application folder and open its runtime: scoot.toml, the target, the params,
`--from`, the compiled architecture; then a plan, or why none can be made.

Errors a user can fix (a missing folder, a `--from` that puts the architecture outside
its repository) are `ApplicationError`s (a `ScootError`); an architecture with errors is
not an error but an outcome, `Failed`, carrying the diagnostics.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scoot_runtime.errors import ScootError

if TYPE_CHECKING:
    from scoot_lang.compiler import Compilation
    from scoot_lang.diagnostics import Diagnostic
    from scoot_lang.modules import ModuleLoader
    from scoot_lang.source import SourceFile
    from scoot_model.objects import Architecture
    from scoot_runtime.applylock import LockHolder
    from scoot_runtime.engine import Runtime
    from scoot_runtime.plan import Plan, PlanError
    from scoot_runtime.repositories.base import Fetched
    from scoot_runtime.workspace import ParamValue, Target, Workspace


class ApplicationError(ScootError):
    """The application folder cannot be used as given; the message says what to do."""


@dataclass(frozen=True)
class Loaded:
    """An application whose architecture compiled (warnings, if any, in `compilation`).

    `compilation.architecture` is None only for one made from a `Failed` by
    `Failed.by_state()`: commands that can go by scoot.lock alone."""

    workspace: Workspace
    target: Target
    compilation: Compilation
    # `--from`: the architecture's repository and the revision of it compiled.
    origin: Fetched | None = None
    # The values given for the architecture's params, and where each was given.
    params: Mapping[str, ParamValue] = dataclasses.field(default_factory=dict)

    @property
    def architecture(self) -> Architecture | None:
        return self.compilation.architecture


@dataclass(frozen=True)
class Failed:
    """An application whose architecture has errors: `compilation.diagnostics` say which."""

    workspace: Workspace
    target: Target
    compilation: Compilation
    origin: Fetched | None = None
    params: Mapping[str, ParamValue] = dataclasses.field(default_factory=dict)
    # Why the architecture could not be fetched (`load(..., offline_ok=True)`): then
    # nothing was compiled, and `compilation` is empty.
    unfetched: str | None = None

    def by_state(self) -> Loaded:
        """The application without an architecture, for what goes by scoot.lock alone
        (destroy, status, refresh): the runtime then knows only what the state records."""
        without = dataclasses.replace(self.compilation, architecture=None)
        return Loaded(self.workspace, self.target, without, self.origin, self.params)


def shown_path(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path)
    return str(relative) if str(relative) != "." else "."


def application_folder(path: str | Path | None) -> Path:
    """The application folder a command works on: `path` when given; else the one the
    current folder is in (`workspace.find_root`: the nearest folder up from here with
    scoot.toml or an `.sct` file), else the current folder, where loading says what is
    missing."""
    from scoot_runtime.workspace import find_root

    if path is not None:
        return Path(path)
    try:
        return find_root(Path.cwd()) or Path(".")
    except OSError:  # the current folder is gone: using "." says so
        return Path(".")


def architecture_path(path: str | None) -> str:
    """A compiler command's PATH (compile, validate, fmt): as given, else the architecture
    of the application the current folder is in (scoot.toml's [architecture] path), as
    the user would type it."""
    from scoot_runtime import workspace

    if path is not None:
        return path
    root = application_folder(None)
    try:
        return shown_path(workspace.load(root).architecture)
    except workspace.SettingsError:  # the folder itself: compiling it says what is there
        return shown_path(root)


def found_by_default(path: str | Path) -> bool:
    """Whether a command run here without a folder would work on `path`'s application."""
    return application_folder(None).resolve() == Path(path).resolve()


def existing_folder(path: str | Path) -> Path:
    """`path` as an application folder, refused when it is not a folder there."""
    root = Path(path)
    if not root.exists():
        raise ApplicationError(
            f"{path} does not exist; give the application folder (where scoot.toml and "
            "architecture.sct are), or run `scoot init` to make one"
        )
    if not root.is_dir():
        raise ApplicationError(
            f"{path} is a file; give the application folder that holds it (`{root.parent}`): "
            "scoot.toml there says where the architecture is"
        )
    return root


def load(
    path: str | Path,
    target: str | None = None,
    params: Mapping[str, str] | None = None,
    from_repo: str | None = None,
    param_file: str | Path | None = None,
    *,
    offline_ok: bool = False,
    modules: Callable[[Workspace, Target], ModuleLoader] | None = None,
) -> Loaded | Failed:
    """Read scoot.toml, pick the target, compile the architecture with the params'
    values (`given_params`: `params` over `param_file` over scoot.toml).

    With `from_repo` (`--from`, else scoot.toml's [architecture] `from`), the architecture
    comes from its repository, fetched under `.scoots/repos/`; scoot.toml, scoot.lock and
    `.scoots/` stay PATH's. `offline_ok`: for what can go by scoot.lock alone (destroy,
    status, refresh), a repository that cannot be fetched is a `Failed` saying why,
    not an error. `modules` makes the loader of git module sources (`scoot_app.modules`).
    """
    from scoot_app import compile_cache
    from scoot_app.modules import git_modules
    from scoot_lang.compilation import Compilation
    from scoot_runtime import workspace

    loaded = workspace.load(existing_folder(path))
    chosen = loaded.target(target)
    origin = None
    given = given_params(loaded, chosen, param_file, params)
    try:
        if from_repo is not None:
            loaded, origin = _fetch_architecture(loaded, chosen, from_repo, f"--from {from_repo}")
        elif loaded.architecture_from is not None:
            said = f"{loaded.root / workspace.SETTINGS_FILE}: [architecture] `from` = \"{loaded.architecture_from}\""
            loaded, origin = _fetch_architecture(loaded, chosen, loaded.architecture_from, said)
    except ScootError as error:
        if not offline_ok:
            raise
        return Failed(loaded, chosen, Compilation(None, []), None, given, unfetched=str(error))
    shown = shown_path(loaded.architecture)
    values = {name: given.value for name, given in given.items()}
    origins = {name: given.source for name, given in given.items()}

    def compiled() -> Compilation:
        from scoot_lang import compile_path

        return compile_path(shown, values, origins=origins, git=(modules or git_modules)(loaded, chosen))

    unit = compile_cache.read_unit(shown, values, origins)
    result = None if unit is None else compile_cache.cached(loaded.state_dir, unit, compiled)
    if result is None:
        result = compiled()
        if unit is not None:
            compile_cache.store(loaded.state_dir, unit, result)
        # The syntax trees and the editor's symbols are the language server's (which compiles
        # for itself): let them go, some 8 MiB at 10,000 objects, before the runtime opens.
        result = dataclasses.replace(result, files=[], semantic=dataclasses.replace(result.semantic, symbols={}, references=[]))
    if not result.ok or result.architecture is None:
        return Failed(loaded, chosen, result, origin, given)
    return Loaded(loaded, chosen, result, origin, given)


def given_params(
    loaded: Workspace, target: Target, param_file: str | Path | None, params: Mapping[str, str] | None
) -> dict[str, ParamValue]:
    """The values for the architecture's params, each with where it was given, the
    later over the earlier: scoot.toml's [params], its [targets.NAME.params],
    `--param-file`, `--param`. Whether the architecture declares them is the
    compiler's to say (SCT504), as for any value."""
    from scoot_lang.compilation import PARAM_OPTION
    from scoot_runtime.workspace import PARAM_FILE_OPTION, ParamValue, read_param_file

    values = loaded.params_for(target)
    if param_file is not None:
        shown = shown_path(Path(param_file))
        source = f"{PARAM_FILE_OPTION} {shown}"
        values.update({k: ParamValue(v, source, False) for k, v in read_param_file(Path(param_file), shown).items()})
    values.update({k: ParamValue(v, PARAM_OPTION, False) for k, v in (params or {}).items()})
    return values


def _fetch_architecture(loaded: Workspace, chosen: Target, from_repo: str, said: str) -> tuple[Workspace, Fetched]:
    """The workspace with its architecture taken from `from_repo`, and what was fetched.

    The fetched repository's own scoot.toml, if any, says only where the
    architecture is in it (`[architecture] path`); every other setting is the
    application folder's.
    """
    from scoot_runtime import workspace
    from scoot_runtime.sources import fetch_architecture

    fetched = fetch_architecture(loaded, chosen, from_repo, said=said)
    inside = workspace.load(fetched.path).architecture
    if not inside.is_relative_to(fetched.path.resolve()):
        raise ApplicationError(f"{said}: its scoot.toml puts the architecture outside the repository ({inside})")
    return dataclasses.replace(loaded, architecture=inside), fetched


def diagnostics_text(diagnostics: list[Diagnostic], sources: dict[str, SourceFile], color: bool = False) -> str:
    """Diagnostics as the CLI shows them: each with its lines, then how many errors."""
    from scoot_lang.diagnostics import locate, render

    parts = [render(locate(d, sources), sources, color) for d in diagnostics]
    errors = sum(1 for d in diagnostics if d.severity.value == "error")
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    return "\n".join(parts)


def open_runtime(application: Loaded, revisions: Mapping[str, str] | None = None, fetch: bool = True) -> Runtime:
    """The runtime of the application's target; `fetch` the components' sources (at `revisions`).

    Every secret the architecture or the state names is hidden from what the runtime
    hands out, not only those a command resolves: `scoot logs` prints what processes
    wrote, and hands out none itself."""
    from scoot_runtime.engine import Runtime
    from scoot_runtime.plan import secret_names_in

    runtime = Runtime.open(
        application.workspace,
        application.compilation.architecture,
        application.target.name,
        revisions=dict(revisions) if revisions is not None else None,
        fetch=fetch,
    )
    configs = [d.config for d in runtime.desired.values()]
    configs += [o.config for o in runtime.store.state.objects.values()]
    runtime.secrets.hide(sorted(secret_names_in(configs)))
    return runtime


def applying_elsewhere(runtime: Runtime) -> LockHolder | None:
    """Another process applying the runtime's target now, if one is: a reader (plan,
    status...) running beside it sees its work half done."""
    from scoot_runtime.applylock import running_holder

    holder = running_holder(runtime.workspace.state_dir, runtime.target.name)
    return holder if holder is not None and holder.pid != os.getpid() else None


@dataclass(frozen=True)
class PlanFailed:
    """A plan that cannot be made: every problem, with its object and key."""

    error: PlanError


async def make_plan(
    runtime: Runtime,
    *,
    destroy: bool = False,
    refresh: bool = True,
    parallelism: int | None = None,
    only: Sequence[str] = (),
    replace: Sequence[str] = (),
) -> Plan | PlanFailed:
    """The runtime's plan (narrowed to `only`, with `replace` replaced), or the problems
    that keep it from being made."""
    from scoot_runtime.engine import DEFAULT_PARALLELISM
    from scoot_runtime.plan import PlanError

    try:
        return await runtime.plan(
            destroy=destroy,
            refresh=refresh,
            parallelism=parallelism or DEFAULT_PARALLELISM,
            only=only,
            replace=replace,
        )
    except PlanError as error:
        return PlanFailed(error)


@dataclass(frozen=True)
class Planned:
    """`plan()`'s answer: the runtime the plan was made with (closed), and the plan or
    why none can be made."""

    runtime: Runtime
    plan: Plan | PlanFailed


def plan(
    application: Loaded,
    *,
    revisions: Mapping[str, str] | None = None,
    fetch: bool = True,
    destroy: bool = False,
    refresh: bool = True,
    only: Sequence[str] = (),
    replace: Sequence[str] = (),
    on_opened: Callable[[Runtime], None] = lambda runtime: None,
) -> Planned:
    """Open the runtime, make a plan, let the drivers go: what `scoot plan` and the
    editor's plan lens show. `on_opened` is told the runtime as soon as it is open."""
    import asyncio
    import contextlib

    runtime = open_runtime(application, revisions, fetch)
    on_opened(runtime)

    async def run() -> Plan | PlanFailed:
        try:
            return await make_plan(runtime, destroy=destroy, refresh=refresh, only=only, replace=replace)
        finally:
            # Best effort: the answer is already decided.
            with contextlib.suppress(Exception):
                await runtime.close()

    return Planned(runtime, asyncio.run(run()))


def with_compilation(root: Path, compilation: Compilation, target: str | None = None) -> Loaded:
    """The application folder `root` with an architecture compiled elsewhere (the
    editor's buffers, which may not be saved)."""
    from scoot_runtime import workspace

    loaded = workspace.load(root)
    return Loaded(loaded, loaded.target(target), compilation)


def recorded_revisions(application: Loaded) -> dict[str, str]:
    """The revision `scoot.lock` records for each component whose source is not a folder
    here: pinned to them, a plan asks no network (a new commit shows in `scoot plan`)."""
    from scoot_runtime.sources import Sources, computing
    from scoot_runtime.state import StateStore

    architecture = application.architecture
    if architecture is None:
        return {}
    target = application.target
    with Sources(application.workspace, target, architecture) as sources:
        running = set(computing(architecture))
        elsewhere = {name for name, located in sources.located.items() if located.driver != "path" and name in running}
    state = StateStore(application.workspace.root, target.name, target.cloud).load()
    return {
        address.split(".", 1)[0]: obj.revision
        for address, obj in state.objects.items()
        if obj.revision and address.split(".", 1)[0] in elsewhere
    }
