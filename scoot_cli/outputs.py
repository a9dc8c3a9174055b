"""`scoot output`: the outputs scoot.lock records, as `terraform output` prints them:
every one, or one value alone for a script (`$(scoot output api.web.url)`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from scoot_cli.application import exits_on_error, folder_argument

# `component.object.output`: three names (names hold no dot).
_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*$")


def _text(value: Any) -> str:
    """A value as a script uses it: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@click.command(short_help="Print the recorded outputs, or one alone for scripts.")
@click.argument("name", required=False)
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--target", "target", metavar="NAME", default=None, help="The target whose outputs to print. Default: local.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: every output by name, or NAME's value.")
@exits_on_error
def output(name: str | None, path: str | None, target: str | None, as_json: bool) -> None:
    """Print the outputs scoot.lock records for the target, named `component.object.output`
    (`api.web.url`); with NAME, its value alone (no quotes), for `$(scoot output api.web.url)`.

    Local paths are absolute; secrets are masked (`***`). Reads scoot.lock only: no
    compile, no driver call (`scoot status` says what still runs). PATH is the
    application folder (default: the one the current folder is in); a lone argument
    that is not an output name is taken for it."""
    from scoot_app.outputs import recorded_outputs

    if name is not None and path is None and not _OUTPUT_NAME.match(name) and Path(name).is_dir():
        name, path = None, name
    if name is not None and not _OUTPUT_NAME.match(name):
        raise click.BadParameter(
            f"{name!r} is not an output name: `component.object.output`, such as `api.web.url`",
            param_hint="NAME",
        )
    recorded = recorded_outputs(folder_argument(path), target)
    if name is not None:
        value = recorded.get(name)
        click.echo(json.dumps(value, ensure_ascii=False) if as_json else _text(value))
        return
    if as_json:
        click.echo(json.dumps(recorded.values, indent=2, ensure_ascii=False))
    if not recorded.values:
        click.echo(f"Target `{recorded.target}` has no outputs: nothing is applied yet; run `scoot apply`.", err=True)
        return
    if as_json:
        return
    width = max(len(n) for n in recorded.values)
    for output_name, value in recorded.values.items():
        click.echo(f"{output_name.ljust(width)}  {_text(value)}")
