"""The application folder: `init` starts one; the runtime commands load it (scoot.toml,
the target, the compiled architecture) and open its runtime.

Exit codes as in the package: 0 ok, 1 an error (diagnostics, a plan that cannot be made, a
failed apply, a refused one), 2 usage; `plan --detailed-exitcode` exits 2 when there are
changes. Errors are one paragraph on stderr saying what to do (`exits_on_error`, with the secrets a
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
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from scoot_app.application import shown_path
from scoot_cli.language import parse_params
from scoot_cli.output import show_diagnostics

if TYPE_CHECKING:
    import asyncio

    from scoot_app.application import Loaded
    from scoot_runtime.applylock import LockWait
    from scoot_runtime.engine import Runtime


class _Redactor:
    """Secret values a command has handed out, kept off every message it prints."""

    def __init__(self) -> None:
        self.functions: list[Callable[[str], str]] = []

    def __call__(self, text: str) -> str:
        for function in self.functions:
            text = function(text)
        return text


redact = _Redactor()


def explain(error: BaseException) -> str:
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


def exits_on_error(function: Callable[P, R]) -> Callable[P, R]:
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
            raise click.ClickException(redact(explain(error))) from None
        finally:
            redact.functions.clear()

    return wrapper


def from_option(function: Callable[P, R]) -> Callable[P, R]:
    """--from: the architecture from its repository (every command that compiles it)."""
    return click.option(
        "--from", "from_repo", metavar="REPO", default=None,
        help="Take the architecture from its repository (a git URL, a folder such as ./shop, owner/name "
        "of the repository driver, or `scheme`: its name by the naming scheme) instead of PATH; scoot.toml "
        "and scoot.lock stay PATH's. Default: scoot.toml's [architecture] from.",
    )(function)


def source_options(function: Callable[P, R]) -> Callable[P, R]:
    """--revision and --from: which revisions of the sources, and of the architecture."""
    function = from_option(function)
    return click.option(
        "--revision", "revisions", multiple=True, metavar="COMPONENT=REV",
        help="Run this branch, tag or commit of a component's source instead of the newest (repeatable).",
    )(function)


class Duration(click.ParamType[float]):
    """`30s`, `5m`, `1h`, `1m30s` or seconds, as seconds."""

    name = "duration"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from scoot_runtime.applylock import parse_duration

        if isinstance(value, float):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


def lock_timeout_option(function: Callable[P, R]) -> Callable[P, R]:
    """--lock-timeout: wait that long for a held apply lock (every command that takes it)."""
    return click.option(
        "--lock-timeout", type=Duration(), default="0", metavar="DURATION", show_default=True,
        help="Wait up to this long (30s, 5m, 1h) for the target's apply lock while another run holds it, "
        "instead of failing at once.",
    )(function)


def say_waiting(wait: LockWait) -> None:
    """Tell, once, that this run waits for the apply lock, and for whom."""
    from scoot_runtime.applylock import format_duration

    who = wait.holder.describe() if wait.holder else "another run"
    lock = f" ({wait.where})" if wait.where else ""
    click.echo(
        f"Target `{wait.target}` is locked{lock} by {who}; waiting up to {format_duration(wait.timeout)} for it.",
        err=True,
    )


def revision_pins(revisions: tuple[str, ...]) -> dict[str, str]:
    """`--revision` options as component → revision; a malformed one is a usage error."""
    from scoot_runtime.errors import ScootError
    from scoot_runtime.sources import parse_pins

    try:
        return parse_pins(revisions)
    except ScootError as error:
        raise click.BadParameter(str(error), param_hint="--revision") from None


@dataclass(frozen=True)
class ParamOptions:
    """--param and --param-file, as given: what a command hands to `load_application`."""

    given: tuple[str, ...] = ()  # --param NAME=VALUE
    file: str | None = None  # --param-file FILE


def application_options(function: Callable[..., R]) -> Callable[..., R]:
    """PATH (the application folder: by default the one the current folder is in, found
    upward), --target, --param and --param-file (the command receives the last two as
    one `params: ParamOptions`)."""

    @functools.wraps(function)
    def wrapper(
        *args: Any, path: str | None, params: tuple[str, ...] = (), param_file: str | None = None, **kwargs: Any
    ) -> R:
        return function(*args, path=folder_argument(path), params=ParamOptions(params, param_file), **kwargs)

    command: Callable[..., R] = click.option(
        "--param", "params", multiple=True, metavar="NAME=VALUE",
        help="Set a param for this command only (repeatable); over scoot.toml and --param-file.",
    )(wrapper)
    command = click.option(
        "--param-file", "param_file", metavar="FILE", default=None, type=click.Path(dir_okay=False),
        help="Read params from a TOML file of NAME = value lines, for this command only; over scoot.toml.",
    )(command)
    command = click.option(
        "--target", "target", metavar="NAME", default=None,
        help="The target to work on (a [targets.NAME] table of scoot.toml). Default: local.",
    )(command)
    return click.argument("path", default=None, required=False, type=click.Path(file_okay=True))(command)


def folder_argument(path: str | None) -> str:
    """A command's PATH: as given, else the application folder the current folder is in
    (`scoot_app.application_folder`), as the user would type it."""
    from scoot_app.application import application_folder

    return path if path is not None else shown_path(application_folder(None))


def where_options(path: str, target: str | None) -> str:
    """What a command suggested next needs after it to work on the same application and
    target from here: ` ../shop --target staging`, or ""."""
    from scoot_app.application import found_by_default
    from scoot_runtime.workspace import DEFAULT_TARGET

    where = "" if found_by_default(path) else f" {shown_path(Path(path))}"
    return where + (f" --target {target}" if target not in (None, DEFAULT_TARGET) else "")


def load_application(
    path: str,
    target: str | None,
    params: ParamOptions,
    from_repo: str | None = None,
    *,
    by_state: str | None = None,
) -> Loaded:
    """`scoot_app.load`, said on the terminal: where `--from` took the architecture,
    its diagnostics; exit 1 when it has errors.

    Commands that can go by scoot.lock alone (destroy, status, refresh) name
    themselves in `by_state`: an architecture with errors, or one whose repository
    cannot be fetched, then leaves the application without one, after saying so,
    instead of stopping them.
    """
    from scoot_app.application import Failed, load

    loaded = load(path, target, parse_params(params.given), from_repo, params.file, offline_ok=by_state is not None)
    if loaded.origin is not None:
        revision = loaded.origin.revision.removeprefix("sha256:")[:12]
        click.echo(
            f"Architecture from {loaded.origin.repository} at revision {revision} ({shown_path(loaded.origin.path)}).",
            err=True,
        )
    result = loaded.compilation
    if result.diagnostics:
        show_diagnostics(result.diagnostics, result.sources, "text")
    if isinstance(loaded, Failed):
        if by_state is None:
            sys.exit(1)
        why = "has errors (above)" if loaded.unfetched is None else f"cannot be fetched: {loaded.unfetched}"
        click.echo(f"The architecture {why}; {by_state} goes by what scoot.lock records.", err=True)
        return loaded.by_state()
    return loaded


def open_runtime_redacted(application: Loaded, revisions: dict[str, str] | None = None, fetch: bool = True) -> Runtime:
    """`scoot_app.open_runtime`, its secrets kept off what the command prints."""
    from scoot_app.application import open_runtime

    runtime = open_runtime(application, revisions, fetch)
    on_runtime_opened(runtime)
    return runtime


def on_runtime_opened(runtime: Runtime) -> None:
    """A runtime is open: redact its secrets; a reader beside an apply is told it sees
    that apply's work half done."""
    from scoot_app.application import applying_elsewhere

    redact.functions.append(runtime.secrets.redact)
    holder = applying_elsewhere(runtime)
    if holder is not None:
        click.echo(
            f"Note: target `{runtime.target.name}` is being applied now ({holder.describe()}); "
            "its operations in flight show as interrupted, and this may change when it ends.",
            err=True,
        )


