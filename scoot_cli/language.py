"""The language commands: compile, validate, fmt, decompile and schema; and the parsing
of --param, which the runtime commands share."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scoot_app.application import architecture_path
from scoot_cli.output import counted, show_diagnostics

if TYPE_CHECKING:
    from scoot_lang.compiler import Compilation

OUTPUT_FORMATS = click.Choice(["text", "json"])


def parse_params(values: Iterable[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        params[name] = value
    return params


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
        show_diagnostics(result.diagnostics, result.sources, output, to_stdout=report)
    return result


@click.command()
@click.argument("path", default=None, required=False, type=click.Path())
@click.option("-o", "--output-file", "out", type=click.Path(dir_okay=False), help="Write the JSON here instead of printing it.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Set a param (repeatable).")
@click.option("--format", "output", type=OUTPUT_FORMATS, default="text", show_default=True, help="How to print diagnostics.")
def compile(path: str | None, out: str | None, params: tuple[str, ...], output: str) -> None:
    """Compile PATH (an .sct file, a folder of them, or a JSON file) to the JSON form.
    Default: the architecture of the application the current folder is in."""
    result = _compile(architecture_path(path), parse_params(params), output)
    if not result.ok or result.architecture is None:
        sys.exit(1)
    text = result.architecture.to_json()
    if out is None or out == "-":
        click.echo(text, nl=False)
    else:
        _write(out, text)


@click.command()
@click.argument("path", default=None, required=False, type=click.Path())
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Set a param (repeatable).")
@click.option("--format", "output", type=OUTPUT_FORMATS, default="text", show_default=True, help="How to print diagnostics.")
def validate(path: str | None, params: tuple[str, ...], output: str) -> None:
    """Check PATH and report every problem, without writing anything. Default: the
    architecture of the application the current folder is in."""
    path = architecture_path(path)
    result = _compile(path, parse_params(params), output, report=True)
    if not result.ok or result.architecture is None:
        sys.exit(1)
    if output == "text":
        components = result.architecture.components
        objects = sum(len(c.objects) for c in components.values())
        click.echo(f"{path}: ok ({counted(len(components), 'component')}, {counted(objects, 'object')})")


@click.command()
@click.argument("path", default=None, required=False, type=click.Path(exists=True))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a file is not formatted.")
@click.option("--diff", is_flag=True, help="Change nothing; print what formatting would change.")
@click.option("--format", "output", type=OUTPUT_FORMATS, default="text", show_default=True, help="How to print diagnostics.")
def fmt(path: str | None, check: bool, diff: bool, output: str) -> None:
    """Format .sct files in the canonical style (a file, or a folder's .sct files).
    Default: the architecture of the application the current folder is in."""
    from scoot_lang.compiler import JSON_NAME, SCT_SUFFIX, read_source
    from scoot_lang.format import format_text
    from scoot_lang.source import SourceFile
    from scoot_runtime.files import write_atomic

    root = Path(architecture_path(path))
    files = sorted(p for p in root.iterdir() if p.suffix == SCT_SUFFIX) if root.is_dir() else [root]
    json_form = [p for p in files if p.suffix == ".json"] or ([] if files or not root.is_dir() else [root / JSON_NAME])
    if json_form and json_form[0].exists():
        raise click.UsageError(
            f"fmt formats .sct files; {json_form[0]} is the JSON form, written by `scoot compile` "
            "and already in its canonical form: check it with `scoot validate`, or turn it into "
            ".sct with `scoot decompile`"
        )
    unformatted = False
    failed = False
    for file in files:
        text, problem = read_source(file)  # a regular UTF-8 file of bounded size, or why not
        if text is None:
            show_diagnostics([problem] if problem else [], {}, output)
            failed = True
            continue
        formatted, diagnostics = format_text(text, str(file))
        if formatted is None:
            show_diagnostics(diagnostics, {str(file): SourceFile(str(file), text)}, output)
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


@click.command()
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


@click.command()
def schema() -> None:
    """Print the JSON Schema of the JSON form."""
    from scoot_model.objects import dumps, kinds
    from scoot_model.schema import architecture_schema

    click.echo(dumps(architecture_schema()), nl=False)
    # The schema lacks a kind a broken plugin meant to add: say so, beside it.
    for problem in kinds.problems():
        click.echo(f"warning: {problem}", err=True)
