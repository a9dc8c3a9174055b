"""The `scoot` command line. With the language server, the one place that ties the
compiler (`scoot_lang`) to the runtime.

Exit codes: 0 ok, 1 an error (diagnostics, changes found by `fmt --check`, a plan that
cannot be made, a failed or refused apply), 2 usage (and `plan --detailed-exitcode`: changes).
Heavy modules are imported inside the commands so that start-up stays quick.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import click

if TYPE_CHECKING:
    import asyncio

    from scoot_lang.compiler import Compilation
    from scoot_lang.diagnostics import Diagnostic
    from scoot_runtime.engine import Runtime
    from scoot_runtime.plan import Plan, PlanError
    from scoot_runtime.render import PlanView
    from scoot_runtime.workspace import Target, Workspace

OUTPUT_FORMATS = click.Choice(["text", "json"])


def _parse_params(values: Iterable[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        params[name] = value
    return params


def _show_diagnostics(
    diagnostics: list[Diagnostic], sources: dict[str, Any], output: str, to_stdout: bool = False
) -> None:
    """Print diagnostics on stderr (JSON on stdout where it is the command's whole output)."""
    from scoot_lang.diagnostics import locate, render

    located = [locate(d, sources) for d in diagnostics]
    if output == "json":
        report = {"diagnostics": [item.to_dict() for item in located]}
        click.echo(json.dumps(report, indent=2, ensure_ascii=False), err=not to_stdout)
        return
    color = sys.stderr.isatty()
    for item in located:
        click.echo(render(item, sources, color), err=True)
    errors = sum(1 for d in diagnostics if d.severity.value == "error")
    if errors:
        click.echo(f"{errors} error{'s' if errors != 1 else ''}", err=True)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _write(path: str, text: str) -> None:
    from scoot_runtime.files import write_atomic

    try:
        write_atomic(path, text)
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from None


def _compile(path: str, params: dict[str, str], output: str, report: bool = False) -> Compilation:
    """Compile and show the diagnostics (a JSON report always, on stdout where it is the
    command's output: `validate`)."""
    from scoot_lang import compile_path

    result = compile_path(path, params)
    if result.diagnostics or output == "json":
        _show_diagnostics(result.diagnostics, result.sources, output, to_stdout=report)
    return result


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scoot")
def cli() -> None:
    """Scoot: architecture as code. Describe an application in architecture.sct,
    compile it, and converge what runs."""


@cli.command()
@click.argument("path", default=".", type=click.Path())
@click.option("-o", "--output-file", "out", type=click.Path(dir_okay=False), help="Write the JSON here instead of printing it.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Set a param (repeatable).")
@click.option("--format", "output", type=OUTPUT_FORMATS, default="text", show_default=True, help="How to print diagnostics.")
def compile(path: str, out: str | None, params: tuple[str, ...], output: str) -> None:
    """Compile PATH (an .sct file, a folder of them, or a JSON file) to the JSON form."""
    result = _compile(path, _parse_params(params), output)
    if not result.ok or result.architecture is None:
        sys.exit(1)
    text = result.architecture.to_json()
    if out is None or out == "-":
        click.echo(text, nl=False)
    else:
        _write(out, text)


@cli.command()
@click.argument("path", default=".", type=click.Path())
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Set a param (repeatable).")
@click.option("--format", "output", type=OUTPUT_FORMATS, default="text", show_default=True, help="How to print diagnostics.")
def validate(path: str, params: tuple[str, ...], output: str) -> None:
    """Check PATH and report every problem, without writing anything."""
    result = _compile(path, _parse_params(params), output, report=True)
    if not result.ok or result.architecture is None:
        sys.exit(1)
    if output == "text":
        components = result.architecture.components
        objects = sum(len(c.objects) for c in components.values())
        click.echo(f"{path}: ok ({_count(len(components), 'component')}, {_count(objects, 'object')})")


@cli.command()
@click.argument("path", default=".", type=click.Path(exists=True))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a file is not formatted.")
@click.option("--diff", is_flag=True, help="Change nothing; print what formatting would change.")
@click.option("--format", "output", type=OUTPUT_FORMATS, default="text", show_default=True, help="How to print diagnostics.")
def fmt(path: str, check: bool, diff: bool, output: str) -> None:
    """Format .sct files in the canonical style (a file, or a folder's .sct files)."""
    from scoot_lang.compiler import SCT_SUFFIX
    from scoot_lang.diagnostics import diagnostic
    from scoot_lang.format import format_text
    from scoot_lang.source import SourceFile
    from scoot_runtime.files import write_atomic

    root = Path(path)
    files = sorted(p for p in root.iterdir() if p.suffix == SCT_SUFFIX) if root.is_dir() else [root]
    unformatted = False
    failed = False
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.reason if isinstance(error, UnicodeDecodeError) else error.strerror
            _show_diagnostics(
                [diagnostic("SCT005", f"cannot read `{file}` as UTF-8 text: {reason}", None)], {}, output
            )
            failed = True
            continue
        formatted, diagnostics = format_text(text, str(file))
        if formatted is None:
            _show_diagnostics(diagnostics, {str(file): SourceFile(str(file), text)}, output)
            failed = True
            continue
        if formatted == text:
            continue
        unformatted = True
        if diff:
            click.echo(
                "".join(
                    difflib.unified_diff(
                        text.splitlines(keepends=True),
                        formatted.splitlines(keepends=True),
                        str(file) if file.is_absolute() else f"a/{file}",
                        str(file) if file.is_absolute() else f"b/{file}",
                    )
                ),
                nl=False,
            )
        elif check:
            click.echo(str(file))
        else:
            write_atomic(file, formatted)
            click.echo(str(file))
    if failed or (unformatted and check):
        sys.exit(1)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output-file", "out", type=click.Path(dir_okay=False), help="Write the .sct here instead of printing it.")
def decompile(file: str, out: str | None) -> None:
    """Turn the JSON form back into .sct text."""
    from scoot_lang.decompile import decompile as to_sct

    result = _compile(file, {}, "text")
    if not result.ok or result.architecture is None:
        sys.exit(1)
    text = to_sct(result.architecture)
    if out is None or out == "-":
        click.echo(text, nl=False)
    else:
        _write(out, text)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the JSON form."""
    from scoot_runtime.objects import dumps
    from scoot_runtime.schema import architecture_schema

    click.echo(dumps(architecture_schema()), nl=False)


# -- The runtime: init, plan, apply, destroy, refresh, status, logs, graph, force-unlock ------
#
# Exit codes as above: 0 ok, 1 an error (diagnostics, a plan that cannot be made, a failed
# apply, a refused one), 2 usage; `plan --detailed-exitcode` exits 2 when there are changes.
# Errors are one paragraph on stderr saying what to do; a traceback only with SCOOT_DEBUG=1.


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


def _shown_path(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path)
    return str(relative) if str(relative) != "." else "."


def _load_application(path: str, target: str | None, params: tuple[str, ...]) -> _Application:
    """Read scoot.toml, pick the target, compile the architecture; exit 1 on diagnostics."""
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
    merged = {**loaded.params, **_parse_params(params)}
    result = compile_path(_shown_path(loaded.architecture), merged)
    if result.diagnostics:
        _show_diagnostics(result.diagnostics, result.sources, "text")
    if not result.ok or result.architecture is None:
        sys.exit(1)
    return _Application(loaded, chosen, result)


def _open_runtime(application: _Application) -> Runtime:
    from scoot_runtime.engine import Runtime

    runtime = Runtime.open(application.workspace, application.compilation.architecture, application.target.name)
    _redact.functions.append(runtime.secrets.redact)
    return runtime


def _plan_view(runtime: Runtime, compilation: Compilation, delete_data: bool = False) -> PlanView:
    from scoot_runtime.render import Locator, PlanView

    return PlanView(
        locator=Locator(compilation.source_map, compilation.sources),
        wanted={address: desired.config for address, desired in runtime.desired.items()},
        recorded=dict(runtime.store.state.objects),
        revisions={address: desired.revision for address, desired in runtime.desired.items()},
        delete_data=delete_data,
    )


def _plan_failed(error: PlanError, compilation: Compilation, as_json: bool) -> NoReturn:
    """Print every problem of a plan that cannot be made, with its object and line; exit 1."""
    from scoot_runtime.render import Locator

    locator = Locator(compilation.source_map, compilation.sources)
    problems = []
    for problem in error.problems:
        where = None
        if "." in problem.address:
            where = locator.key(problem.address, problem.key) if problem.key else locator.object(problem.address)
        problems.append((problem, where))
    if as_json:
        report = [
            {
                "address": p.address,
                "key": p.key,
                "message": _redact(p.message),
                "location": where.to_dict() if where else None,
            }
            for p, where in problems
        ]
        click.echo(json.dumps({"problems": report}, indent=2, ensure_ascii=False))
    count = len(problems)
    click.echo(f"Error: the plan cannot be made ({_count(count, 'problem')}); nothing was touched:", err=True)
    for problem, where in problems:
        subject = problem.address + (f" ({problem.key})" if problem.key else "")
        at = f" [{where}]" if where else ""
        click.echo(f"  {subject}{at}: {_redact(problem.message)}", err=True)
    sys.exit(1)


def _make_plan(
    runner: asyncio.Runner,
    runtime: Runtime,
    compilation: Compilation,
    *,
    destroy: bool = False,
    refresh: bool = True,
    parallelism: int | None = None,
    as_json: bool = False,
) -> Plan:
    from scoot_runtime.engine import DEFAULT_PARALLELISM
    from scoot_runtime.plan import PlanError

    try:
        return runner.run(
            runtime.plan(destroy=destroy, refresh=refresh, parallelism=parallelism or DEFAULT_PARALLELISM)
        )
    except PlanError as error:
        _plan_failed(error, compilation, as_json)


def _close(runner: asyncio.Runner, runtime: Runtime) -> None:
    """Let the driver go (plan leaves it open; apply closes it itself)."""
    # Best effort: the command's outcome is already decided.
    with contextlib.suppress(Exception):
        runner.run(runtime.driver.close())


def _color() -> bool:
    return sys.stdout.isatty()


@cli.command(short_help="Start an application: scoot.toml, architecture.sct, app/.")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--name", help="The application's name. Default: the folder's name.")
@click.option("--force", is_flag=True, help="Overwrite files that exist (a .gitignore only gets the .scoots/ line).")
@_errors
def init(directory: str, name: str | None, force: bool) -> None:
    """Start an application in DIRECTORY (default: here): scoot.toml, architecture.sct, a
    small web server in app/ and a .gitignore. Nothing is overwritten without --force."""
    from scoot_lang import compile_source
    from scoot_lang.parser import KEYWORDS
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


@cli.command(short_help="Show what apply would change, and the .sct line why.")
@_application_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when there is nothing to change, 2 when there is, 1 on error."
)
@click.option("--destroy", is_flag=True, help="Plan the destruction of every recorded object.")
@click.option("--refresh/--no-refresh", default=True, show_default=True, help="Read what the driver observes first.")
@click.option("--delete-data", is_flag=True, help="Plan as `destroy --delete-data` would (storage data deleted).")
@_errors
def plan(
    path: str,
    target: str | None,
    params: tuple[str, ...],
    as_json: bool,
    detailed_exitcode: bool,
    destroy: bool,
    refresh: bool,
    delete_data: bool,
) -> None:
    """Show what `apply` would change, object by object, and the .sct line behind each change."""
    import asyncio

    from scoot_runtime.render import plan_json, render_plan

    application = _load_application(path, target, params)
    runtime = _open_runtime(application)
    with asyncio.Runner() as runner:
        try:
            made = _make_plan(
                runner, runtime, application.compilation, destroy=destroy, refresh=refresh, as_json=as_json
            )
        finally:
            _close(runner, runtime)
    view = _plan_view(runtime, application.compilation, delete_data)
    if as_json:
        click.echo(json.dumps(plan_json(made, view), indent=2, ensure_ascii=False))
    else:
        click.echo(render_plan(made, view, _color()), color=_color())
    if detailed_exitcode and made.has_changes:
        sys.exit(2)


def _converge(
    path: str,
    target: str | None,
    params: tuple[str, ...],
    *,
    destroy: bool,
    yes: bool,
    parallelism: int | None,
    delete_data: bool,
    refresh: bool,
) -> None:
    """apply and destroy: lock, plan, show, confirm, apply while printing events, report."""
    import asyncio

    from scoot_runtime.applylock import ApplyLock, LockHeld
    from scoot_runtime.engine import DEFAULT_PARALLELISM
    from scoot_runtime.render import (
        apply_summary,
        event_line,
        failure_lines,
        output_lines,
        render_plan,
    )

    application = _load_application(path, target, params)
    lock = ApplyLock(application.workspace.state_dir, application.target.name)
    try:
        lock.acquire()
    except LockHeld as error:
        raise click.ClickException(str(error)) from None
    try:
        if lock.stale_holder is not None:
            click.echo(f"The previous holder ({lock.stale_holder.describe()}) is gone; taking over.", err=True)
        runtime = _open_runtime(application)
        color = _color()
        with asyncio.Runner() as runner:
            applying = False
            try:
                if runtime.store.recovered:
                    click.echo("An interrupted run was found; what it did is taken into account.", err=True)
                made = _make_plan(
                    runner, runtime, application.compilation, destroy=destroy, refresh=refresh,
                    parallelism=parallelism,
                )
                view = _plan_view(runtime, application.compilation, delete_data)
                if destroy and not runtime.store.state.objects and not made.has_changes:
                    click.echo(f"Nothing to destroy: target `{made.target}` has no recorded objects.")
                    return
                click.echo(render_plan(made, view, color), color=color)
                if not made.has_changes:
                    click.echo("Nothing to do.")
                    return
                verb = "Destroy" if destroy else "Apply"
                if not yes:
                    if not sys.stdin.isatty():
                        raise click.ClickException(
                            f"not {'destroying' if destroy else 'applying'}: there is no terminal to ask for "
                            f"confirmation. Pass --yes to {verb.lower()} these changes without asking"
                        )
                    if not click.confirm(f"\n{verb} these changes?", default=False):
                        click.echo(f"{verb} cancelled; nothing was changed.")
                        sys.exit(1)
                kept = {
                    address: state.outputs.get("path") or state.outputs.get("url")
                    for address, state in runtime.store.state.objects.items()
                    if state.kind == "storage"
                }
                click.echo("")
                started = time.monotonic()
                applying = True
                result = runner.run(
                    runtime.apply(
                        made,
                        parallelism=parallelism or DEFAULT_PARALLELISM,
                        delete_data=delete_data,
                        on_event=lambda event: click.echo(event_line(event, color), color=color),
                    )
                )
            finally:
                if not applying:
                    _close(runner, runtime)
        seconds = time.monotonic() - started
        click.echo("")
        click.echo(apply_summary(result, seconds, destroy))
        deleted_storage = [
            a for a in result.done
            if a in kept and any(c.address == a and c.action.value in ("delete", "replace") for c in made.changes)
        ]
        if deleted_storage and not delete_data:
            click.echo("Storage data was kept (pass --delete-data to delete it):")
            for address in sorted(deleted_storage):
                click.echo(f"  {address}  {kept[address] or ''}".rstrip())
        elif deleted_storage:
            click.echo(f"Storage data deleted: {', '.join(sorted(deleted_storage))}.")
        outputs = output_lines(runtime.store.state.objects) if not destroy else []
        if outputs:
            click.echo("")
            click.echo("Outputs:")
            for line in outputs:
                click.echo(line)
        if not result.ok:
            click.echo("", err=True)
            click.echo(f"Error: {_count(len(result.failed), 'object')} failed:", err=True)
            for line in failure_lines(result):
                click.echo(line, err=True)
            sys.exit(1)
    finally:
        lock.release()


@cli.command(short_help="Make what runs match the architecture.")
@_application_options
@click.option("-y", "--yes", is_flag=True, help="Apply without asking.")
@click.option("--parallelism", type=click.IntRange(1, 10_000), default=None, help="At most this many operations at once (default 64).")
@click.option("--delete-data", is_flag=True, help="When storage is replaced or deleted, delete its data too.")
@click.option("--refresh/--no-refresh", default=True, show_default=True, help="Read what the driver observes first.")
@_errors
def apply(
    path: str,
    target: str | None,
    params: tuple[str, ...],
    yes: bool,
    parallelism: int | None,
    delete_data: bool,
    refresh: bool,
) -> None:
    """Make what runs match the architecture: plan, confirm, converge."""
    _converge(
        path, target, params, destroy=False, yes=yes, parallelism=parallelism, delete_data=delete_data,
        refresh=refresh,
    )


@cli.command(short_help="Remove every object of the target (data is kept).")
@_application_options
@click.option("-y", "--yes", is_flag=True, help="Destroy without asking.")
@click.option("--parallelism", type=click.IntRange(1, 10_000), default=None, help="At most this many operations at once (default 64).")
@click.option("--delete-data", is_flag=True, help="Delete storage data too (it is kept otherwise).")
@_errors
def destroy(
    path: str,
    target: str | None,
    params: tuple[str, ...],
    yes: bool,
    parallelism: int | None,
    delete_data: bool,
) -> None:
    """Remove every object recorded for the target. Storage data is kept unless --delete-data."""
    _converge(
        path, target, params, destroy=True, yes=yes, parallelism=parallelism, delete_data=delete_data,
        refresh=True,
    )


async def _read_recorded(runtime: Runtime, addresses: list[str]) -> dict[str, Any]:
    """Read each recorded object through the driver: an Observed, None (gone), or an error's text."""
    import asyncio

    from scoot_runtime.plan import recorded, recorded_spec

    objects = runtime.store.state.objects
    limit = asyncio.Semaphore(runtime.driver.parallelism or 64)
    found: dict[str, Any] = {}

    async def read(address: str) -> None:
        async with limit:
            try:
                found[address] = await runtime.driver.read(
                    recorded_spec(address, objects[address]), recorded(objects[address])
                )
            except Exception as error:
                found[address] = _redact(str(error) or type(error).__name__)

    await asyncio.gather(*(read(address) for address in addresses))
    return found


@cli.command(short_help="Record what the driver observes of each object.")
@_application_options
@_errors
def refresh(path: str, target: str | None, params: tuple[str, ...]) -> None:
    """Read every recorded object through its driver and record what it observes."""
    import asyncio

    from scoot_runtime.applylock import ApplyLock, LockHeld

    application = _load_application(path, target, params)
    lock = ApplyLock(application.workspace.state_dir, application.target.name)
    try:
        lock.acquire()
    except LockHeld as error:
        raise click.ClickException(str(error)) from None
    try:
        if lock.stale_holder is not None:
            click.echo(f"The previous holder ({lock.stale_holder.describe()}) is gone; taking over.", err=True)
        runtime = _open_runtime(application)
        state = runtime.store.state
        addresses = sorted(state.objects)
        if not addresses:
            click.echo(f"Target `{application.target.name}` has no recorded objects: nothing to refresh.")
            return
        with asyncio.Runner() as runner:
            try:
                observed = runner.run(_read_recorded(runtime, addresses))
            finally:
                _close(runner, runtime)
        objects = dict(state.objects)
        changed: list[str] = []
        failed: list[str] = []
        for address in addresses:
            seen = observed[address]
            record = objects[address]
            if isinstance(seen, str):
                failed.append(address)
                click.echo(f"  ? {address}: could not be read: {seen}")
            elif seen is None:
                del objects[address]
                changed.append(address)
                click.echo(f"  - {address}: gone; no longer recorded (`scoot apply` creates it again)")
            else:
                outputs, identity = dict(seen.outputs), dict(seen.identity)
                if outputs != record.outputs or identity != record.identity:
                    objects[address] = record.model_copy(update={"outputs": outputs, "identity": identity})
                    changed.append(address)
                    click.echo(f"  ~ {address}: recorded what the driver observes now")
                if seen.drift:
                    click.echo(f"  ! {address}: drifted: {'; '.join(seen.drift)} (`scoot apply` repairs it)")
                elif address not in changed:
                    click.echo(f"    {address}: as recorded")
        if state.pending:
            click.echo(
                f"{_count(len(state.pending), 'operation')} of an interrupted run still pending: "
                "`scoot plan` looks for what they made."
            )
        if changed:
            runtime.store.save(state.model_copy(update={"objects": objects}))
            click.echo(f"Refreshed: {_count(len(changed), 'object')} recorded anew in scoot.lock.")
        else:
            click.echo("Nothing to record: the driver observes what scoot.lock records.")
        if failed:
            raise click.ClickException(f"{_count(len(failed), 'object')} could not be read: {', '.join(failed)}")
    finally:
        lock.release()


@cli.command(short_help="List the recorded objects, and whether they still run.")
@_application_options
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@_errors
def status(path: str, target: str | None, params: tuple[str, ...], as_json: bool) -> None:
    """The objects recorded for the target, their outputs and revision, and whether they still run."""
    import asyncio

    from scoot_runtime.render import status_rows, status_table

    application = _load_application(path, target, params)
    runtime = _open_runtime(application)
    state = runtime.store.state
    addresses = sorted(state.objects)
    with asyncio.Runner() as runner:
        try:
            observed = runner.run(_read_recorded(runtime, addresses)) if addresses else {}
        finally:
            _close(runner, runtime)
    rows = status_rows(state.objects, observed)
    if as_json:
        report = {
            "target": application.target.name,
            "cloud": application.target.cloud,
            "serial": state.serial,
            "objects": [
                {
                    "address": row.address,
                    "kind": row.kind,
                    "observed": row.observed,
                    "revision": state.objects[row.address].revision,
                    "outputs": state.objects[row.address].outputs,
                }
                for row in rows
            ],
            "pending": {address: op.model_dump() for address, op in sorted(state.pending.items())},
        }
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    name = application.target.name
    if not rows:
        click.echo(f"Target `{name}` (cloud `{application.target.cloud}`) has no recorded objects: run `scoot apply`.")
    else:
        click.echo(
            f"Target `{name}` (cloud `{application.target.cloud}`), "
            f"state serial {state.serial}, {_count(len(rows), 'object')}:"
        )
        click.echo("")
        click.echo(status_table(rows, _color()), color=_color())
    if state.pending:
        click.echo("")
        click.echo("Interrupted operations (the next `scoot apply` finds what they made):")
        for address, operation in sorted(state.pending.items()):
            click.echo(f"  {address}: {operation.operation} started {operation.started}")


_NAME_PAIR = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_-]*)$")


