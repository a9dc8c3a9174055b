"""Cloud drivers, discovered through the entry-point group `scoot.cloud_drivers`.

The built-in `local` driver is registered in Scoot's own `pyproject.toml`, the
same way a third party registers one in theirs:

    [project.entry-points."scoot.cloud_drivers"]
    mycloud = "mypackage.driver:MyCloudDriver"
"""

from __future__ import annotations

from importlib.metadata import entry_points

from scoot_runtime.drivers.base import CloudDriver
from scoot_runtime.errors import ScootError

GROUP = "scoot.cloud_drivers"


class UnknownDriver(ScootError, LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"no cloud driver `{name}` is installed; the installed ones are {', '.join(known) or 'none'}. "
            f"Install the package that provides it (drivers register under the entry-point group "
            f"`{GROUP}`), or change the target's `cloud` in scoot.toml"
        )


def available() -> dict[str, str]:
    """The installed cloud drivers: name → `module:Class`."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load(name: str) -> type[CloudDriver]:
    """The driver class registered under `name`."""
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            driver = ep.load()
            if not (isinstance(driver, type) and issubclass(driver, CloudDriver)):
                raise TypeError(f"entry point {ep.value} for driver `{name}` is not a CloudDriver")
            return driver
    raise UnknownDriver(name, sorted(available()))
