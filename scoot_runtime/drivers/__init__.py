"""Cloud drivers, discovered through the entry-point group `scoot.cloud_drivers`.

The built-in `local` driver is registered in Scoot's own `pyproject.toml`, the
same way a third party registers one in theirs:

    [project.entry-points."scoot.cloud_drivers"]
    mycloud = "mypackage.driver:MyCloudDriver"
"""

from __future__ import annotations

from scoot_runtime import plugins
from scoot_runtime.drivers.base import CloudDriver

GROUP = "scoot.cloud_drivers"


def available() -> dict[str, str]:
    """The installed cloud drivers: name → `module:Class`."""
    return plugins.available(GROUP)


def load(name: str) -> type[CloudDriver]:
    """The driver class registered under `name`."""
    return plugins.load(GROUP, name, CloudDriver, "cloud driver", "the target's `cloud` in scoot.toml")