def _log_files(application: _Application, address: str, replica: int | None) -> list[tuple[int, Path]]:
    from scoot_runtime.drivers.base import Address
    from scoot_runtime.drivers.local.workspace import log_path

    parsed = Address.parse(address)
    folder = application.workspace.state_dir / "logs"
    if replica is not None:
        return [(replica, log_path(application.workspace.state_dir, parsed, replica))]
    found = []
    prefix = f"{address}."
    if folder.is_dir():
        for file in folder.iterdir():
            middle = file.name[len(prefix) : -len(".log")] if file.name.startswith(prefix) else ""
            if file.name.endswith(".log") and middle.isdigit():
                found.append((int(middle), log_path(application.workspace.state_dir, parsed, int(middle))))
    return sorted(found)


def _follow(files: list[tuple[int, Path]], follow: bool) -> None:
    """Print the logs' lines (prefixed by replica when several); with `follow`, wait for more."""
    prefixed = len(files) > 1
    handles: dict[int, tuple[Any, int]] = {}  # replica -> (file, inode)
    pending: dict[int, bytes] = {replica: b"" for replica, _ in files}

    def emit(replica: int, data: bytes, final: bool) -> None:
        buffer = pending[replica] + data
        *lines, rest = buffer.split(b"\n")
        if final and rest:
            lines.append(rest)
            rest = b""
        pending[replica] = rest
        for line in lines:
            text = line.decode("utf-8", "replace")
            click.echo(f"[{replica}] {text}" if prefixed else text)

    def poll(final: bool) -> bool:
        grew = False
        for replica, path in files:
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            handle = handles.get(replica)
            if handle is None or handle[1] != stat.st_ino:
                if handle is not None:
                    emit(replica, handle[0].read(), True)
                    handle[0].close()
                handle = (open(path, "rb"), stat.st_ino)  # noqa: SIM115 (kept open to follow)
                handles[replica] = handle
            elif stat.st_size < handle[0].tell():
                handle[0].seek(0)  # truncated: start again
            data = handle[0].read()
            if data:
                grew = True
                emit(replica, data, final)
        return grew

    try:
        poll(final=not follow)
        while follow:
            if not poll(final=False):
                time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        for handle, _ in handles.values():
            handle.close()


