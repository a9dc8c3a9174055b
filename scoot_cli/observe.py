"""The commands that look at a target without converging it: refresh, status, logs and
graph; and force-unlock, for the apply lock a dead run left."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scoot_cli.application import (
    ParamOptions,
    application_options,
    close_runtime,
    exits_on_error,
    folder_argument,
    from_option,
    load_application,
    lock_timeout_option,
    open_runtime_redacted,
    redact,
    say_waiting,
)
from scoot_cli.output import counted, use_color

if TYPE_CHECKING:
    from scoot_app.application import Loaded
    from scoot_runtime.drivers.base import Address
    from scoot_runtime.engine import Runtime


async def _read_recorded(runtime: Runtime, addresses: list[str]) -> dict[str, Any]:
    from scoot_app.observe import read_recorded

    return await read_recorded(runtime, addresses, redact)


@click.command(short_help="Record what the driver observes of each object.")
@application_options
@from_option
@lock_timeout_option
@exits_on_error
def refresh(path: str, target: str | None, params: ParamOptions, from_repo: str | None, lock_timeout: float) -> None:
    """Read every recorded object through its driver and record what it observes."""
    import asyncio

    from scoot_app.converge import apply_lock

    application = load_application(path, target, params, from_repo, by_state="refresh")
    lock = apply_lock(application, timeout=lock_timeout, on_wait=say_waiting)
    lock.acquire()
    try:
        if lock.stale_holder is not None:
            click.echo(f"The previous holder ({lock.stale_holder.describe()}) is gone; taking over.", err=True)
        runtime = open_runtime_redacted(application, fetch=False)
        state = runtime.store.state
        addresses = sorted(state.objects)
        if not addresses:
            click.echo(f"Target `{application.target.name}` has no recorded objects: nothing to refresh.")
            return
        with asyncio.Runner() as runner:
            try:
                observed = runner.run(_read_recorded(runtime, addresses))
            finally:
                close_runtime(runner, runtime)
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
                f"{counted(len(state.pending), 'operation')} of an interrupted run still pending: "
                "`scoot plan` looks for what they made."
            )
        if changed:
            runtime.store.save(state.model_copy(update={"objects": objects}))
            click.echo(f"Refreshed: {counted(len(changed), 'object')} recorded anew in scoot.lock.")
        else:
            click.echo("Nothing to record: the driver observes what scoot.lock records.")
        if failed:
            raise click.ClickException(f"{counted(len(failed), 'object')} could not be read: {', '.join(failed)}")
    finally:
        lock.release()
        if lock.release_problem is not None:
            click.echo(f"warning: {lock.release_problem}", err=True)


@click.command(short_help="List the recorded objects, and whether they still run.")
@application_options
@from_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@exits_on_error
def status(path: str, target: str | None, params: ParamOptions, from_repo: str | None, as_json: bool) -> None:
    """The objects recorded for the target, their outputs and revision, and whether they still run."""
    import asyncio

    from scoot_cli.views.params import params_json, params_lines
    from scoot_cli.views.status import status_rows, status_table
    from scoot_model.objects import placed_outputs

    application = load_application(path, target, params, from_repo, by_state="status")
    runtime = open_runtime_redacted(application, fetch=False)
    state = runtime.store.state
    addresses = sorted(state.objects)
    with asyncio.Runner() as runner:
        try:
            observed = runner.run(_read_recorded(runtime, addresses)) if addresses else {}
        finally:
            close_runtime(runner, runtime)
    root = application.workspace.root.resolve()
    rows = status_rows(state.objects, observed, root)
    if as_json:
        report = {
            "target": application.target.name,
            "cloud": application.target.cloud,
            "serial": state.serial,
            "params": params_json(application.params),
            "objects": [
                {
                    "address": row.address,
                    "kind": row.kind,
                    "observed": row.observed,
                    "revision": state.objects[row.address].revision,
                    "outputs": placed_outputs(row.kind, state.objects[row.address].outputs, root),
                }
                for row in rows
            ],
            "pending": {address: op.model_dump() for address, op in sorted(state.pending.items())},
        }
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    name = application.target.name
    for line in params_lines(application.params, use_color()):
        click.echo(line, color=use_color())
    if not rows:
        click.echo(f"Target `{name}` (cloud `{application.target.cloud}`) has no recorded objects: run `scoot apply`.")
    else:
        click.echo(
            f"Target `{name}` (cloud `{application.target.cloud}`), "
            f"state serial {state.serial}, {counted(len(rows), 'object')}:"
        )
        click.echo("")
        click.echo(status_table(rows, use_color()), color=use_color())
    if state.pending:
        click.echo("")
        click.echo("Interrupted operations (the next `scoot apply` finds what they made):")
        for address, operation in sorted(state.pending.items()):
            click.echo(f"  {address}: {operation.operation} started {operation.started}")


_NAME_PAIR = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_-]*)$")


@click.command(short_help="Print (or follow) what a compute object wrote.")
@click.argument("object_address", metavar="OBJECT")
@application_options
@from_option
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.option("--replica", type=click.IntRange(0), default=None, help="Only this replica (default: every one).")
@exits_on_error
def logs(
    object_address: str,
    path: str,
    target: str | None,
    params: ParamOptions,
    from_repo: str | None,
    follow: bool,
    replica: int | None,
) -> None:
    """Print what compute OBJECT (`component.object`) wrote: on `local`, its log files in
    .scoots/logs/; on other clouds, what the driver reads (on `aws`, the instances' consoles)."""
    from scoot_model.objects import Compute

    if not _NAME_PAIR.match(object_address):
        raise click.BadParameter(
            f"{object_address!r} is not `component.object` (two names, such as `app.web`; never a path)",
            param_hint="OBJECT",
        )
    application = load_application(path, target, params, from_repo)
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
    if not isinstance(obj, Compute):
        raise click.ClickException(f"`{object_address}` is a {obj.kind}; only compute objects write logs")
    # Lines are prefixed by the process they come from when there can be several.
    several = replica is None and obj.replicas != 1
    from scoot_runtime.drivers.base import Address

    _print_logs(application, Address(component_name, object_name), several, replica, follow)


def _print_logs(application: Loaded, address: Address, prefixed: bool, replica: int | None, follow: bool) -> None:
    """Print the driver's log lines (with `prefixed`, each after the process it comes from)."""
    import asyncio

    from scoot_runtime.plan import recorded

    runtime = open_runtime_redacted(application, fetch=False)
    state = runtime.store.state.objects.get(str(address))

    async def show() -> None:
        try:
            async for line in runtime.driver.logs(
                address, recorded(state) if state else None, replica=replica, follow=follow
            ):
                click.echo(f"[{line.source}] {redact(line.text)}" if prefixed else redact(line.text))
        finally:
            await runtime.close()

    async def follow_until_stopped() -> None:
        """Follow until SIGINT or SIGTERM, which end it quietly. Handled here, not left to
        asyncio's Ctrl-C handling: that one is installed only where SIGINT has Python's
        default handler, and a process started with SIGINT ignored (as a shell starts its
        background jobs, and those start theirs) would follow for ever."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, task.cancel)
        try:
            await show()
        except asyncio.CancelledError:
            return  # stopped by a signal: the lines so far were printed
        finally:
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(number)

    if not follow or threading.current_thread() is not threading.main_thread():
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(show())
        return
    asyncio.run(follow_until_stopped())


@click.command(short_help="Draw the architecture (Graphviz DOT or Mermaid).")
@application_options
@from_option
@click.option(
    "--format", "output", type=click.Choice(["dot", "mermaid"]), default="dot", show_default=True,
    help="Graphviz DOT, or a Mermaid flowchart.",
)
@exits_on_error
def graph(path: str, target: str | None, params: ParamOptions, from_repo: str | None, output: str) -> None:
    """Draw the architecture: components as clusters, objects as nodes, references and
    connections (dashed) as edges, coloured by what `apply` would do once something is applied."""
    import asyncio

    from scoot_cli.views.graph import graph_model, to_dot, to_mermaid
    from scoot_runtime.graph import CycleError
    from scoot_runtime.plan import PlanError

    application = load_application(path, target, params, from_repo)
    runtime = open_runtime_redacted(application)
    made = None
    if runtime.store.state.objects:
        with asyncio.Runner() as runner:
            try:
                made = runner.run(runtime.plan(refresh=False))
            except (PlanError, CycleError) as error:
                click.echo(f"warning: drawn without plan colours: {redact(str(error))}", err=True)
            finally:
                close_runtime(runner, runtime)
    nodes, edges = graph_model(runtime.desired, made)
    if output == "dot":
        click.echo(to_dot(runtime.application, nodes, edges), nl=False)
    else:
        click.echo(to_mermaid(nodes, edges), nl=False)


@click.command("force-unlock", short_help="Remove a target's apply lock left by a dead run.")
@click.argument("target_name", metavar="TARGET")
@click.argument("path", default=None, required=False, type=click.Path(file_okay=False))
@click.option(
    "--force",
    is_flag=True,
    help="Remove it even while its holder looks alive, or runs on another host where it cannot be checked.",
)
@exits_on_error
def force_unlock(target_name: str, path: str | None, force: bool) -> None:
    """Remove TARGET's apply lock, for when its holder is gone and the lock stayed: the
    folder's, and the one the target's driver keeps for every clone (aws: an S3 object).

    Refused while the holder looks alive, or runs on another host, unless --force.
    """
    from scoot_app.converge import force_unlock as unlock
    from scoot_runtime.state import check_target_name

    try:
        check_target_name(target_name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="TARGET") from None
    unlocked = unlock(Path(folder_argument(path)), target_name, force=force)
    holders = [unlocked.holder] if unlocked.holder is not None else []
    if unlocked.holder is not None:
        click.echo(f"Removed the apply lock of target `{target_name}`, held by {unlocked.holder.describe()}.")
    elif unlocked.had_file:
        click.echo(f"Removed the apply lock of target `{target_name}`; no run was named in it.")
    if unlocked.shared is not None:
        who = unlocked.shared.holder.describe() if unlocked.shared.holder else "no scoot run named in it"
        click.echo(f"Broke the shared apply lock of target `{target_name}` ({unlocked.where}), held by {who}.")
        if unlocked.shared.holder is not None:
            holders.append(unlocked.shared.holder)
    if not (unlocked.had_file or unlocked.shared is not None):
        click.echo(f"Target `{target_name}` has no apply lock; nothing to do.")
    for holder in {(h.host, h.pid): h for h in holders}.values():
        if holder.on_this_host and _alive(holder.pid):
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
