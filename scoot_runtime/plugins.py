"""Plugins found through entry points: cloud drivers and repository drivers.

Scoot's own are registered in its `pyproject.toml` the same way a third party
registers one in theirs:

    [project.entry-points."scoot.cloud_drivers"]
    mycloud = "mypackage.driver:MyCloudDriver"
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from scoot_runtime.errors import ScootError


class UnknownDriver(ScootError, LookupError):
    def __init__(self, what: str, group: str, name: str, known: list[str], where: str) -> None:
        super().__init__(
            f"no {what} `{name}` is installed; the installed ones are {', '.join(known) or 'none'}. "
            f"Install the package that provides it (they register under the entry-point group "
            f"`{group}`), or change {where}"
        )


class MissingDependency(ScootError, ImportError):
    def __init__(self, what: str, name: str, distribution: str | None, module: str | None) -> None:
        # Scoot's own drivers that talk to a service bring its client as an extra named after them.
        hint = f"pip install '{distribution}[{name}]'" if distribution == "scoot" else f"install what {distribution or 'it'} needs"
        super().__init__(
            f"the {what} `{name}` needs the Python module `{module}`, which is not installed: {hint}"
        )


def available(group: str) -> dict[str, str]:
    """The plugins installed in `group`: name → `module:Class`."""
    return {ep.name: ep.value for ep in entry_points(group=group)}


def load(group: str, name: str, base: type, what: str, where: str) -> type[Any]:
    """The class registered under `name` in `group`, which must be a `base`."""
    for ep in entry_points(group=group):
        if ep.name == name:
            try:
                plugin = ep.load()
            except ModuleNotFoundError as error:
                raise MissingDependency(what, name, ep.dist.name if ep.dist else None, error.name) from None
            if not (isinstance(plugin, type) and issubclass(plugin, base)):
                raise TypeError(f"entry point {ep.value} for {what} `{name}` is not a {base.__name__}")
            return plugin
    raise UnknownDriver(what, group, name, sorted(available(group)), where)