@cli.command(short_help="Print (or follow) what a compute object wrote.")
@click.argument("object_address", metavar="OBJECT")
@_application_options
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.option("--replica", type=click.IntRange(0), default=None, help="Only this replica (default: every one).")
@_errors
def logs(
    object_address: str,
    path: str,
    target: str | None,
    params: tuple[str, ...],
    follow: bool,
    replica: int | None,
) -> None:
    """Print what compute OBJECT (`component.object`) wrote, from .scoots/logs/."""
    if not _NAME_PAIR.match(object_address):
        raise click.BadParameter(
            f"{object_address!r} is not `component.object` (two names, such as `app.web`; never a path)",
            param_hint="OBJECT",
        )
    application = _load_application(path, target, params)
    architecture = application.compilation.architecture
    assert architecture is not None
    component_name, _, object_name = object_address.partition(".")
    component = architecture.components.get(component_name)
    obj = component.objects.get(object_name) if component is not None else None
    if obj is None:
        computes = sorted(
            f"{c}.{o}" for c, comp in architecture.components.items() for o, item in comp.objects.items()
            if item.kind == "compute"
        )
        raise click.ClickException(
            f"there is no object `{object_address}` in the architecture; the compute objects are: "
            f"{', '.join(computes) or 'none'}"
        )
    if obj.kind != "compute":
        raise click.ClickException(f"`{object_address}` is a {obj.kind}; only compute objects write logs")
    files = _log_files(application, object_address, replica)
    if not files or (not follow and not any(p.exists() for _, p in files)):
        expected = files[0][1] if files else application.workspace.state_dir / "logs" / f"{object_address}.0.log"
        raise click.ClickException(
            f"no logs of `{object_address}` yet ({_shown_path(expected)} does not exist): "
            "run `scoot apply` to start it"
        )
    _follow(files, follow)


