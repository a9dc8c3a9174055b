"""`scoot merge-lock`: git's merge driver for scoot.lock (`scoot init` registers it)."""

from __future__ import annotations

from pathlib import Path

import click

from scoot_cli.application import exits_on_error


@click.command("merge-lock", short_help="Merge two versions of scoot.lock (git's merge driver).")
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("ours", type=click.Path(dir_okay=False))
@click.argument("theirs", type=click.Path(dir_okay=False))
@exits_on_error
def merge_lock(base: str, ours: str, theirs: str) -> None:
    """Merge THEIRS into OURS from their common ancestor BASE, record by record, and write
    the result to OURS; git passes them as `%O %A %B`. Two sides that changed the same
    object differently are refused, naming it, and OURS is left as it was."""
    from scoot_runtime.state_merge import merge_files

    merge_files(Path(base), Path(ours), Path(theirs))
