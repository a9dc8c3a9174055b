"""The `scoot` command line: thin click commands over the application layer
(`scoot_app`, which ties the compiler `scoot_lang` to the runtime `scoot_runtime`).
They parse options, confirm, print, and map typed outcomes to exit codes.

Exit codes: 0 ok, 1 an error (diagnostics, changes found by `fmt --check`, a plan that
cannot be made, a failed or refused apply), 2 usage (and `plan --detailed-exitcode`: changes).
Heavy modules are imported inside the commands so that start-up stays quick.

The commands live in the modules of this package, which are registered here:
`language` (compile, validate, fmt, decompile, schema), `application` (init, and what the
runtime commands share: loading the application and opening its runtime, said on the
terminal; errors),
`converge` (plan, apply, destroy), `observe` (refresh, status, logs, graph,
force-unlock), `records` (import, forget), `outputs` (output), `repos` (the components' repositories), `modules` (the git modules' pins) and `watch` (apply again when
a source changes), and `scoot lsp` from the language server (an entry point); `output` holds what they print alike. Names with a leading underscore are
private to this package.
"""

from __future__ import annotations

import functools
import gc

import click

from scoot_cli import (
    application,
    console,
    converge,
    language,
    modules,
    observe,
    outputs,
    records,
    repos,
    statefile,
    watch,
)


class _Scoot(click.Group):
    """This package's commands, and those other packages add (the entry-point group
    `scoot.commands`: `scoot lsp` is the language server's, which the CLI does not
    import). Those are looked up only when asked for, so that a command of ours does not
    start by reading every installed package's metadata."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or _plugin_commands().get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_plugin_commands()})


@functools.cache
def _plugin_commands() -> dict[str, click.Command]:
    from importlib.metadata import entry_points

    found = {}
    for entry in entry_points(group="scoot.commands"):
        command = entry.load()
        if isinstance(command, click.Command):
            found[entry.name] = command
    return found


@click.group(cls=_Scoot, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scoot")
def cli() -> None:
    """Scoot: architecture as code. Describe an application in architecture.sct,
    compile it, and converge what runs."""


cli.add_command(language.compile)
cli.add_command(language.validate)
cli.add_command(language.fmt)
cli.add_command(language.decompile)
cli.add_command(language.schema)
cli.add_command(application.init)
cli.add_command(converge.plan)
cli.add_command(converge.apply)
cli.add_command(converge.destroy)
cli.add_command(observe.refresh)
cli.add_command(observe.status)
cli.add_command(observe.logs)
cli.add_command(outputs.output)
cli.add_command(observe.graph)
cli.add_command(observe.force_unlock)
cli.add_command(records.import_)
cli.add_command(records.forget)
cli.add_command(statefile.merge_lock)
cli.add_command(repos.repos)
cli.add_command(modules.modules)
cli.add_command(watch.watch)
cli.add_command(console.console)


# The cyclic garbage collector's first threshold (Python's default: 700). A command at
# 10,000 objects allocates millions, most of them kept to its end, and at 700 the
# collector ran often enough to cost a fifth of a no-op plan; at 50,000 it costs a
# few percent, and garbage cycles still go (reference counting frees the rest at once).
GC_THRESHOLD = 50_000


def main() -> None:
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    cli(prog_name="scoot")