@cli.command(short_help="Draw the architecture (Graphviz DOT or Mermaid).")
@_application_options
@click.option(
    "--format", "output", type=click.Choice(["dot", "mermaid"]), default="dot", show_default=True,
    help="Graphviz DOT, or a Mermaid flowchart.",
)
@_errors
def graph(path: str, target: str | None, params: tuple[str, ...], output: str) -> None:
    """Draw the architecture: components as clusters, objects as nodes, references and
    connections (dashed) as edges, coloured by what `apply` would do once something is applied."""
    import asyncio

    from scoot_runtime.graph import CycleError
    from scoot_runtime.plan import PlanError
    from scoot_runtime.render import graph_model, to_dot, to_mermaid

    application = _load_application(path, target, params)
    runtime = _open_runtime(application)
    made = None
    if runtime.store.state.objects:
        with asyncio.Runner() as runner:
            try:
                made = runner.run(runtime.plan(refresh=False))
            except (PlanError, CycleError) as error:
                click.echo(f"warning: drawn without plan colours: {_redact(str(error))}", err=True)
            finally:
                _close(runner, runtime)
    nodes, edges = graph_model(runtime.desired, made)
    if output == "dot":
        click.echo(to_dot(runtime.application, nodes, edges), nl=False)
    else:
        click.echo(to_mermaid(nodes, edges), nl=False)