def close_runtime(runner: asyncio.Runner, runtime: Runtime) -> None:
    """Let the drivers go (plan leaves them open; apply closes them itself)."""
    # Best effort: the command's outcome is already decided.
    with contextlib.suppress(Exception):
        runner.run(runtime.close())


def _prepare_clone(root: Path) -> None:
    """`scoot init` in an application that exists (a clone): what git does not carry."""
    from scoot_runtime import init as starter

    written = starter.prepare_clone(root)
    registered = starter.register_merge_driver(root)
    click.echo(f"{shown_path(root)} is already a Scoot application (scoot.toml); its files are kept.")
    for item in written:
        click.echo(f"  {item.how:<11} {item.path.relative_to(root)}")
    if registered:
        click.echo("  registered  git's merge driver for scoot.lock (`scoot merge-lock`)")
    elif not written:
        click.echo("  nothing to do: it is not in a git repository, and its files have their lines")


@click.command(short_help="Start an application: scoot.toml, architecture.sct, app/.")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--name", help="The application's name. Default: the folder's name.")
@click.option("--force", is_flag=True, help="Overwrite files that exist (a .gitignore or .gitattributes only gets its line).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="The port the starter web server listens on (its `param port`'s default). Default: 8080.",
)
@exits_on_error
def init(directory: str, name: str | None, force: bool, port: int | None) -> None:
    """Start an application in DIRECTORY (default: here): scoot.toml, architecture.sct, a
    small web server in app/, a .gitignore and a .gitattributes; inside a git repository,
    register git's merge driver for scoot.lock. Nothing is overwritten without --force.

    In an application that exists (a clone), only what git does not carry: the merge
    driver, and the lines .gitignore and .gitattributes lack."""
    from scoot_lang import compile_source
    from scoot_model.names import KEYWORDS
    from scoot_runtime import init as starter

    root = Path(directory)
    if (root / "scoot.toml").is_file() and not force:
        _prepare_clone(root)
        return
    chosen = name or root.resolve().name
    problem = starter.name_problem(chosen)
    if problem is None and chosen in KEYWORDS:
        problem = f"`{chosen}` is a keyword of the language"
    files = starter.starter_files(chosen, port or starter.DEFAULT_PORT) if problem is None else {}
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
    click.echo(f"Scoot application `{chosen}` in {shown_path(root)}:")
    for item in written:
        click.echo(f"  {item.how:<11} {item.path.relative_to(root)}")
    if starter.register_merge_driver(root):
        click.echo("  registered  git's merge driver for scoot.lock (`scoot merge-lock`)")
    click.echo("")
    click.echo("Next:")
    if shown_path(root) != ".":
        click.echo(f"  cd {shown_path(root)}")
    click.echo("  scoot plan     # what apply would do")
    click.echo("  scoot apply    # run it, then open the URL it prints")
