"""`scoot modules update`: resolve the tags and branches of the git module sources again,
and record the commits they name now in scoot.lock (as `terraform init -upgrade` does)."""

from __future__ import annotations

import click

from scoot_cli.application import ParamOptions, application_options, exits_on_error, from_option
from scoot_cli.language import parse_params
from scoot_cli.output import counted, show_diagnostics


@click.group(short_help="Manage the git modules the architecture uses.")
def modules() -> None:
    """A git module source pinned by a tag or a branch (`?ref=v1`) is resolved the first
    time it is compiled, and the commit it named is recorded in scoot.lock: every later
    compile, on every clone, uses that commit. `scoot modules update` resolves them again."""


@modules.command(short_help="Resolve the git modules' tags and branches again; record the commits.")
@application_options
@from_option
@exits_on_error
def update(path: str, target: str | None, params: ParamOptions, from_repo: str | None) -> None:
    """Fetch every git module source the architecture uses, resolve its tag or branch to
    the commit it names now, and record it in scoot.lock (pins no source uses any more are
    dropped). Plan after it to see what the new commits change."""
    from scoot_app.modules import update_modules

    loaded, changes = update_modules(path, target, parse_params(params.given), from_repo, params.file)
    result = loaded.compilation
    if result.diagnostics:
        show_diagnostics(result.diagnostics, result.sources, "text")
    if result.architecture is None:
        raise click.ClickException("the architecture has errors (above): nothing was updated")
    for change in changes:
        before = change.before[:12] if change.before else "(none)"
        click.echo(f"  ~ {change.source}: {before} → {change.after[:12]}")
    if changes:
        click.echo(f"Updated {counted(len(changes), 'module source', 'module sources')} in scoot.lock.")
    else:
        click.echo("Every git module source is at the commit scoot.lock records: nothing to update.")