@cli.command("force-unlock", short_help="Remove a target's apply lock left by a dead run.")
@click.argument("target_name", metavar="TARGET")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@_errors
def force_unlock(target_name: str, path: str) -> None:
    """Remove TARGET's apply lock, for when its holder is gone and the lock stayed."""
    import socket

    from scoot_runtime import applylock, workspace
    from scoot_runtime.state import check_target_name

    try:
        check_target_name(target_name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="TARGET") from None
    loaded = workspace.load(Path(path))
    lock_file = applylock.lock_path(loaded.state_dir, target_name)
    existed = lock_file.exists()
    holder = applylock.force_unlock(loaded.state_dir, target_name)
    if holder is None:
        if existed:
            click.echo(f"Removed the apply lock of target `{target_name}`; no run was named in it.")
        else:
            click.echo(f"Target `{target_name}` has no apply lock; nothing to do.")
        return
    click.echo(f"Removed the apply lock of target `{target_name}`, held by {holder.describe()}.")
    if holder.host == socket.gethostname() and _alive(holder.pid):
        click.echo(
            f"warning: pid {holder.pid} still runs on this host; if it is that scoot run, it goes on "
            "unaware, and a new run could overlap it",
            err=True,
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> None:
    cli(prog_name="scoot")


if __name__ == "__main__":
    main()
