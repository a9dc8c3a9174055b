"""The commands that converge a target: plan, apply and destroy."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, ParamSpec, TypeVar

import click

from scoot_app.saved_plan import Options
from scoot_cli.application import (
    ParamOptions,
    application_options,
    exits_on_error,
    from_option,
    load_application,
    lock_timeout_option,
    on_runtime_opened,
    redact,
    revision_pins,
    say_waiting,
    source_options,
    where_options,
)
from scoot_cli.output import counted, use_color

P = ParamSpec("P")
R = TypeVar("R")

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scoot_app.application import Loaded
    from scoot_app.converge import Converged, ConvergeEvent, ConvergeOutcome
    from scoot_app.saved_plan import SavedPlan
    from scoot_cli.views.changes import PlanView
    from scoot_lang.compiler import Compilation
    from scoot_runtime.engine import Runtime
    from scoot_runtime.plan import Plan, PlanError
    from scoot_runtime.workspace import ParamValue


def _plan_view(
    runtime: Runtime,
    compilation: Compilation,
    delete_data: bool = False,
    params: Mapping[str, ParamValue] | None = None,
) -> PlanView:
    from scoot_app.sct_lines import Locator
    from scoot_cli.views.changes import PlanView

    return PlanView(
        locator=Locator(compilation.source_map, compilation.sources),
        wanted={address: desired.config for address, desired in runtime.desired.items()},
        recorded=dict(runtime.store.state.objects),
        revisions={address: desired.revision for address, desired in runtime.desired.items()},
        delete_data=delete_data,
        params=params or {},
    )


def _plan_failed(error: PlanError, compilation: Compilation, as_json: bool) -> NoReturn:
    """Print every problem of a plan that cannot be made, with its object and line; exit 1."""
    _say_plan_failed(error, compilation, as_json)
    sys.exit(1)


def _say_plan_failed(error: PlanError, compilation: Compilation, as_json: bool) -> None:
    """Print every problem of a plan that cannot be made, with its object and line."""
    from scoot_app.sct_lines import Locator

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
                "message": redact(p.message),
                "location": where.to_dict() if where else None,
            }
            for p, where in problems
        ]
        click.echo(json.dumps({"problems": report}, indent=2, ensure_ascii=False))
    count = len(problems)
    click.echo(f"Error: the plan cannot be made ({counted(count, 'problem')}); nothing was touched:", err=True)
    for problem, where in problems:
        subject = problem.address + (f" ({problem.key})" if problem.key else "")
        at = f" [{where}]" if where else ""
        click.echo(f"  {subject}{at}: {redact(problem.message)}", err=True)


def partial_options(function: Callable[P, R]) -> Callable[P, R]:
    """--only and --replace: act on part of the architecture (`scoot_runtime.partial`)."""
    function = click.option(
        "--replace", "replace", multiple=True, metavar="ADDRESS",
        help="Replace this object (component.object) even if nothing changed (repeatable).",
    )(function)
    return click.option(
        "--only", "only", multiple=True, metavar="ADDRESS",
        help="Plan only this object (component.object) and what it needs; destroying, it and what "
        "depends on it (repeatable).",
    )(function)


@click.command(short_help="Show what apply would change, and the .sct line why.")
@application_options
@source_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when there is nothing to change, 2 when there is, 1 on error."
)
@click.option("--destroy", is_flag=True, help="Plan the destruction of every recorded object.")
@click.option("--refresh/--no-refresh", default=True, show_default=True, help="Read what the driver observes first.")
@click.option("--delete-data", is_flag=True, help="Plan as `destroy --delete-data` would (storage data deleted).")
@click.option(
    "-o", "--out", "out", metavar="FILE", default=None, type=click.Path(dir_okay=False),
    help="Save the plan to FILE: `scoot apply FILE` then does exactly it, or refuses if anything changed.",
)
@partial_options
@exits_on_error
def plan(
    path: str,
    target: str | None,
    params: ParamOptions,
    revisions: tuple[str, ...],
    from_repo: str | None,
    as_json: bool,
    detailed_exitcode: bool,
    destroy: bool,
    refresh: bool,
    delete_data: bool,
    out: str | None,
    only: tuple[str, ...],
    replace: tuple[str, ...],
) -> None:
    """Show what `apply` would change, object by object, and the .sct line behind each change.

    The components' sources are fetched first (their newest revision, or the one
    `--revision` pins): a new revision shows as an update of the compute objects
    that run it. With `-o FILE`, the plan is saved for `scoot apply FILE`."""
    from scoot_app.application import PlanFailed
    from scoot_app.application import plan as make
    from scoot_cli.views.changes import plan_json, render_plan

    pins = revision_pins(revisions)
    application = load_application(path, target, params, from_repo, by_state="plan --destroy" if destroy else None)
    planned = make(
        application, revisions=pins, fetch=not destroy, destroy=destroy, refresh=refresh, only=only,
        replace=replace, on_opened=on_runtime_opened,
    )
    runtime, made = planned.runtime, planned.plan
    if isinstance(made, PlanFailed):
        _plan_failed(made.error, application.compilation, as_json)
    # A plan of destruction takes no values: what goes is what scoot.lock records.
    view = _plan_view(runtime, application.compilation, delete_data, None if destroy else application.params)
    if as_json:
        click.echo(json.dumps(plan_json(made, view), indent=2, ensure_ascii=False))
    else:
        click.echo(render_plan(made, view, use_color()), color=use_color())
    if out is not None:
        _save_plan(out, application, runtime, made, Options(destroy, refresh, delete_data, only, replace), from_repo, as_json)
    if detailed_exitcode and made.has_changes:
        sys.exit(2)


def _save_plan(
    out: str, application: Loaded, runtime: Runtime, made: Plan, options: Options, from_repo: str | None, as_json: bool
) -> None:
    from scoot_app import saved_plan

    saved_plan.write(out, saved_plan.make(application, runtime, made, options, from_repo))
    # With --json, stdout is the plan alone.
    click.echo(f"\nSaved the plan to {out}. Apply exactly it with: scoot apply {out}", err=as_json)


def _converge(
    path: str,
    target: str | None,
    params: ParamOptions,
    *,
    destroy: bool,
    yes: bool,
    parallelism: int | None,
    delete_data: bool,
    refresh: bool,
    revisions: tuple[str, ...] = (),
    from_repo: str | None = None,
    lock_timeout: float = 0.0,
    only: tuple[str, ...] = (),
    replace: tuple[str, ...] = (),
    saved: SavedPlan | None = None,
) -> None:
    """apply and destroy: `scoot_app.converge`, confirmed at the terminal (or by --yes),
    its events printed as they come; exit 1 unless it converged.

    A saved plan (`saved`) is applied without asking: it is what was reviewed."""
    from scoot_app.converge import LockBusy, Stale, converge

    pins = revision_pins(revisions)
    if saved is not None:
        destroy, delete_data, yes = saved.options.destroy, saved.options.delete_data, True
    application = load_application(path, target, params, from_repo, by_state="destroy" if destroy else None)
    verb = "Destroy" if destroy else "Apply"

    def confirm(made: Plan) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise click.ClickException(
                f"not {'destroying' if destroy else 'applying'}: there is no terminal to ask for "
                f"confirmation. Pass --yes to {verb.lower()} these changes without asking"
            )
        return click.confirm(f"\n{verb} these changes?", default=False)

    outcome = converge(
        application, destroy=destroy, revisions=pins, parallelism=parallelism, delete_data=delete_data,
        refresh=refresh, lock_timeout=lock_timeout, progress_every=_progress_every(), only=only, replace=replace,
        saved=saved, confirm=confirm,
        on_event=ConvergePrinter(
            application.compilation, destroy, delete_data, None if destroy else application.params, let_go=True
        ),
    )
    if isinstance(outcome, LockBusy):
        raise click.ClickException(outcome.message)
    if isinstance(outcome, Stale):
        click.echo("Error: the saved plan is stale; nothing was changed:", err=True)
        for reason in outcome.reasons:
            click.echo(f"  {redact(reason)}", err=True)
        click.echo("Make the plan again (`scoot plan -o FILE`), review it, and apply that.", err=True)
        sys.exit(1)
    code = report_outcome(outcome, application.compilation, destroy, delete_data, where_options(path, target))
    if code:
        sys.exit(code)


# Seconds between two lines about an operation still in flight (default 10).
PROGRESS_VARIABLE = "SCOOT_PROGRESS_SECONDS"


def _progress_every() -> float | None:
    text = os.environ.get(PROGRESS_VARIABLE)
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise click.UsageError(f"{PROGRESS_VARIABLE}={text!r}: give a number of seconds above 0, such as 10")
    return seconds


_CLEAR_LINE = "\r\x1b[K"  # back to the line's start, and erase it


class ConvergePrinter:
    """What `apply` and `destroy` print as a converge goes (`scoot watch` prints the same)."""

    def __init__(
        self,
        compilation: Compilation,
        destroy: bool,
        delete_data: bool,
        params: Mapping[str, ParamValue] | None = None,
        *,
        let_go: bool = False,
    ) -> None:
        self.compilation, self.destroy, self.delete_data = compilation, destroy, delete_data
        self.params = params
        # `let_go`: the compilation is this command's alone; once the plan is printed and
        # confirmed, its models and source map are let go (see `_let_go`).
        self.let_go = let_go
        self.color = use_color()
        # On a terminal, an operation still in flight is one line rewritten in place
        # (`live`: it is on the screen now); elsewhere, a line each time.
        self.terminal = sys.stdout.isatty()
        self.live = False

    def __call__(self, event: ConvergeEvent) -> None:
        # Imported here, not with the CLI; `from` inside a function costs a look-up a name
        # each call, 0.1 s at 20,000 events: the names below are the modules', found once.
        from scoot_app import converge as events
        from scoot_cli.views import changes, progress

        Applying, event_line = events.Applying, progress.event_line
        if type(event) is Applying and not (event.event.status == "running" and self.terminal) and not self.live:
            click.echo(event_line(event.event, self.color), color=self.color)  # most events, most often
            return
        ApplyStarted, LockLeft, PlanMade = events.ApplyStarted, events.LockLeft, events.PlanMade
        RuntimeOpened, TookOver, WaitingForLock = events.RuntimeOpened, events.TookOver, events.WaitingForLock
        render_plan = changes.render_plan

        rewrite = isinstance(event, Applying) and event.event.status == "running" and self.terminal
        if self.live and not rewrite:
            click.echo(_CLEAR_LINE, nl=False)
        self.live = rewrite
        if isinstance(event, Applying) and rewrite:
            click.echo(_CLEAR_LINE + event_line(event.event, self.color), nl=False, color=self.color)
        elif isinstance(event, WaitingForLock):
            say_waiting(event.wait)
        elif isinstance(event, LockLeft):
            click.echo(f"warning: {redact(event.message)}", err=True)
        elif isinstance(event, TookOver):
            click.echo(f"The previous holder ({event.holder.describe()}) is gone; taking over.", err=True)
        elif isinstance(event, RuntimeOpened):
            on_runtime_opened(event.runtime)
            if event.runtime.store.recovered:
                click.echo("An interrupted run was found; what it did is taken into account.", err=True)
        elif isinstance(event, PlanMade):
            view = _plan_view(event.runtime, self.compilation, self.delete_data, self.params)
            click.echo(render_plan(event.plan, view, self.color), color=self.color)
        elif isinstance(event, ApplyStarted):
            if self.let_go:
                _let_go(self.compilation)
            click.echo("")
        elif isinstance(event, Applying):
            click.echo(event_line(event.event, self.color), color=self.color)


def _let_go(compilation: Compilation) -> None:
    """Let go of what the compiler made, when the apply starts: the runtime holds its own
    desired objects, and the plan (the one thing that names `.sct` lines) is printed. The
    architecture's models and the source map, with the syntax it keeps, are 13 MiB of an
    apply of 10,000 objects, whose peak is at its end (issue 17: at most 100 MB)."""
    from scoot_lang.semantic import SourceMap

    compilation.architecture = None
    compilation.source_map = SourceMap()


def report_outcome(
    outcome: ConvergeOutcome, compilation: Compilation, destroy: bool, delete_data: bool, where: str | None = None
) -> int:
    """Say how a converge ended (but a busy lock, which each caller says its own way); its exit code.

    With `where` (`where_options`), what to run next after a converge that changed something."""
    from scoot_app.application import PlanFailed
    from scoot_app.converge import Converged, Declined, NothingToDestroy, NothingToDo
    from scoot_cli.views.progress import (
        aligned,
        apply_summary,
        failure_lines,
        next_steps,
        output_lines,
    )

    verb = "Destroy" if destroy else "Apply"
    if isinstance(outcome, PlanFailed):
        _say_plan_failed(outcome.error, compilation, False)
        return 1
    if isinstance(outcome, NothingToDestroy):
        click.echo(f"Nothing to destroy: target `{outcome.target}` has no recorded objects.")
        return 0
    if isinstance(outcome, NothingToDo):
        click.echo("Nothing to do.")
        return 0
    if isinstance(outcome, Declined):
        click.echo(f"{verb} cancelled; nothing was changed.")
        return 1
    if not isinstance(outcome, Converged):
        raise AssertionError(f"a busy lock is its caller's to say: {outcome}")
    result = outcome.result
    click.echo("")
    click.echo(apply_summary(result, outcome.seconds, destroy))
    deleted_storage = outcome.deleted_storage
    if deleted_storage and not delete_data:
        click.echo("Storage data was kept (pass --delete-data to delete it):")
        for line in aligned([(address, deleted_storage[address] or "") for address in sorted(deleted_storage)]):
            click.echo(line)
    elif deleted_storage:
        click.echo(f"Storage data deleted: {', '.join(sorted(deleted_storage))}.")
    # Only what answers: not the record of an object that failed, unless its previous version was kept.
    answering = {a: o for a, o in outcome.runtime.store.state.objects.items() if result.answers(a)}
    outputs = output_lines(answering, outcome.runtime.root.resolve()) if not destroy else []
    if outputs:
        click.echo("")
        click.echo("Outputs:")
        for line in outputs:
            click.echo(redact(line))
    if where is not None:
        click.echo("")
        for line in next_steps(destroy, where, _logs_of(outcome)):
            click.echo(line)
    if not result.ok:
        click.echo("", err=True)
        click.echo(f"Error: {counted(len(result.failed), 'object')} failed:", err=True)
        for line in failure_lines(result):
            click.echo(line, err=True)
        return 1
    return 0


def _logs_of(outcome: Converged) -> str | None:
    """The compute whose logs to suggest: the first that failed, else the first that runs."""
    computes = sorted(a for a, d in outcome.runtime.desired.items() if d.kind == "compute")
    failed = [a for a in computes if a in outcome.result.failed]
    running = [a for a in computes if a in outcome.runtime.store.state.objects]
    return next(iter(failed or running), None)


@click.command(short_help="Make what runs match the architecture (or apply a saved plan).")
@application_options
@source_options
@click.option("-y", "--yes", is_flag=True, help="Apply without asking.")
@click.option("--parallelism", type=click.IntRange(1, 10_000), default=None, help="At most this many operations at once (default 64).")
@click.option("--delete-data", is_flag=True, help="When storage is replaced or deleted, delete its data too.")
@click.option("--refresh/--no-refresh", default=True, show_default=True, help="Read what the driver observes first.")
@partial_options
@lock_timeout_option
@exits_on_error
def apply(
    path: str,
    target: str | None,
    params: ParamOptions,
    revisions: tuple[str, ...],
    from_repo: str | None,
    yes: bool,
    parallelism: int | None,
    delete_data: bool,
    refresh: bool,
    only: tuple[str, ...],
    replace: tuple[str, ...],
    lock_timeout: float,
) -> None:
    """Make what runs match the architecture: fetch the sources, plan, confirm, converge.

    A compute object runs in its component's fetched source; scoot.lock records
    the revision each one ran. PATH may be a plan file (`scoot plan -o FILE`): then
    exactly that plan is applied, without asking, or refused if anything it was made
    from changed."""
    if Path(path).is_file():
        given = {
            "--target": target is not None, "--param": bool(params.given), "--param-file": params.file is not None,
            "--revision": bool(revisions), "--from": from_repo is not None, "--delete-data": delete_data,
            "--no-refresh": not refresh, "--only": bool(only), "--replace": bool(replace),
        }
        clashing = [option for option, used in given.items() if used]
        if clashing:
            raise click.UsageError(
                f"{', '.join(clashing)} cannot go with a saved plan: it carries its own target, params, "
                "sources and options. Make the plan again with them (`scoot plan ... -o FILE`)"
            )
        _apply_saved(path, yes, parallelism, lock_timeout)
        return
    _converge(
        path, target, params, destroy=False, yes=yes, parallelism=parallelism, delete_data=delete_data,
        refresh=refresh, revisions=revisions, from_repo=from_repo, lock_timeout=lock_timeout, only=only,
        replace=replace,
    )


def _apply_saved(path: str, yes: bool, parallelism: int | None, lock_timeout: float) -> None:
    """`scoot apply FILE`: the plan file read, its application loaded as it was planned."""
    from scoot_app import saved_plan

    saved = saved_plan.read(path)
    options = ParamOptions(tuple(saved_plan.given_params(saved)))
    _converge(
        str(saved_plan.application_of(saved)), saved.target, options, destroy=saved.options.destroy, yes=True, parallelism=parallelism,
        delete_data=saved.options.delete_data, refresh=saved.options.refresh, from_repo=saved.from_repo,
        lock_timeout=lock_timeout, saved=saved,
    )


@click.command(short_help="Remove every object of the target (data is kept).")
@application_options
@from_option
@click.option("-y", "--yes", is_flag=True, help="Destroy without asking.")
@click.option("--parallelism", type=click.IntRange(1, 10_000), default=None, help="At most this many operations at once (default 64).")
@click.option("--delete-data", is_flag=True, help="Delete storage data too (it is kept otherwise).")
@click.option(
    "--only", "only", multiple=True, metavar="ADDRESS",
    help="Destroy only this object (component.object) and what depends on it (repeatable).",
)
@lock_timeout_option
@exits_on_error
def destroy(
    path: str,
    target: str | None,
    params: ParamOptions,
    from_repo: str | None,
    yes: bool,
    parallelism: int | None,
    delete_data: bool,
    only: tuple[str, ...],
    lock_timeout: float,
) -> None:
    """Remove every object recorded for the target. Storage data is kept unless --delete-data."""
    _converge(
        path, target, params, destroy=True, yes=yes, parallelism=parallelism, delete_data=delete_data,
        refresh=True, from_repo=from_repo, lock_timeout=lock_timeout, only=only,
    )
