"""`scoot import` and `scoot forget`: what scoot.lock records, changed by hand."""

from __future__ import annotations

import click

from scoot_cli.application import (
    ParamOptions,
    application_options,
    exits_on_error,
    from_option,
    load_application,
    lock_timeout_option,
    on_runtime_opened,
    redact,
)
from scoot_cli.output import use_color


@click.command("import", short_help="Record an existing resource as an object of the architecture.")
@click.argument("address")
@click.argument("resource_id", metavar="ID")
@application_options
@from_option
@lock_timeout_option
@exits_on_error
def import_(
    address: str,
    resource_id: str,
    path: str,
    target: str | None,
    params: ParamOptions,
    from_repo: str | None,
    lock_timeout: float,
) -> None:
    """Take up the existing resource ID as the object ADDRESS of the architecture: read it
    through the target's driver, record it in scoot.lock, and show what the next apply
    would change. ID is the cloud's own: a bucket's or table's name on aws; on local, the
    path of a folder or SQLite file, moved into the application's data folder."""
    from scoot_app.application import PlanFailed
    from scoot_app.converge import LockBusy
    from scoot_app.records import import_object
    from scoot_cli.converge import _plan_view, _say_plan_failed
    from scoot_cli.views.changes import render_plan

    application = load_application(path, target, params, from_repo)
    outcome = import_object(application, address, resource_id, command="import", lock_timeout=lock_timeout)
    if isinstance(outcome, LockBusy):
        raise click.ClickException(outcome.message)
    on_runtime_opened(outcome.runtime)
    click.echo(f"Imported {address} ({outcome.state.kind}) from {resource_id}.")
    click.echo("")
    if isinstance(outcome.plan, PlanFailed):
        _say_plan_failed(outcome.plan.error, application.compilation, False)
        raise SystemExit(1)
    view = _plan_view(outcome.runtime, application.compilation, params=application.params)
    click.echo(redact(render_plan(outcome.plan, view, use_color())))


@click.command(short_help="Stop managing an object, without touching it.")
@click.argument("address")
@application_options
@from_option
@lock_timeout_option
@exits_on_error
def forget(
    address: str, path: str, target: str | None, params: ParamOptions, from_repo: str | None, lock_timeout: float
) -> None:
    """Remove ADDRESS from scoot.lock: what it names keeps running, or keeps its data, and
    scoot no longer manages it (plan lists it as left alone where the driver still finds
    it; destroy leaves it). Take it out of the architecture first."""
    from scoot_app.converge import LockBusy
    from scoot_app.records import forget_object

    application = load_application(path, target, params, from_repo)
    outcome = forget_object(application, address, command="forget", lock_timeout=lock_timeout)
    if isinstance(outcome, LockBusy):
        raise click.ClickException(outcome.message)
    kind = f" ({outcome.state.kind})" if outcome.state is not None else ""
    click.echo(
        f"Forgot {address}{kind}: scoot.lock no longer records it, and it was not touched. "
        "Scoot no longer manages it."
    )
