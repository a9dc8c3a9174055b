"""The application folder: `init` starts one; the runtime commands load it (scoot.toml,
the target, the compiled architecture) and open its runtime.

Exit codes as in the package: 0 ok, 1 an error (diagnostics, a plan that cannot be made, a
failed apply, a refused one), 2 usage; `plan --detailed-exitcode` exits 2 when there are
changes. Errors are one paragraph on stderr saying what to do (`_errors`, with the secrets a
command handed out redacted); a traceback only with SCOOT_DEBUG=1.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import click

from scoot_runtime.cli.language import _parse_params
from scoot_runtime.cli.output import _show_diagnostics, _shown_path

if TYPE_CHECKING:
    import asyncio

    from scoot_lang.compiler import Compilation
    from scoot_runtime.engine import Runtime
    from scoot_runtime.repositories.base import Fetched
    from scoot_runtime.workspace import Target, Workspace


class _Redactor:
    """Secret values a command has handed out, kept off every message it prints."""

    def __init__(self) -> None:
        self.functions: list[Callable[[str], str]] = []

    def __call__(self, text: str) -> str:
        for function in self.functions:
            text = function(text)
        return text


_redact = _Redactor()


def _explain(error: BaseException) -> str:
    from scoot_runtime.errors import ScootError

    if isinstance(error, ScootError):
        return str(error)
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return f"cannot use{where}: {error.strerror or error}"
    return (
        f"internal error ({type(error).__name__}: {error}). This is a bug in scoot: please report it "
        "with the command you ran. Set SCOOT_DEBUG=1 to see where it happened."
    )


P = ParamSpec("P")
R = TypeVar("R")


def _errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn every error into a one-paragraph message and exit 1 (no traceback)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo(
                "\nInterrupted. What was done is recorded; run the command again to carry on.", err=True
            )
            sys.exit(1)
        except Exception as error:
            if os.environ.get("SCOOT_DEBUG"):
                raise
            raise click.ClickException(_redact(_explain(error))) from None
        finally:
            _redact.functions.clear()

    return wrapper


def _from_option(function: Callable[P, R]) -> Callable[P, R]:
    """--from: the architecture from its repository (every command that compiles it)."""
    return click.option(
        "--from", "from_repo", metavar="REPO", default=None,
        help="Take the architecture from its repository (a git URL, a folder such as ./shop, or owner/name "
        "of the repository driver) instead of PATH; scoot.toml and scoot.lock stay PATH's.",
    )(function)


def _source_options(function: Callable[P, R]) -> Callable[P, R]:
    """--revision and --from: which revisions of the sources, and of the architecture."""
    function = _from_option(function)
    return click.option(
        "--revision", "revisions", multiple=True, metavar="COMPONENT=REV",
        help="Run this branch, tag or commit of a component's source instead of the newest (repeatable).",
    )(function)


def _pins(revisions: tuple[str, ...]) -> dict[str, str]:
    """`--revision` options as component → revision; a malformed one is a usage error."""
    from scoot_runtime.errors import ScootError
    from scoot_runtime.sources import parse_pins

    try:
        return parse_pins(revisions)
    except ScootError as error:
        raise click.BadParameter(str(error), param_hint="--revision") from None


def _application_options(function: Callable[P, R]) -> Callable[P, R]:
    """PATH (the application folder), --target and --param."""
    function = click.option(
        "--param", "params", multiple=True, metavar="NAME=VALUE",
        help="Set a param (repeatable); overrides scoot.toml's [params].",
    )(function)
    function = click.option(
        "--target", "target", metavar="NAME", default=None,
        help="The target to work on (a [targets.NAME] table of scoot.toml). Default: local.",
    )(function)
    return click.argument("path", default=".", type=click.Path(file_okay=True))(function)


@dataclass
class _Application:
    workspace: Workspace
    target: Target
    compilation: Compilation
    # `--from`: the architecture's repository and the revision of it compiled.
    origin: Fetched | None = None


def _load_application(
    path: str,
    target: str | None,
    params: tuple[str, ...],
    from_repo: str | None = None,
    *,
    by_state: str | None = None,
) -> _Application:
    """Read scoot.toml, pick the target, compile the architecture; exit 1 on diagnostics.

    With `from_repo` (`--from`), the architecture comes from its repository, fetched
    under `.scoots/repos/`; scoot.toml, scoot.lock and `.scoots/` stay PATH's.
    Commands that can go by scoot.lock alone (destroy, status, refresh) name
    themselves in `by_state`: an architecture with errors then leaves the
    application without one, after saying so, instead of stopping them.
    """
    from scoot_lang import compile_path
    from scoot_runtime import workspace

    root = Path(path)
    if not root.exists():
        raise click.ClickException(
            f"{path} does not exist; give the application folder (where scoot.toml and "
            "architecture.sct are), or run `scoot init` to make one"
        )
    if not root.is_dir():
        raise click.ClickException(
            f"{path} is a file; give the application folder that holds it (`{root.parent}`): "
            "scoot.toml there says where the architecture is"
        )
    loaded = workspace.load(root)
    chosen = loaded.target(target)
    origin = None
    if from_repo is not None:
        loaded, origin = _fetch_architecture(loaded, chosen, from_repo)
    merged = {**loaded.params, **_parse_params(params)}
    result = compile_path(_shown_path(loaded.architecture), merged)
    if result.diagnostics:
        _show_diagnostics(result.diagnostics, result.sources, "text")
    if not result.ok or result.architecture is None:
        if by_state is None:
            sys.exit(1)
        click.echo(f"The architecture has errors (above); {by_state} goes by what scoot.lock records.", err=True)
    return _Application(loaded, chosen, result, origin)


def _fetch_architecture(loaded: Workspace, chosen: Target, from_repo: str) -> tuple[Workspace, Fetched]:
    """The workspace with its architecture taken from `from_repo`, and what was fetched.

    The fetched repository's own scoot.toml, if any, says only where the
    architecture is in it (`[architecture] path`); every other setting is the
    application folder's.
    """
    import dataclasses

    from scoot_runtime import workspace
    from scoot_runtime.sources import fetch_architecture

    fetched = fetch_architecture(loaded, chosen, from_repo)
    inside = workspace.load(fetched.path).architecture
    if not inside.is_relative_to(fetched.path.resolve()):
        raise click.ClickException(
            f"--from {from_repo}: its scoot.toml puts the architecture outside the repository ({inside})"
        )
    revision = fetched.revision.removeprefix("sha256:")[:12]
    click.echo(f"Architecture from {from_repo} at revision {revision} ({_shown_path(fetched.path)}).", err=True)
    return dataclasses.replace(loaded, architecture=inside), fetched


def _open_runtime(
    application: _Application, revisions: dict[str, str] | None = None, fetch: bool = True
) -> Runtime:
    """The runtime of the application's target; `fetch` the components' sources (at `revisions`)."""
    from scoot_runtime.engine import Runtime
    from scoot_runtime.plan import secret_names

    runtime = Runtime.open(
        application.workspace,
        application.compilation.architecture,
        application.target.name,
        revisions=revisions,
        fetch=fetch,
    )
    _redact.functions.append(runtime.secrets.redact)
    # Every secret the architecture or the state names, not only those this command
    # resolves: `scoot logs` prints what processes wrote, and hands out none itself.
    configs = [d.config for d in runtime.desired.values()]
    configs += [o.config for o in runtime.store.state.objects.values()]
    runtime.secrets.hide(sorted(set().union(*map(secret_names, configs))))
    _warn_if_applying(runtime)
    return runtime


def _warn_if_applying(runtime: Runtime) -> None:
    """A reader (plan, status...) running beside an apply sees its work half done: say so."""
    from scoot_runtime.applylock import running_holder

    holder = running_holder(runtime.workspace.state_dir, runtime.target.name)
    if holder is not None and holder.pid != os.getpid():
        click.echo(
            f"Note: target `{runtime.target.name}` is being applied now ({holder.describe()}); "
            "its operations in flight show as interrupted, and this may change when it ends.",
            err=True,
        )


def _close(runner: asyncio.Runner, runtime: Runtime) -> None:
    """Let the drivers go (plan leaves them open; apply closes them itself)."""
    # Best effort: the command's outcome is already decided.
    with contextlib.suppress(Exception):
        runner.run(runtime.close())


@click.command(short_help="Start an application: scoot.toml, architecture.sct, app/.")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--name", help="The application's name. Default: the folder's name.")
@click.option("--force", is_flag=True, help="Overwrite files that exist (a .gitignore only gets the .scoots/ line).")
@_errors
def init(directory: str, name: str | None, force: bool) -> None:
    """Start an application in DIRECTORY (default: here): scoot.toml, architecture.sct, a
    small web server in app/ and a .gitignore. Nothing is overwritten without --force."""
    from scoot_lang import compile_source
    from scoot_model.names import KEYWORDS
    from scoot_runtime import init as starter

    root = Path(directory)
    chosen = name or root.resolve().name
    problem = starter.name_problem(chosen)
    if problem is None and chosen in KEYWORDS:
        problem = f"`{chosen}` is a keyword of the language"
    files = starter.starter_files(chosen) if problem is None else {}
    if problem is None:
        checked = compile_source(files["architecture.sct"], "architecture.sct")
        if checked.errors:
            problem = checked.errors[0].message
    if problem is not None:
        how = "give another name with `--name`" if name else "rename the folder, or give a name with `--name`"
        suggestion = starter.suggest(chosen)
        if suggestion == chosen or suggestion in KEYWORDS:
            suggestion = f"{suggestion}-app"
        raise click.ClickException(
            f"`{chosen}` cannot be the application's name ({problem}). Nothing was written: {how}, "
            f"for example `scoot init {directory} --name {suggestion}`"
        )
    root.mkdir(parents=True, exist_ok=True)
    written = starter.write(root, files, force)
    click.echo(f"Scoot application `{chosen}` in {_shown_path(root)}:")
    for item in written:
        click.echo(f"  {item.how:<11} {item.path.relative_to(root)}")
    click.echo("")
    click.echo("Next:")
    if _shown_path(root) != ".":
        click.echo(f"  cd {_shown_path(root)}")
    click.echo("  scoot plan     # what apply would do")
    click.echo("  scoot apply    # run it, then open the URL it prints")
