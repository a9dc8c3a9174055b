"""`scoot lsp`: the language server, on stdio or, to debug, TCP.

The command is the language server's own: `scoot_cli` finds it through the entry-point
group `scoot.commands` (pyproject.toml), so that neither the CLI nor the language server
imports the other. Only click is imported here: `scoot --help` stays quick."""

from __future__ import annotations

import click


@click.command(short_help="Run the language server (stdio; --tcp to debug).")
@click.option("--tcp", is_flag=True, help="Listen on TCP instead of stdio (for debugging).")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on with --tcp.")
@click.option("--port", type=click.IntRange(1, 65535), default=2087, show_default=True, help="The port with --tcp.")
@click.option("--stdio", is_flag=True, hidden=True, help="Accepted for editors that pass it; stdio is the default.")
def lsp(tcp: bool, host: str, port: int, stdio: bool) -> None:
    """Run the Scoot language server for editors: diagnostics, completion, hover, rename,
    formatting and the plan of each object, over the Language Server Protocol."""
    from scoot_lsp.server import run  # the server's modules only when it runs

    run(tcp=tcp, host=host, port=port)
