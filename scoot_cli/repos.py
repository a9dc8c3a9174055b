"""`scoot repos`: the architecture's repository and each component's, whether it exists,
its newest revision; `scoot repos create`: make the missing ones through their drivers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from scoot_cli.application import (
    ParamOptions,
    application_options,
    exits_on_error,
    from_option,
    load_application,
    redact,
)
from scoot_cli.output import counted, use_color

if TYPE_CHECKING:
    from scoot_runtime.sources import Sources


class _ListByDefault(click.Group):
    """`scoot repos [PATH]` lists; `scoot repos create [PATH]` creates."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@dataclass(frozen=True)
class _Row:
    component: str
    repository: str
    driver: str
    exists: bool | None  # None: could not tell
    latest: str | None
    problem: str | None

    @property
    def architecture(self) -> bool:
        from scoot_runtime.sources import ARCHITECTURE

        return self.component == ARCHITECTURE

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": None if self.architecture else self.component,
            "architecture": self.architecture,
            "repository": self.repository,
            "driver": self.driver,
            "exists": self.exists,
            "latest": self.latest,
            "problem": self.problem,
        }


@click.group(cls=_ListByDefault, short_help="List the repositories; create the missing ones.")
def repos() -> None:
    """The architecture's repository (where `--from` took it from, else its name by the
    naming scheme) and the repository of each component with code (compute objects, or a
    `source` or `repository`): where it is (by `source`, `repository`, or the naming scheme
    through the repository driver of scoot.toml's [repositories]), whether it exists, and its
    newest revision. `scoot repos create` makes the missing ones."""


def _open(path: str, target: str | None, params: ParamOptions, from_repo: str | None) -> Sources:
    from scoot_runtime.sources import Sources

    application = load_application(path, target, params, from_repo)
    assert application.compilation.architecture is not None
    return Sources(
        application.workspace, application.target, application.compilation.architecture, origin=application.origin
    )


def _rows(sources: Sources) -> list[_Row]:
    """Ask every driver, concurrently: does it exist, and what is its newest revision."""
    from scoot_cli.views.written import short_revision

    exists = sources.exists()
    present = [c for c, found in exists.items() if found is True]
    latest = sources.latest(present) if present else {}
    rows = []
    for component in exists:
        located = sources.located_for(component)
        found = exists.get(component)
        newest = latest.get(component)
        problem = None
        for answer in (found, newest):
            if isinstance(answer, Exception):
                problem = redact(str(answer))
                break
        rows.append(
            _Row(
                component,
                str(located.repository) if located.repository else "-",
                located.driver,
                found if isinstance(found, bool) else None,
                short_revision(newest) if isinstance(newest, str) else None,
                problem,
            )
        )
    return rows


def _table(rows: list[_Row], color: bool) -> str:
    from scoot_cli.views.tables import table

    header = ("COMPONENT", "REPOSITORY", "DRIVER", "EXISTS", "LATEST")
    cells = [
        (r.component, r.repository, r.driver, {True: "yes", False: "no", None: "?"}[r.exists], r.latest or "-")
        for r in rows
    ]
    return table(header, cells, color, 3, lambda exists: {"yes": "green", "no": "red"}.get(exists, "yellow"))


@repos.command("list", short_help="List the architecture's and the components' repositories (the default).")
@application_options
@from_option
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@exits_on_error
def list_(path: str, target: str | None, params: ParamOptions, from_repo: str | None, as_json: bool) -> None:
    """The architecture's repository, marked `(architecture)`, and each component's: its
    driver, whether it exists, and its newest revision."""
    with _open(path, target, params, from_repo) as sources:
        rows = _rows(sources)
    if as_json:
        click.echo(json.dumps({"repositories": [r.to_dict() for r in rows]}, indent=2, ensure_ascii=False))
        return
    click.echo(_table(rows, use_color()), color=use_color())
    problems = [r for r in rows if r.problem]
    missing = [r for r in rows if r.exists is False]
    if problems:
        click.echo("")
        for row in problems:
            click.echo(f"{row.component}: {row.problem}")
    if missing:
        click.echo("")
        click.echo(f"{counted(len(missing), 'repository', 'repositories')} missing: `scoot repos create` makes them, or set `source`.")


@repos.command(short_help="Create the repositories that do not exist.")
@application_options
@from_option
@exits_on_error
def create(path: str, target: str | None, params: ParamOptions, from_repo: str | None) -> None:
    """Create the architecture's repository and each component's that does not exist yet,
    through its driver (private where the host has the notion). Drivers that cannot create
    say so."""
    failed: list[str] = []
    made = 0
    with _open(path, target, params, from_repo) as sources:
        for component, found in sources.exists().items():
            located = sources.located_for(component)
            if found is True:
                continue
            if isinstance(found, Exception):
                failed.append(f"{component}: {redact(str(found))}")
                continue
            try:
                sources.create(component)
            except Exception as error:
                failed.append(f"{component}: {redact(str(error))}")
                continue
            made += 1
            click.echo(f"  + {component}: created {located.repository} ({located.driver})")
    if made == 0 and not failed:
        click.echo("Every repository exists: nothing to create.")
    elif made:
        click.echo(f"Created {counted(made, 'repository', 'repositories')}.")
    if failed:
        for line in failed:
            click.echo(f"Error: {line}", err=True)
        raise click.ClickException(f"{counted(len(failed), 'repository', 'repositories')} could not be created")
